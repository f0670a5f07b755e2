#!/bin/sh
# ecoli_varlen.sh - E. coli K-12 coding vs noncoding stretches of 100..1000 nt (records of
# varying length, 2 classes): data/real/ecoli_varlen/
#
# Usage: sh data/tasks/ecoli_varlen.sh   (`make tasks` runs every task)
# Source: NC_000913.2 in Debian's cct-examples (GenBank, md5-pinned). See data/README.md.
#
# noncoding  every stretch that no gene, CDS or RNA feature touches and that is at least 100 nt
#           long is cut from its start into pieces of random length (uniform in 100..1000;
#           the last piece is what is left when that is shorter than the draw, dropped when
#           under 100 nt), each read on a random strand;
# coding    for every noncoding piece of length N, a piece of exactly N nt cut from a random
#           place inside a CDS (one segment, not partial, not /pseudo, length a multiple of 3,
#           bases covered by that CDS only and by no RNA feature; never its start or stop
#           codon), read on the gene's strand, in the same split; pieces do not overlap.
# So both classes have the same lengths: length says nothing about the class.
# Split by genome position as every E. coli task: train the first 70 %, val the next 15 %,
# test the last 15 %; pieces across a boundary are dropped, and so is a piece whose sequence
# occurs earlier (train before val before test) and a val or test piece that shares a 32-mer
# (either strand) with an earlier split, each with its partner of the other class.
TASK=ecoli_varlen
cd "$(dirname "$0")/../.." || exit 1
. data/tasks/common.sh
TASK_DEPS=data/tasks/genbank.py
up_to_date
GB=$(fetch_ecoli)
begin
run env PYTHONPATH=data/tasks "$PY" - "$GB" "$NEW" <<'EOF'
import collections, random, sys
import genbank as gb

MIN, MAX = 100, 1000
acc, seq, feats = gb.read(sys.argv[1], gb.ECOLI_BP)
out = sys.argv[2]
L = len(seq)
b = gb.bounds(L)
rng = random.Random(13)
cds_cov = gb.coverage(L, feats, ("CDS",))
rna_cov = gb.coverage(L, feats, gb.RNA_KEYS)
any_cov = gb.coverage(L, feats, gb.GENIC_KEYS)


def cut(a, e):
    """Random pieces of MIN..MAX nt tiling [a, e) from a."""
    while e - a >= MIN:
        n = min(rng.randint(MIN, MAX), e - a)
        yield a, a + n
        a += n


# Noncoding pieces, per split.
nc = {s: [] for s in gb.SPLITS}
for a, e in gb.runs(any_cov, lambda c: c == 0):
    for lo, hi in cut(a, e):
        split = gb.split_of(lo, hi, b)
        if split:
            nc[split].append((lo, hi, rng.choice("+-")))
# Coding stretches: runs of single-CDS coverage inside each CDS, without the start and stop
# codons, on the gene's strand, cut at the split boundaries.
free = {s: [] for s in gb.SPLITS}
for f in feats:
    if f.key != "CDS" or f.joined or f.partial or f.pseudo or (f.end - f.start) % 3:
        continue
    inner = bytearray(1 if cds_cov[k] == 1 and rna_cov[k] == 0 else 0
                      for k in range(f.start + 3, f.end - 3))
    for a, e in gb.runs(inner, lambda c: c == 1):
        lo, hi = f.start + 3 + a, f.start + 3 + e
        for split, (s0, s1) in zip(gb.SPLITS, ((0, b[0]), (b[0], b[1]), (b[1], L))):
            lo2, hi2 = max(lo, s0), min(hi, s1)
            if hi2 - lo2 >= MIN:
                free[split].append([lo2, hi2, f.strand, f.quals.get("locus_tag", "cds")])
recs, short, pair = [], 0, 0
for k, split in enumerate(gb.SPLITS):
    # Longest first, each with a coding piece from a random stretch that still holds it; the
    # stretch keeps the parts left and right of the piece.
    for lo0, hi0, strand in sorted(nc[split], key=lambda p: (p[0] - p[1], p[0])):
        n = hi0 - lo0
        fits = [st for st in free[split] if st[1] - st[0] >= n]
        if not fits:
            short += 1
            continue
        pair += 1
        s = seq[lo0:hi0] if strand == "+" else gb.rc(seq[lo0:hi0])
        recs.append((k, lo0, "noncoding", "nc_%d_%d" % (lo0 + 1, hi0),
                     "%s:%d-%d(%s) noncoding" % (acc, lo0 + 1, hi0, strand), pair, s))
        st = rng.choice(fits)
        lo = rng.randint(st[0], st[1] - n)
        free[split].remove(st)
        free[split] += [x for x in ([st[0], lo, st[2], st[3]], [lo + n, st[1], st[2], st[3]])
                        if x[1] - x[0] >= MIN]
        s = seq[lo:lo + n] if st[2] == "+" else gb.rc(seq[lo:lo + n])
        recs.append((k, lo, "coding", "%s_%d_%d" % (st[3], lo + 1, lo + n),
                     "%s:%d-%d(%s) coding" % (acc, lo + 1, lo + n, st[2]), pair, s))
n0 = len(recs)
recs = [r for r in recs if not set(r[-1]) - set("ACGT")]
recs.sort()
recs, dropped = gb.dedup(recs)
recs, screened = gb.screen(recs)
# A piece dropped takes its partner of the other class with it (the lengths stay matched).
npair = collections.Counter(r[5] for r in recs)
whole = {p for p, c in npair.items() if c == 2}
recs = [r for r in recs if r[5] in whole]
counts = []
for k, split in enumerate(gb.SPLITS):
    for label in ("coding", "noncoding"):
        rs = [(r[3], r[4], r[6]) for r in recs if r[0] == k and r[2] == label]
        gb.write_fasta("%s/%s.%s.fa" % (out, split, label), rs)
        ls = sorted(len(r[2]) for r in rs)
        counts.append("%s\t%s\t%d\t%d\t%d\t%d" % (split, label, len(rs), ls[0], ls[len(ls) // 2],
                                                  ls[-1]))
with open(out + "/COUNTS.tsv", "w") as fo:
    fo.write("split\tclass\tn\tmin_len\tmedian_len\tmax_len\n" + "\n".join(counts) + "\n")
    fo.write("# noncoding pieces without a coding match %d; duplicates dropped %d; val, test "
             "pieces sharing a 32-mer with an earlier split dropped %d, %d; pieces dropped with "
             "their partner %d\n" % (short, dropped, screened[1], screened[2],
                                      n0 - len(recs) - dropped - sum(screened)))
EOF
finish
