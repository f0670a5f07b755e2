#!/bin/sh
# ecoli_frame.sh - E. coli K-12 150-nt fragments, 4 classes: noncoding or coding in reading frame
# 0, 1 or 2: data/real/ecoli_frame/
#
# Usage: sh data/tasks/ecoli_frame.sh   (`make tasks` runs every task)
# Source: NC_000913.2 in Debian's cct-examples (GenBank, md5-pinned). See data/README.md.
#
# frame0, frame1, frame2  a fragment inside one CDS (one segment, not partial, not /pseudo,
#           length a multiple of 3), every base covered by that CDS only and by no RNA feature,
#           read on the gene's strand; frame F = (first base - first base of the CDS) mod 3, so
#           frame0 fragments begin with a whole codon. Each CDS is tiled from 30 nt past its
#           start (plus a random 0..2) to before its stop codon with a step of 151 nt, so the
#           frames alternate along the gene; then each frame is thinned at random to the number
#           of noncoding fragments of the split (balanced classes).
# noncoding  a fragment that no gene, CDS or RNA feature touches, tiled from the start of each
#           such stretch with a step of 150 nt, read on a random strand (genes lie on both).
# Split by genome position as every E. coli task: train the first 70 %, val the next 15 %,
# test the last 15 %; fragments across a boundary are dropped, and so is a fragment whose
# sequence occurs earlier (train before val before test) and a val or test fragment that
# shares a 32-mer (either strand) with an earlier split; the thinning comes after.
TASK=ecoli_frame
cd "$(dirname "$0")/../.." || exit 1
. data/tasks/common.sh
TASK_DEPS=data/tasks/genbank.py
up_to_date
GB=$(fetch_ecoli)
begin
run env PYTHONPATH=data/tasks "$PY" - "$GB" "$NEW" <<'EOF'
import random, sys
import genbank as gb

W, STEP, SKIP = 150, 151, 30
LABELS = ("noncoding", "frame0", "frame1", "frame2")
acc, seq, feats = gb.read(sys.argv[1], gb.ECOLI_BP)
out = sys.argv[2]
L = len(seq)
b = gb.bounds(L)
rng = random.Random(13)
cds_cov = gb.coverage(L, feats, ("CDS",))
rna_cov = gb.coverage(L, feats, gb.RNA_KEYS)
any_cov = gb.coverage(L, feats, gb.GENIC_KEYS)
recs = []  # (split index, lo, label, name, desc, sequence)


def add(lo, hi, strand, label, name):
    split = gb.split_of(lo, hi, b)
    if split is None:
        return
    s = seq[lo:hi] if strand == "+" else gb.rc(seq[lo:hi])
    if set(s) - set("ACGT"):
        return
    recs.append((gb.SPLITS.index(split), lo, label, name,
                 "%s:%d-%d(%s) %s" % (acc, lo + 1, hi, strand, label), s))


for f in feats:
    if f.key != "CDS" or f.joined or f.partial or f.pseudo or (f.end - f.start) % 3:
        continue
    n = f.end - f.start
    tag = f.quals.get("locus_tag", "cds")
    for i in range(SKIP + rng.randrange(3), n - 3 - W + 1, STEP):  # gene coordinates
        lo = f.start + i if f.strand == "+" else f.end - i - W
        if all(cds_cov[k] == 1 and rna_cov[k] == 0 for k in range(lo, lo + W)):
            add(lo, lo + W, f.strand, "frame%d" % (i % 3), "%s_%d" % (tag, i))
for a, e in gb.runs(any_cov, lambda c: c == 0):
    for lo in range(a, e - W + 1, W):
        add(lo, lo + W, rng.choice("+-"), "noncoding", "nc_%d" % (lo + 1))
recs.sort()
recs, dropped = gb.dedup(recs)
recs, screened = gb.screen(recs)
counts = []
for k, split in enumerate(gb.SPLITS):
    mine = [r for r in recs if r[0] == k]
    nnc = sum(1 for r in mine if r[2] == "noncoding")
    for label in LABELS:
        rs = [r for r in mine if r[2] == label]
        avail = len(rs)
        if label != "noncoding" and len(rs) > nnc:
            rs = sorted(rng.sample(rs, nnc))
        gb.write_fasta("%s/%s.%s.fa" % (out, split, label), [(r[3], r[4], r[5]) for r in rs])
        counts.append("%s\t%s\t%d\t%d" % (split, label, len(rs), avail))
with open(out + "/COUNTS.tsv", "w") as fo:
    fo.write("split\tclass\tn\tbefore_thinning\n" + "\n".join(counts) + "\n")
    fo.write("# duplicate fragments dropped %d; val, test fragments sharing a 32-mer with an "
             "earlier split dropped %d, %d; boundaries %d %d of %d\n"
             % (dropped, screened[1], screened[2], b[0], b[1], L))
EOF
finish
