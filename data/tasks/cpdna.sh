#!/bin/sh
# cpdna.sh - the chloroplast coding vs noncoding task of data/cpdna/ (Arabidopsis thaliana
# NC_000932.1, 100-nt windows; made by data/make_cpdna.sh) with a validation split:
# data/real/cpdna/
#
# Usage: sh data/tasks/cpdna.sh   (`make tasks` runs every task)
#
# data/cpdna/ has a training and a test set, split by position in blocks of 8,000 bases (test:
# blocks 3, 7, 11, 15). The validation set is cut from the end of the training region by
# position: the training windows that start at or after base 104,001 (blocks 13, 14 and 16),
# the rest stay for training; the test set is data/cpdna's, unchanged. No window crosses a
# block edge, so no two splits share a base.
TASK=cpdna
cd "$(dirname "$0")/../.." || exit 1
. data/tasks/common.sh
up_to_date
for f in "8a3bcc764f2b43ea1e124da0c73449b6 train_coding.fa" \
    "fd42f564fd202764491256022f3d10e9 train_noncoding.fa" \
    "f2f65df217b103919d02154d70941dba test_coding.fa" \
    "90544c93cd591862f0e774f47afec645 test_noncoding.fa"; do
    # shellcheck disable=SC2086
    set -- $f
    [ -f "data/cpdna/$2" ] || die "data/cpdna/$2 is missing"
    got=$(md5sum <"data/cpdna/$2" | cut -c1-32)
    [ "$got" = "$1" ] || die "data/cpdna/$2 has md5 $got, expected $1"
done
begin
run "$PY" - data/cpdna "$NEW" <<'EOF'
import re, sys
src, out = sys.argv[1:3]
VAL_FROM = 104000  # 0-based start of block 13
counts = []
for label in ("coding", "noncoding"):
    recs = open("%s/train_%s.fa" % (src, label)).read().split(">")[1:]
    parts = {"train": [], "val": []}
    for r in recs:
        start = int(re.match(r"\S+:(\d+)-\d+", r).group(1)) - 1
        parts["val" if start >= VAL_FROM else "train"].append(">" + r)
    test = open("%s/test_%s.fa" % (src, label)).read()
    parts["test"] = [test]
    for split in ("train", "val", "test"):
        with open("%s/%s.%s.fa" % (out, split, label), "w") as f:
            f.write("".join(parts[split]))
    counts += [(split, label, "".join(parts[split]).count(">")) for split in parts]
order = {"train": 0, "val": 1, "test": 2}
with open(out + "/COUNTS.tsv", "w") as f:
    f.write("split\tclass\tn\n")
    for split, label, n in sorted(counts, key=lambda c: order[c[0]]):
        f.write("%s\t%s\t%d\n" % (split, label, n))
EOF
finish
