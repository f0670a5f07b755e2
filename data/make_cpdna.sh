#!/bin/sh
# make_cpdna.sh - cuts data/cpdna/ (a coding vs non-coding DNA task) out of the Arabidopsis
# thaliana chloroplast genome, GenBank record NC_000932.1, as Debian ships it in the package
# python-biopython-doc (Tests/GenBank/NC_000932.gb.gz). See data/README.md.
#
# Usage: sh data/make_cpdna.sh [OUTDIR]     (default data/cpdna; run from the top of the tree)
# Needs /usr/bin/python3 (standard library only) and, when python-biopython-doc is not
# installed, apt-get (to download the package, not install it) and dpkg-deb.
#
# Windows of 100 bases on the genome's forward strand:
#   coding     inside one CDS segment (either strand), tiled from the segment's start;
#   noncoding  inside a stretch that no gene, CDS, tRNA or rRNA feature touches, tiled likewise.
# Only the genome up to the start of the second inverted repeat (IRb, 128,215..154,478) is used:
# IRb is the reverse complement of IRa (checked below), so its windows would repeat IRa's.
# Train/test split by position: the genome is cut into blocks of 8,000 bases; blocks 3, 7,
# 11, ... (0-based index mod 4 == 3) are the test set; windows crossing a block edge are dropped.
set -eu
OUT=${1:-data/cpdna}
GB=usr/share/doc/python-biopython-doc/Tests/GenBank/NC_000932.gb.gz
MD5=e5c397a2bbca552845b284399bc9488d
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -f "/$GB" ]; then
    src=/$GB
    copyright=/usr/share/doc/python-biopython-doc/copyright
else
    (cd "$tmp" && apt-get download python-biopython-doc >/dev/null)
    dpkg-deb -x "$tmp"/python-biopython-doc_*.deb "$tmp/x"
    src=$tmp/x/$GB
    copyright=$tmp/x/usr/share/doc/python-biopython-doc/copyright
fi
echo "$MD5  $src" | md5sum -c --quiet -
mkdir -p "$OUT"
cp "$copyright" "$OUT/copyright.python-biopython-doc"

zcat "$src" | /usr/bin/python3 -c '
import re, sys
W, BLOCK, IRA, IRB = 100, 8000, (84170, 110434), (128214, 154478)  # 0-based, half-open
out = sys.argv[1]
text = sys.stdin.read()
head, origin = text.split("\nORIGIN", 1)
seq = "".join(re.findall("[A-Za-z]+", "".join(l[10:] for l in origin.split("\n")[1:]))).upper()
assert len(seq) == 154478 and set(seq) <= set("ACGT"), (len(seq), set(seq))
rc = lambda s: s.translate(str.maketrans("ACGT", "TGCA"))[::-1]
assert seq[IRA[0]:IRA[1]] == rc(seq[IRB[0]:IRB[1]]), "IRb is not the reverse complement of IRa"
# Features: key and location (continuation lines up to the first qualifier).
feats, cur = [], None
for line in head[head.index("\nFEATURES"):].split("\n")[1:]:
    if len(line) > 5 and line[5] != " ":
        cur = [line[5:21].strip(), line[21:].strip(), False]
        feats.append(cur)
    elif cur and line.startswith(" " * 21):
        if line[21:].startswith("/"):
            cur[2] = True
        elif not cur[2]:
            cur[1] += line[21:].strip()
L = IRB[0]
anyf, cds = bytearray(L), bytearray(L)
for key, loc, _ in feats:
    if key == "source":
        continue
    for a, b in re.findall(r"<?(\d+)\.\.>?(\d+)", loc):
        a, b = int(a) - 1, min(int(b), L)
        for i in range(a, b):
            anyf[i] = 1
            if key == "CDS":
                cds[i] = 1
def runs(flag, val):
    i = 0
    while i < L:
        if flag[i] == val:
            j = i
            while j < L and flag[j] == val:
                j += 1
            yield i, j
            i = j
        else:
            i += 1
sets = {"train": {"coding": [], "noncoding": []}, "test": {"coding": [], "noncoding": []}}
for label, flag, val in (("coding", cds, 1), ("noncoding", anyf, 0)):
    for a, b in runs(flag, val):
        for s in range(a, b - W + 1, W):
            if s // BLOCK != (s + W - 1) // BLOCK:
                continue
            split = "test" if (s // BLOCK) % 4 == 3 else "train"
            sets[split][label].append(s)
with open(out + "/NC_000932.fa", "w") as f:
    f.write(">NC_000932.1 Arabidopsis thaliana chloroplast, complete genome\n")
    for i in range(0, len(seq), 60):
        f.write(seq[i:i + 60] + "\n")
for split in ("train", "test"):
    bed = []
    for label in ("coding", "noncoding"):
        starts = sets[split][label]
        with open("%s/%s_%s.fa" % (out, split, label), "w") as f:
            for s in starts:
                f.write(">NC_000932.1:%d-%d\n%s\n" % (s + 1, s + W, seq[s:s + W]))
        bed += [(s, label) for s in starts]
        print("%s %s %d" % (split, label, len(starts)))
    with open("%s/%s.bed" % (out, split), "w") as f:
        for s, label in sorted(bed):
            f.write("NC_000932.1\t%d\t%d\tNC_000932.1:%d-%d\t0\t+\t%s\n"
                    % (s, s + W, s + 1, s + W, label))
' "$OUT"
(cd "$OUT" && md5sum NC_000932.fa train_coding.fa train_noncoding.fa test_coding.fa \
    test_noncoding.fa train.bed test.bed)
