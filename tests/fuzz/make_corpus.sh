#!/bin/sh
# Regenerates the seed corpus of fuzz_seqio (tests/fuzz/corpus/fuzz_seqio/): small FASTA/FASTQ (plain,
# gzip, bgzip, CRLF, broken), SAM and BAM naming the fuzzer's reference contigs c1 and c2, BED.
# Needs gzip, bgzip (tabix) and samtools; the committed files are its output.
set -eu
d=$(dirname "$0")/corpus/fuzz_seqio
mkdir -p "$d"
cd "$d"
printf '>s1 desc\nACGTNacgtn\nRYSWKMBDHVu\n>s2\nGGGG\n\n>s3\nA\n' > fasta.fa
printf '>s1\r\nACGT\r\n\r\nGG\r\n>s2\r\nTT' > crlf.fa
printf '@r1\nACGTN\n+\nIIII#\n@r2 x\nGG\n+\n!!\n' > reads.fq
printf '@r1\nACGT\n+\nII\n' > shortqual.fq
printf '>\nACGT\n>empty\n>bad\nAC*GT-1\n' > broken.fa
cp fasta.fa plain.fa && gzip -n -f plain.fa && mv plain.fa.gz fasta.fa.gz
bgzip -c reads.fq > reads.fq.bgz
cat > reads.sam <<'SAM'
@HD	VN:1.6	SO:coordinate
@SQ	SN:c1	LN:200
@SQ	SN:c2	LN:100
@RG	ID:a	SM:x
r1	0	c1	5	60	8M	*	0	0	ACGTACGT	IIIIIIII	RG:Z:a	XI:i:-3
r2	16	c1	40	30	4M2I2M	*	0	0	GGCCAATT	*	RG:Z:b
r3	4	c2	10	0	*	*	0	0	NNNN	*
r4	256	c2	20	5	4M	*	0	0	*	*	XA:A:q
r5	2048	c2	30	60	2S2M	*	0	0	ACGT	*	XF:f:1.5
SAM
samtools view -b -o reads.bam reads.sam
printf '# c\ntrack x\nc1\t0\t10\tn1\t0\t+\nc1\t5\t50\tn2\t0\t-\nc2 90 100\nc2\t0\t100\t.\t0\t.\n' > ivals.bed
printf 'c1\t10\t5\nc3\t0\t1\nc1\tx\t2\nc2\t99\t101\n' > badivals.bed
