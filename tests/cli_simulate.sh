#!/bin/sh
# cli_simulate.sh - `recur simulate` writes datasets `recur train` reads, FASTA pairs for the
# motif task, is reproducible from its seed, and refuses bad requests.
RECUR=${RECUR:-bin/recur}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition (shell expression)
    if eval "$2"; then :; else
        echo "cli_simulate.sh: FAILED: $1"
        fail=1
    fi
}
"$RECUR" simulate adding -n 64 -T 20 --seed 3 -o "$tmp/a.h5"
check "adding writes a dataset" '[ $? -eq 0 ] && [ -s "$tmp/a.h5" ]'
"$RECUR" train --data "$tmp/a.h5" -o "$tmp/m.h5" --hidden 8 --epochs 2 --quiet
check "the adding dataset trains" '[ $? -eq 0 ] && [ -s "$tmp/m.h5" ]'
"$RECUR" simulate copy -n 16 -T 5 -o "$tmp/c.h5"
check "copy writes a dataset" '[ $? -eq 0 ]'
"$RECUR" train --data "$tmp/c.h5" -o "$tmp/mc.h5" --hidden 8 --epochs 1 --quiet
check "the copy dataset trains (step head)" '[ $? -eq 0 ]'
"$RECUR" simulate motif -n 10 -T 50 --distance 5 --seed 9 -o "$tmp/m1"
"$RECUR" simulate motif -n 10 -T 50 --distance 5 --seed 9 -o "$tmp/m2"
check "motif writes 5 + 5 records" \
    '[ "$(grep -c ">" "$tmp/m1.pos.fa")" -eq 5 ] && [ "$(grep -c ">" "$tmp/m1.neg.fa")" -eq 5 ]'
check "same seed, same sequences" 'cmp -s "$tmp/m1.pos.fa" "$tmp/m2.pos.fa"'
"$RECUR" simulate motif -n 10 -T 5 --distance 5 -o "$tmp/m3" 2>"$tmp/err"
check "site that does not fit: exit 2, one line" '[ $? -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'
"$RECUR" simulate spiral -o "$tmp/x" 2>"$tmp/err"
check "unknown task: exit 2" '[ $? -eq 2 ]'
"$RECUR" simulate adding 2>"$tmp/err"
check "missing -o: exit 2" '[ $? -eq 2 ]'
"$RECUR" simulate adding -o "$tmp/nodir/a.h5" 2>"$tmp/err"
check "unwritable output: exit 1" '[ $? -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'
# eval of regression and step models on a dataset: the model's own loss, as the trainer's
# validation loss of the same weights (another code path: the training engine, window by window)
"$RECUR" simulate adding -n 200 -T 30 --seed 3 -o "$tmp/ea.h5"
"$RECUR" simulate copy -n 100 -T 12 --seed 4 -o "$tmp/ec.h5"
for d in ea ec; do
    "$RECUR" train --data "$tmp/$d.h5" --val-data "$tmp/$d.h5" --hidden 8 --epochs 2 --keep last \
        --log "$tmp/$d.jsonl" -q -o "$tmp/$d.m.h5"
    "$RECUR" eval -m "$tmp/$d.m.h5" --data "$tmp/$d.h5" >"$tmp/$d.eval" 2>"$tmp/err"
    check "eval $d: exit 0" '[ $? -eq 0 ]'
    want=$(tail -1 "$tmp/$d.jsonl" | sed 's/.*"val_loss":\([^,]*\).*/\1/')
    got=$(awk -F"\t" '$1=="mse" || $1=="loss" {print $3}' "$tmp/$d.eval")
    check "eval $d: loss $got = the trainer's validation loss $want" \
        'awk -v a="$got" -v b="$want" "BEGIN {d = a - b; if (d < 0) d = -d; exit !(a > 0 && d <= 1e-5 * b)}"'
done
check "eval copy: accuracy per step in [0, 1]" \
    'awk -F"\t" "\$1==\"accuracy\" {exit !(\$3 >= 0 && \$3 <= 1)}" "$tmp/ec.eval"'
"$RECUR" eval -m "$tmp/ea.m.h5" --fasta tests/fixtures/dna_records.fa 2>"$tmp/err"
check "eval of a regression model on raw inputs: exit 1, one line" \
    '[ $? -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'
[ $fail -eq 0 ] && echo "cli_simulate.sh: all checks passed"
exit $fail
