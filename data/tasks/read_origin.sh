#!/bin/sh
# read_origin.sh - which genome did a read come from (3 classes: phage lambda, phage phiX174,
# Chlamydia trachomatis), reads simulated with wgsim and aligned with minimap2 into one sorted,
# indexed BAM per split, labelled by their read group (RG): data/real/read_origin/
#
# Usage: sh data/tasks/read_origin.sh   (`make tasks` runs every task)
# Needs samtools (wgsim), minimap2 (make deps-tasks). Sources (md5-pinned): lambda in nanolyse,
# phiX174 in r-bioc-dada2, C. trachomatis in r-cran-seqinr. See data/README.md.
#
# Each genome is cut by position into train (the first 70 %), val (the next 15 %) and test
# (the last 15 %); wgsim simulates single-end 100-nt reads from each part separately (so a read
# lies inside one part and reads of one region are never in two splits): 3000 reads per genome
# for train, 600 for val and 600 for test (error rate 1 %, mutation rate 0.1 %, fixed seeds).
# minimap2 (-ax sr) aligns them to the three whole genomes (ref.fa) with the read group of
# their true genome; samtools sorts them into SPLIT.bam (+ .bai). Reads that do not
# align stay in the BAM, unmapped (recur skips them by default). The BAMs are byte-reproducible.
TASK=read_origin
cd "$(dirname "$0")/../.." || exit 1
. data/tasks/common.sh
TASK_DEPS=data/tasks/genbank.py
up_to_date
need wgsim minimap2 samtools
LAMBDA=$(fetch nanolyse usr/share/nanolyse/reference/lambda.fasta.gz \
    b66eb5343aab05b330551ca10cbc3140)
PHIX=$(fetch r-bioc-dada2 usr/lib/R/site-library/dada2/extdata/phix_genome.fa \
    609d81cffe325578efb7f5e65df94b24)
CT=$(fetch r-cran-seqinr usr/lib/R/site-library/seqinr/sequences/ct.gbk.gz \
    5b8233d4d9a0e671e2e8593ffd63836f)
begin
# ref.fa (the three genomes) and one FASTA per genome and split: GENOME.SPLIT.fa.
run env PYTHONPATH=data/tasks "$PY" - "$LAMBDA" "$PHIX" "$CT" "$NEW" <<'EOF'
import gzip, sys
import genbank as gb

def fasta(path, length):
    with (gzip.open if path.endswith(".gz") else open)(path, "rt") as f:
        lines = f.read().split("\n")
    if not lines[0].startswith(">") or sum(l.startswith(">") for l in lines) != 1:
        gb.fail("%s: not a FASTA file of one sequence" % path)
    s = "".join(lines[1:]).upper()
    if len(s) != length or set(s) - set("ACGT"):
        gb.fail("%s: %d bases (expected %d ACGT)" % (path, len(s), length))
    return s

out = sys.argv[4]
genomes = [("lambda", "NC_001416.1 Enterobacteria phage lambda", fasta(sys.argv[1], 48502)),
           ("phix", "phiX174 (dada2 phix_genome.fa)", fasta(sys.argv[2], 5386))]
acc, seq, _ = gb.read(sys.argv[3], 1042519)
genomes.append(("chlamydia", "%s Chlamydia trachomatis D/UW-3/CX" % acc, seq))
with open(out + "/ref.fa", "w") as f:
    for name, desc, s in genomes:
        f.write(">%s %s\n" % (name, desc))
        for i in range(0, len(s), 60):
            f.write(s[i:i + 60] + "\n")
with open(out + "/regions.tsv", "w") as f:
    f.write("genome\tsplit\tstart\tend\n")
    for name, _, s in genomes:
        b = (0,) + gb.bounds(len(s)) + (len(s),)
        for k, split in enumerate(gb.SPLITS):
            with open("%s/%s.%s.fa" % (out, name, split), "w") as g:
                g.write(">%s_%s\n%s\n" % (name, split, s[b[k]:b[k + 1]]))
            f.write("%s\t%s\t%d\t%d\n" % (name, split, b[k] + 1, b[k + 1]))
EOF
cd "$NEW"
seed=1
for split in train val test; do
    case $split in train) n=3000 ;; *) n=600 ;; esac
    for g in lambda phix chlamydia; do
        run wgsim -S $seed -N $n -1 100 -2 100 -d 300 -s 30 -e 0.01 -r 0.001 \
            $g.$split.fa $g.$split.fq /dev/null
        run minimap2 -t 1 -ax sr --secondary=no -R "@RG\tID:$g\tSM:$g" -o $g.$split.sam \
            ref.fa $g.$split.fq
        seed=$((seed + 1))
    done
    # One header (samtools merge would give the @PG lines random suffixes), then sort.
    {
        grep '^@SQ' lambda.$split.sam
        grep -h '^@RG' lambda.$split.sam phix.$split.sam chlamydia.$split.sam
        printf '@CO\treads simulated by wgsim (samtools %s) and aligned by minimap2 %s, %s\n' \
            "$(samtools --version | head -n 1 | cut -d' ' -f2)" "$(minimap2 --version)" \
            "one run per genome and read group: data/tasks/read_origin.sh"
        grep -hv '^@' lambda.$split.sam phix.$split.sam chlamydia.$split.sam
    } >$split.sam
    run samtools sort --no-PG -o $split.bam $split.sam
    run samtools index $split.bam
    rm -f ./*.$split.fa ./*.$split.fq ./*.$split.sam $split.sam
done
run samtools faidx ref.fa
# Counts: reads per split and read group, and how many align (primary) to their own genome.
{
    printf 'split\tclass\treads\tmapped\tmapped_to_own_genome\n'
    for split in train val test; do
        for g in lambda phix chlamydia; do
            printf '%s\t%s\t%s\t%s\t%s\n' $split $g \
                "$(samtools view -c -r $g $split.bam)" \
                "$(samtools view -c -F 0x904 -r $g $split.bam)" \
                "$(samtools view -F 0x904 -r $g $split.bam | awk -v g=$g '$3 == g' | wc -l)"
        done
    done
} >COUNTS.tsv
cd - >/dev/null
finish
