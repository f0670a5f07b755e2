#!/bin/sh
# ecoli_tis.sh - E. coli K-12 translation initiation sites (2 classes, 60 nt): data/real/ecoli_tis/
#
# Usage: sh data/tasks/ecoli_tis.sh   (`make tasks` runs every task)
# Source: NC_000913.2 in Debian's cct-examples (GenBank, md5-pinned). See data/README.md.
#
# start     60-nt window on the gene's strand around the true start codon of an annotated CDS:
#           30 nt upstream, the start codon (ATG, GTG or TTG), 27 nt of the gene;
# nonstart  the same window around one in-frame ATG/GTG/TTG inside the same gene (drawn at
#           random among the gene's codons at least 60 nt past the start, so the two windows do
#           not overlap; never the annotated start of another CDS on that strand).
# CDS kept: one segment, not partial, not /pseudo, length a multiple of 3, start ATG/GTG/TTG.
# Split by genome position (the window's leftmost base): train the first 70 % of the genome,
# val the next 15 %, test the last 15 %; windows crossing a boundary (or the origin) are
# dropped; a window whose sequence occurs earlier (train before val before test) is dropped,
# and so is a val or test window that shares a 32-mer (either strand) with an earlier split.
TASK=ecoli_tis
cd "$(dirname "$0")/../.." || exit 1
. data/tasks/common.sh
TASK_DEPS=data/tasks/genbank.py
up_to_date
GB=$(fetch_ecoli)
begin
run env PYTHONPATH=data/tasks "$PY" - "$GB" "$NEW" <<'EOF'
import random, sys
import genbank as gb

W, UP = 60, 30
STARTS = ("ATG", "GTG", "TTG")
acc, seq, feats = gb.read(sys.argv[1], gb.ECOLI_BP)
out = sys.argv[2]
L = len(seq)
b = gb.bounds(L)
rng = random.Random(13)


def window(cds, i):
    """(lo, hi, sequence) of the window around gene coordinate i (the codon's first base)."""
    if cds.strand == "+":
        lo = cds.start + i - UP
        return lo, lo + W, seq[lo:lo + W] if 0 <= lo and lo + W <= L else None
    hi = cds.end - i + UP
    return hi - W, hi, gb.rc(seq[hi - W:hi]) if 0 <= hi - W and hi <= L else None


cdss = [f for f in feats if f.key == "CDS"]
good = []
for f in cdss:
    if f.joined or f.partial or f.pseudo or (f.end - f.start) % 3:
        continue
    g = seq[f.start:f.end] if f.strand == "+" else gb.rc(seq[f.start:f.end])
    if g[:3] in STARTS:
        good.append((f, g))
true_starts = {(f.strand, f.start if f.strand == "+" else f.end) for f in cdss}
recs = []  # (split, label, lo, name, desc, sequence)
for f, g in good:
    tag = f.quals.get("locus_tag", "cds")
    codons = [i for i in range(60, len(g) - 3, 3) if g[i:i + 3] in STARTS
              and (f.strand, f.start + i if f.strand == "+" else f.end - i) not in true_starts]
    cands = [("start", 0)]
    if codons:
        cands.append(("nonstart", rng.choice(codons)))
    for label, i in cands:
        lo, hi, s = window(f, i)
        split = gb.split_of(lo, hi, b) if s else None
        if split is None or set(s) - set("ACGT"):
            continue
        name = "%s_%s%d" % (tag, "s" if label == "start" else "c", i)
        desc = "%s:%d-%d(%s) %s" % (acc, lo + 1, hi, f.strand, label)
        recs.append((gb.SPLITS.index(split), lo, label, name, desc, s))
recs.sort()
recs, dropped = gb.dedup(recs)
recs, screened = gb.screen(recs)
counts = []
for k, split in enumerate(gb.SPLITS):
    for label in ("start", "nonstart"):
        rs = [(r[3], r[4], r[5]) for r in recs if r[0] == k and r[2] == label]
        gb.write_fasta("%s/%s.%s.fa" % (out, split, label), rs)
        counts.append("%s\t%s\t%d" % (split, label, len(rs)))
with open(out + "/COUNTS.tsv", "w") as fo:
    fo.write("split\tclass\tn\n" + "\n".join(counts) + "\n")
    fo.write("# CDS used %d of %d; duplicate windows dropped %d; val, test windows sharing a "
             "32-mer with an earlier split dropped %d, %d; boundaries %d %d of %d\n"
             % (len(good), len(cdss), dropped, screened[1], screened[2], b[0], b[1], L))
EOF
finish
