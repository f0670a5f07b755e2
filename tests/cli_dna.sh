#!/bin/sh
# cli_dna.sh - tests of the DNA commands (train, eval, predict, encode) from the command line: a
# table of bad inputs, each of which must give exit 1 and one line on stderr naming the file (and
# the record), usage errors (exit 2), inputs that must be accepted (CRLF, lowercase, IUPAC,
# gzip), then the new user's flow on the shipped data (data/cpdna): train with nothing but the
# inputs and -o, eval, predict, encode and train again from the encoded file.
#
# Usage: RECUR=bin/recur sh tests/cli_dna.sh   (from the top of the source tree)
# Needs samtools (Debian package samtools) for the BAM cases; fixtures come from
# tests/fixtures/dna_* (tests/reference/make_dna_fixtures.py).
RECUR=${RECUR:-bin/recur}
F=tests/fixtures
D=data/cpdna
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
rows=0

if [ ! -x "$RECUR" ]; then
    echo "cli_dna.sh: $RECUR is not an executable (run make first)"
    exit 1
fi
for c in eval predict encode; do
    if ! $RECUR help $c >/dev/null 2>&1; then
        echo "cli_dna.sh: $RECUR has no $c command (main_$c is not in src/recur.c's table)"
        exit 1
    fi
done
if ! command -v samtools >/dev/null 2>&1; then
    echo "cli_dna.sh: samtools is needed for the BAM cases (apt-get install samtools)"
    exit 1
fi

failed() {
    fail=$((fail + 1))
    echo "FAIL $1"
    sed 's/^/    stdout: /' "$tmp/out" | head -5
    sed 's/^/    stderr: /' "$tmp/err" | head -5
}

# Inputs, good and bad.
T=$tmp
printf '' >"$T/empty.fa"
printf '>r1\n>r2\nACGT\n' >"$T/nohdrseq.fa"
printf '>\nACGT\n' >"$T/noname.fa"
printf '>r1\nACGT\n>r1\nACG\n' >"$T/dup.fa"
printf 'r1\talpha\n' >"$T/dup.tsv"
printf '>r1\r\nACGT\r\nacgt\r\n>r2\r\nNRYKMSWBDHVn\r\n' >"$T/crlf.fa"
printf '>r1\nACGT\n>r2\nACGTJ\n' >"$T/bad.fa"
printf '>r1\nACGT ACGT\n' >"$T/space.fa"
printf '>r1\nACGTACGTACGTACGTACGTACGTACGT\n>r2\nACGTACGTACGTACGTACGTACGT\n' >"$T/ok.fa"
gzip -c "$T/ok.fa" >"$T/ok.fa.gz"
head -c 30 "$T/ok.fa.gz" >"$T/trunc.fa.gz"
cp $F/dna_ref.fa "$T/ref.fa"
gzip -c $F/dna_ref.fa >"$T/refgz.fa.gz"
printf 'chrA\t10\t30\tin\t0\t+\nchrA\t390\t420\tx\t0\t+\n' >"$T/outside.bed"
printf 'chrA\t10\t30\tr1\t0\t+\nchrB\t5\t40\tr2\t0\t-\n' >"$T/ok.bed"
printf 'chrZ\t1\t20\tx\t0\t+\n' >"$T/nocontig.bed"
samtools view -b -o "$T/noidx.bam" $F/dna_reads.sam
printf '@SQ\tSN:chrA\tLN:400\nr1\t0\tchrA\t5\t60\t4M\t*\t0\t0\t*\t*\n' >"$T/star.sam"
# a model of another task: a regression model trained on a numpy-made dataset
$RECUR train --data $F/numpy_regress.h5 -o "$T/regress.h5" --hidden 2 --epochs 1 -q ||
    echo "cli_dna.sh: could not make the regression model"

# Rows: expected exit | stream | fixed substring | arguments (split on blanks, no quoting).
# stream: out = stdout, err = stderr, err1 = stderr holding exactly one line. @T@ is the scratch
# directory, @F@ the fixtures, @D@ the shipped data, M the fixture classifier.
while IFS='|' read -r want stream pat args; do
    case $want in '' | \#*) continue ;; esac
    rows=$((rows + 1))
    sub="s|@T@|$T|g; s|@F@|$F|g; s|@D@|$D|g; s|@M@|$F/dna_model.h5|g"
    pat=$(printf '%s' "$pat" | sed "$sub")
    args=$(printf '%s' "$args" | sed "$sub")
    set -f
    # shellcheck disable=SC2086 # word splitting of args is intended
    $RECUR $args </dev/null >"$tmp/out" 2>"$tmp/err"
    got=$?
    set +f
    why=""
    case $stream in
    out) f=$tmp/out ;;
    *) f=$tmp/err ;;
    esac
    if [ "$got" != "$want" ]; then
        why="exit $got, expected $want"
    elif [ -n "$pat" ] && ! grep -qF -- "$pat" "$f"; then
        why="$stream lacks '$pat'"
    elif [ "$stream" = err1 ] && [ "$(wc -l <"$f")" -ne 1 ]; then
        why="stderr has $(wc -l <"$f") lines, expected 1"
    fi
    [ -n "$why" ] && failed "row $rows: recur $args: $why"
done <<'EOF'
# help
0|out|Usage: recur eval -m MODEL|eval --help
0|out|Usage: recur predict -m MODEL|predict --help
0|out|Usage: recur encode|encode --help
0|out|--val-fraction F|train --help
# bad input: exit 1, one line naming the file (and the record)
1|err1|recur predict: @T@/missing.fa: cannot open|predict -m @M@ --fasta @T@/missing.fa
1|err1|recur predict: @T@/empty.fa: empty|predict -m @M@ --fasta @T@/empty.fa
1|err1|recur predict: @T@/nohdrseq.fa: record 1 (r1): header with no sequence|predict -m @M@ --fasta @T@/nohdrseq.fa
1|err1|recur predict: @T@/noname.fa: record 1: header without a name|predict -m @M@ --fasta @T@/noname.fa
1|err1|recur eval: @T@/dup.fa: record 'r1': duplicate record name|eval -m @M@ --fasta @T@/dup.fa --labels @T@/dup.tsv
1|err1|recur predict: @T@/bad.fa: record 2 (r2): 'J' at base 5|predict -m @M@ --fasta @T@/bad.fa
1|err1|recur predict: @T@/space.fa: record 1 (r1)|predict -m @M@ --fasta @T@/space.fa
1|err1|recur predict: @T@/trunc.fa.gz: |predict -m @M@ --fasta @T@/trunc.fa.gz
1|err1|recur predict: @T@/refgz.fa.gz: plain gzip|predict -m @M@ --bed @T@/outside.bed --ref @T@/refgz.fa.gz
1|err1|recur predict: @T@/outside.bed: line 2 (x): interval chrA:390-420 lies outside|predict -m @M@ --bed @T@/outside.bed --ref @T@/ref.fa
1|err1|recur predict: @T@/nocontig.bed: line 1 (x): contig 'chrZ' is not in the reference|predict -m @M@ --bed @T@/nocontig.bed --ref @T@/ref.fa
1|err1|recur predict: @T@/noidx.bam: no index|predict -m @M@ --bam @T@/noidx.bam --region chrA
1|err1|recur predict: @T@/star.sam: record 1 (r1): SEQ is '*'|predict -m @M@ --bam @T@/star.sam
1|err1|recur train: only one class ('coding') among the labels|train --fasta @D@/test_coding.fa:coding -o @T@/one.h5
1|err1|recur eval: @T@/ok.fa: record 'r1': label 'coding' is not one of the classes (alpha, beta, gamma)|eval -m @M@ --fasta @T@/ok.fa:coding
1|err1|recur eval: @T@/ok.fa: record 'r1' has no label|eval -m @M@ --fasta @T@/ok.fa
1|err1|recur predict: @T@/regress.h5: a regress (forecasting) model|predict -m @T@/regress.h5 --fasta @T@/ok.fa
1|err1|recur eval: @T@/regress.h5: a regress (forecasting) model|eval -m @T@/regress.h5 --fasta @T@/ok.fa:alpha
1|err1|recur encode: @T@/regress.h5: a regress (forecasting) model|encode -m @T@/regress.h5 --fasta @T@/ok.fa:alpha -o @T@/e.h5
1|err1|recur predict: @F@/train_small.h5: 2 features per step|predict -m @M@ --data @F@/train_small.h5
1|err1|recur train: @T@/ok.fa: record 'r1': label 'a' is not one of the classes (alpha, beta, gamma)|train --init @M@ --fasta @T@/ok.fa:a --fasta @T@/crlf.fa:b -o @T@/i.h5
1|err1|recur train: @F@/train_small.h5: classes differ from those of @F@/dna_model.h5|train --init @M@ --data @F@/train_small.h5 -o @T@/i.h5
1|err1|recur predict: @T@/nomodel.h5: cannot open|predict -m @T@/nomodel.h5 --fasta @T@/ok.fa
# usage errors: exit 2
2|err1|recur predict: missing -m MODEL|predict --fasta @T@/ok.fa
2|err1|recur predict: missing input|predict -m @M@
2|err1|recur eval: --bed needs --ref FASTA|eval -m @M@ --bed @T@/outside.bed
2|err1|recur eval: --region: applies to --bam inputs only|eval -m @M@ --fasta @T@/ok.fa:a --region chrA
2|err1|recur predict: --data and raw inputs|predict -m @M@ --data @F@/train_small.h5 --fasta @T@/ok.fa
2|err1|recur train: --windows needs --max-len N|train --fasta @T@/ok.fa:a --fasta @T@/crlf.fa:b --windows -o @T@/w.h5
2|err1|recur train: --task: DNA records are classified|train --fasta @T@/ok.fa:a --task regress -o @T@/w.h5
2|err1|recur train: --hidden 4 conflicts with the model's hidden 6|train --init @M@ --fasta @T@/ok.fa:a --hidden 4 -o @T@/w.h5
2|err1|recur train: --class-weights: expected auto or none|train --fasta @T@/ok.fa:a --class-weights x -o @T@/w.h5
2|err1|recur train: --revcomp: needs DNA data|train --data @F@/train_small.h5 --revcomp -o @T@/w.h5
2|err1|recur train: --exclude-flags: expected SAM flags|train --bam @T@/noidx.bam --exclude-flags BOGUS -o @T@/w.h5
2|err1|recur encode: missing -o FILE.h5|encode --fasta @T@/ok.fa:a
# accepted: CRLF, lowercase, IUPAC, gzip; labels by TSV
0|out|r2	|predict -m @M@ --fasta @T@/crlf.fa
0|out|p_alpha	p_beta	p_gamma|predict -m @M@ --fasta @T@/ok.fa.gz
0|out|r2	|predict -m @M@ --bed @T@/ok.bed --ref @T@/ref.fa --no-revcomp-average -q
EOF

# New user's flow on the shipped data: train with defaults, then eval and predict on the held-out
# windows; encode the test windows and score the encoded file the same way.
rows=$((rows + 1))
$RECUR train --fasta $D/train_coding.fa:coding --fasta $D/train_noncoding.fa:noncoding \
    -o "$T/m.h5" >"$tmp/out" 2>"$tmp/err"
got=$?
if [ "$got" != 0 ] || ! grep -q 'epoch 1/40 loss' "$tmp/err" ||
    ! grep -q 'keeping epoch [0-9]* (the lowest validation loss)' "$tmp/err" || [ ! -s "$T/m.h5" ]; then
    failed "default training on $D: exit $got"
fi
rows=$((rows + 1))
$RECUR eval -m "$T/m.h5" --fasta $D/test_coding.fa:coding --fasta $D/test_noncoding.fa:noncoding \
    >"$T/eval.tsv" 2>"$tmp/err"
got=$?
cp "$T/eval.tsv" "$tmp/out"
# The held-out windows: 185 coding, 98 non-coding. AUROC above 0.6 (chance is 0.5).
if [ "$got" != 0 ] || ! grep -q '^# recur ' "$T/eval.tsv" ||
    ! grep -q "^metric	class	value$" "$T/eval.tsv" ||
    ! grep -q "^n	all	283$" "$T/eval.tsv" || ! grep -q "^support	coding	185$" "$T/eval.tsv" ||
    [ "$(grep -c '^confusion	true=' "$T/eval.tsv")" != 4 ] ||
    ! awk -F'\t' '$1 == "auroc" && $2 == "all" { ok = ($3 > 0.6) } END { exit !ok }' \
        "$T/eval.tsv"; then
    failed "eval on the held-out windows: exit $got"
fi
# The confusion counts add up to n, and accuracy is their diagonal over n.
rows=$((rows + 1))
if ! awk -F'\t' '
    $1 == "confusion" { split($2, a, /[=,]/); n += $3; if (a[2] == a[4]) right += $3 }
    $1 == "accuracy" && $2 == "all" { acc = $3 }
    END { exit !(n == 283 && (acc - right / n) < 1e-6 && (right / n - acc) < 1e-6) }
    ' "$T/eval.tsv"; then
    failed "confusion rows do not add up to n and the accuracy"
fi
rows=$((rows + 1))
$RECUR predict -m "$T/m.h5" --fasta $D/test_coding.fa --fasta $D/test_noncoding.fa \
    -o "$T/pred.tsv" >"$tmp/out" 2>"$tmp/err"
got=$?
# one row per record, in input order, probabilities summing to 1
first=$(sed -n '1s/^>//p' $D/test_coding.fa)
if [ "$got" != 0 ] || [ "$(grep -vc '^#' "$T/pred.tsv")" != 284 ] ||
    ! grep -q "^name	pred	p_coding	p_noncoding$" "$T/pred.tsv" ||
    [ "$(grep -v '^#' "$T/pred.tsv" | sed -n 2p | cut -f1)" != "$first" ] ||
    ! awk -F'\t' '!/^#/ && NR > 3 { s = $3 + $4; if (s < 0.999999 || s > 1.000001) bad = 1 }
        END { exit bad }' "$T/pred.tsv"; then
    failed "predict on the held-out windows: exit $got"
fi
# The same predictions from BED intervals on the genome (the windows of test.bed).
rows=$((rows + 1))
cp $D/NC_000932.fa "$T/genome.fa"
$RECUR predict -m "$T/m.h5" --bed $D/test.bed --ref "$T/genome.fa" -o "$T/pred_bed.tsv" \
    >"$tmp/out" 2>"$tmp/err"
got=$?
if [ "$got" != 0 ] ||
    ! awk -F'\t' 'FNR == NR { if (!/^#/) p[$1] = $3; next }
        !/^#/ && $1 != "name" { n++; d = p[$1] - $3; if (!($1 in p) || d > 1e-6 || d < -1e-6) bad = 1 }
        END { exit bad || n != 283 }' "$T/pred.tsv" "$T/pred_bed.tsv"; then
    failed "predict from BED + reference differs from FASTA: exit $got"
fi
# eval with the BED's label column gives the same metrics as the FASTA files.
rows=$((rows + 1))
$RECUR eval -m "$T/m.h5" --bed $D/test.bed --ref "$T/genome.fa" --label-column 7 \
    >"$T/eval_bed.tsv" 2>"$tmp/err"
got=$?
if [ "$got" != 0 ] || ! awk -F'\t' 'FNR == NR { if (!/^#/) v[$1 "|" $2] = $3; next }
        !/^#/ { n++; d = v[$1 "|" $2] - $3; if (!(($1 "|" $2) in v) || d > 1e-7 || d < -1e-7) bad = 1 }
        END { exit bad || n < 20 }' "$T/eval.tsv" "$T/eval_bed.tsv"; then
    failed "eval from BED with --label-column 7 differs from FASTA: exit $got"
fi
# encode -> --data: the same metrics from the encoded test windows.
rows=$((rows + 1))
$RECUR encode -m "$T/m.h5" --fasta $D/test_coding.fa:coding --fasta $D/test_noncoding.fa:noncoding \
    -o "$T/test.h5" >"$tmp/out" 2>"$tmp/err" &&
    $RECUR eval -m "$T/m.h5" --data "$T/test.h5" >"$T/eval_data.tsv" 2>>"$tmp/err"
got=$?
grep -v '^#' "$T/eval_data.tsv" >"$T/c" 2>/dev/null
grep -v '^#' "$T/eval.tsv" >"$T/a"
if [ "$got" != 0 ] || ! cmp -s "$T/a" "$T/c"; then
    failed "encode then eval --data differs from eval on FASTA: exit $got"
fi
# The encoded file is what numpy users read: shapes, names, classes.
rows=$((rows + 1))
if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    /usr/bin/python3 -c '
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert f.attrs["format"] in ("recur-dataset", b"recur-dataset")
assert f["x"].shape == (283, 100, 4) and f["mask"].shape == (283, 100), f["x"].shape
assert (f["x"][()].sum(axis=2) == 1).all()
assert list(f["labels"][()]).count(0) == 185
names = [n.decode() if isinstance(n, bytes) else n for n in f["names"][()]]
classes = [c.decode() if isinstance(c, bytes) else c for c in f["classes"][()]]
assert classes == ["coding", "noncoding"], classes
assert names[0].startswith("NC_000932.1:"), names[0]
' "$T/test.h5" >"$tmp/out" 2>"$tmp/err" || failed "the encoded dataset read by h5py"
else
    echo "cli_dna.sh: h5py check skipped (no h5py)"
fi
# Training options: explicit validation inputs, early stopping, class balancing, strands,
# windows, a JSON log with validation metrics.
rows=$((rows + 1))
$RECUR train --fasta $D/test_coding.fa:coding --fasta $D/test_noncoding.fa:noncoding \
    --val-fasta "$T/ok.fa:coding" --hidden 8 --epochs 3 --max-len 40 --windows --revcomp \
    --class-weights auto --patience 1 --log "$T/log.json" -o "$T/opts.h5" \
    >"$tmp/out" 2>"$tmp/err"
got=$?
if [ "$got" != 0 ] || ! grep -q '"val_loss":[0-9]' "$T/log.json" ||
    ! grep -q '"val_acc":[0-9]' "$T/log.json" || ! grep -q '"padding":' "$T/log.json" ||
    ! grep -q 'tiled 283 records into windows of 40 bases' "$tmp/err" ||
    ! grep -q 'class-weights auto: 1110 rows per epoch' "$tmp/err"; then
    failed "training options: exit $got"
fi
# The model carries its encoding: eval/predict average both strands and tile windows by default.
rows=$((rows + 1))
$RECUR predict -m "$T/opts.h5" --fasta "$T/ok.fa" >"$tmp/out" 2>"$tmp/err"
got=$?
if [ "$got" != 0 ] || ! grep -q 'strands averaged: yes' "$tmp/out" ||
    [ "$(grep -vc '^#' "$tmp/out")" != 3 ]; then
    failed "a model trained with --revcomp and windows: exit $got"
fi
# A one-class validation input and a stratified split: the held-out share is reported.
rows=$((rows + 1))
$RECUR train --fasta $D/test_coding.fa:coding --fasta $D/test_noncoding.fa:noncoding \
    --hidden 4 --epochs 1 --val-fraction 0.2 -o "$T/split.h5" >"$tmp/out" 2>"$tmp/err"
got=$?
# round(0.2 * 185) + round(0.2 * 98) = 37 + 20 = 57
if [ "$got" != 0 ] || ! grep -q 'validation: 57 of 283 rows held out' "$tmp/err"; then
    failed "stratified split: exit $got"
fi
# Multilabel: labels from a TSV (commas or columns; a record listed without labels has none of
# them), then eval and predict with the label columns.
rows=$((rows + 1))
printf 'rec01\ta,b\nrec02\tb\nrec03\ta\tc\nrec04\nrec05\tc\nrec06\ta\nrec07\tb,c\n' >"$T/ml.tsv"
printf 'rec08\ta\nrec09\tb\nrec10\tc\nrec11\ta\nrec12\tb\nrec13\tc\nrec14\ta\n' >>"$T/ml.tsv"
$RECUR train --task multilabel --fasta $F/dna_records.fa --labels "$T/ml.tsv" --hidden 4 \
    --epochs 2 -o "$T/ml.h5" >"$tmp/out" 2>"$tmp/err" &&
    $RECUR eval -m "$T/ml.h5" --fasta $F/dna_records.fa --labels "$T/ml.tsv" >"$T/ml_eval.tsv" \
        2>>"$tmp/err" &&
    $RECUR predict -m "$T/ml.h5" --fasta $F/dna_records.fa >"$T/ml_pred.tsv" 2>>"$tmp/err"
got=$?
# label a: rec01, 03, 06, 08, 11, 14 -> support 6; tp + fn = 6
if [ "$got" != 0 ] || ! grep -q '^subset_accuracy	all	' "$T/ml_eval.tsv" ||
    ! grep -q '^support	a	6$' "$T/ml_eval.tsv" ||
    ! awk -F'\t' '($1 == "tp" || $1 == "fn") && $2 == "a" { s += $3 } END { exit s != 6 }' \
        "$T/ml_eval.tsv" ||
    ! grep -q '^name	pred	p_a	p_b	p_c$' "$T/ml_pred.tsv"; then
    failed "multilabel train, eval, predict: exit $got"
fi
# BAM with a read-group label tag and filters: unmapped, secondary, ... dropped by default.
rows=$((rows + 1))
samtools view -b -o "$T/reads.bam" $F/dna_reads.sam && samtools index "$T/reads.bam"
$RECUR predict -m $F/dna_model.h5 --bam "$T/reads.bam" >"$tmp/out" 2>"$tmp/err"
got=$?
want=$(samtools view -c -F 0xF04 "$T/reads.bam")
if [ "$got" != 0 ] || [ "$(grep -vc '^#' "$tmp/out")" != $((want + 1)) ] ||
    grep -q '_read	' "$tmp/out"; then
    failed "BAM default filters: exit $got, $(grep -vc '^#' "$tmp/out") lines for $want reads"
fi
rows=$((rows + 1))
$RECUR predict -m $F/dna_model.h5 --bam "$T/reads.bam" --exclude-flags 0 >"$tmp/out" 2>"$tmp/err"
got=$?
want=$(samtools view -c "$T/reads.bam")
if [ "$got" != 0 ] || [ "$(grep -vc '^#' "$tmp/out")" != $((want + 1)) ]; then
    failed "BAM without filters: exit $got"
fi

# Filters, regions and tag labels count as samtools view counts: read groups alpha / beta
# alternate, MAPQ 10 on every third read.
awk -F'\t' 'BEGIN { OFS = "\t" }
    /^@SQ/ && !rg { print "@RG\tID:alpha"; print "@RG\tID:beta"; rg = 1 }
    /^@/ { print; next }
    { n++; if (n % 3 == 0) $5 = 10; print $0, "RG:Z:" (n % 2 ? "alpha" : "beta") }' \
    $F/dna_reads.sam >"$T/tagged.sam"
samtools sort -o "$T/tagged.bam" "$T/tagged.sam" 2>/dev/null && samtools index "$T/tagged.bam"
for q in "--min-mapq 30|-q 30" "--region chrA:1-60|chrA:1-60" "--require-flags 16|-f 16" \
    "--exclude-flags UNMAP,SECONDARY|-F UNMAP,SECONDARY" "--region chrB|chrB"; do
    rows=$((rows + 1))
    ours=${q%%|*}
    theirs=${q#*|}
    case $theirs in
    chr*) want=$(samtools view -c -F 0xF04 "$T/tagged.bam" "$theirs") ;;
    "-F "*) want=$(samtools view -c $theirs "$T/tagged.bam") ;;
    *) want=$(samtools view -c -F 0xF04 $theirs "$T/tagged.bam") ;;
    esac
    # shellcheck disable=SC2086
    $RECUR predict -m $F/dna_model.h5 --bam "$T/tagged.bam" $ours >"$tmp/out" 2>"$tmp/err"
    got=$?
    n=$(($(grep -vc '^#' "$tmp/out") - 1))
    if [ "$want" = 0 ]; then # no read: an error naming the file, as for an empty input
        [ "$got" = 1 ] && grep -q 'tagged.bam' "$tmp/err" || failed "$ours: no read, exit $got"
    elif [ "$got" != 0 ] || [ "$n" != "$want" ]; then
        failed "$ours: $n reads, samtools view counts $want (exit $got)"
    fi
done
rows=$((rows + 1))
$RECUR eval -m $F/dna_model.h5 --bam "$T/tagged.bam" --label-tag RG >"$tmp/out" 2>"$tmp/err"
got=$?
na=$(samtools view -c -F 0xF04 -r alpha "$T/tagged.bam")
nb=$(samtools view -c -F 0xF04 -r beta "$T/tagged.bam")
if [ "$got" != 0 ] || ! grep -q "^support	alpha	$na$" "$tmp/out" ||
    ! grep -q "^support	beta	$nb$" "$tmp/out" || ! grep -q '^support	gamma	0$' "$tmp/out"; then
    failed "--label-tag RG: exit $got (samtools: alpha $na, beta $nb)"
fi
# Baselines beside the classifier: fitted by train, kept in the model, scored by eval on the
# same records; the majority baseline's test accuracy is the share of the training majority
# (coding) among the test records, counted here.
rows=$((rows + 1))
$RECUR train --fasta $D/train_coding.fa:coding --fasta $D/train_noncoding.fa:noncoding \
    --hidden 4 --epochs 1 --log "$T/blog.json" -o "$T/base.h5" >"$tmp/out" 2>"$tmp/err"
got=$?
$RECUR eval -m "$T/base.h5" --fasta $D/test_coding.fa:coding --fasta $D/test_noncoding.fa:noncoding \
    -q >"$T/base.tsv" 2>>"$tmp/err"
nc=$(grep -c '^>' $D/test_coding.fa)
nn=$(grep -c '^>' $D/test_noncoding.fa)
maj=$(awk -F'\t' '$1 == "baseline_majority_accuracy" {print $3}' "$T/base.tsv")
if [ "$got" != 0 ] || ! grep -q 'baselines, validation accuracy: majority ' "$tmp/err" ||
    ! grep -q '"baseline_val_acc":[0-9]' "$T/blog.json" ||
    ! grep -q '(baseline kmer [0-9.]*)' "$tmp/err" ||
    ! h5ls "$T/base.h5/baselines" | grep -q '^kmer' ||
    ! awk -v m="$maj" -v a="$nc" -v b="$nn" 'BEGIN {exit !(m != "" && (m - a / (a + b))^2 < 1e-16)}' ||
    [ "$(grep -c '^baseline_kmer_\(accuracy\|auroc\|balanced_accuracy\)	all	' "$T/base.tsv")" != 3 ]; then
    failed "baselines: exit $got, majority accuracy '$maj' (test: $nc coding, $nn noncoding)"
fi
rows=$((rows + 1))
$RECUR train --fasta $D/train_coding.fa:coding --fasta $D/train_noncoding.fa:noncoding \
    --hidden 4 --epochs 1 --no-baselines -q -o "$T/nobase.h5" >"$tmp/out" 2>"$tmp/err"
got=$?
$RECUR eval -m "$T/nobase.h5" --fasta $D/test_coding.fa:coding -q >"$T/nobase.tsv" 2>&1
if [ "$got" != 0 ] || h5ls "$T/nobase.h5" | grep -q baselines || grep -q '^baseline_' "$T/nobase.tsv"; then
    failed "--no-baselines: exit $got"
fi

if [ "$fail" -ne 0 ]; then
    echo "cli_dna.sh: $fail of $rows checks failed"
    exit 1
fi
echo "cli_dna.sh: all $rows checks passed"
