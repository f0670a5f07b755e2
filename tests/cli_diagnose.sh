#!/bin/sh
# cli_diagnose.sh - `recur diagnose` from the command line: the TSV's shape and kinds, the
# truncation bias at its limit (K >= T: cosine 1, error 0), atomic -o, and the error paths.
RECUR=${RECUR:-bin/recur}
DATA=tests/fixtures/train_small.h5
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition (shell expression)
    if eval "$2"; then :; else
        echo "cli_diagnose.sh: FAILED: $1"
        fail=1
    fi
}
"$RECUR" train --data $DATA -o "$tmp/m.h5" --cell lstm --hidden 6 --layers 2 --bidirectional \
    --epochs 1 --quiet 2>"$tmp/err"
check "train a model" '[ $? -eq 0 ] && [ -s "$tmp/m.h5" ]'
"$RECUR" diagnose -m "$tmp/m.h5" --data $DATA --max-lag 4 --lyapunov-k 3 --tbptt 2,100 \
    >"$tmp/d.tsv" 2>"$tmp/err"
check "diagnose exits 0" '[ $? -eq 0 ]'
check "provenance line" 'head -1 "$tmp/d.tsv" | grep -q "^# recur .*: recur diagnose"'
check "header" 'grep -qx "kind	layer	direction	index	value" "$tmp/d.tsv"'
# 2 layers x 2 directions: grad_norm rows for every step, 4 lags, 3 exponents each
check "grad_norm for both layers and directions" \
    '[ "$(grep -c "^grad_norm	1	reverse" "$tmp/d.tsv")" -ge 2 ]'
check "jacobian_norm lags 1..4" '[ "$(grep -c "^jacobian_norm	0	forward" "$tmp/d.tsv")" -eq 4 ]'
check "3 lyapunov exponents, decreasing" \
    '[ "$(awk -F"\t" "\$1==\"lyapunov\" && \$2==1 && \$3==\"forward\" {print \$5}" "$tmp/d.tsv" | sort -g -r | tr "\n" " ")" = "$(awk -F"\t" "\$1==\"lyapunov\" && \$2==1 && \$3==\"forward\" {print \$5}" "$tmp/d.tsv" | tr "\n" " ")" ]'
check "no truncation at K >= T: cosine 1" \
    'awk -F"\t" "\$1==\"tbptt_cosine\" && \$4==100 {exit !(\$5 > 0.999999)}" "$tmp/d.tsv"'
check "no truncation at K >= T: error 0" \
    'awk -F"\t" "\$1==\"tbptt_relerr\" && \$4==100 {exit !(\$5 < 1e-6)}" "$tmp/d.tsv"'
check "truncation at K = 2 is biased" \
    'awk -F"\t" "\$1==\"tbptt_relerr\" && \$4==2 {exit !(\$5 > 1e-4)}" "$tmp/d.tsv"'
"$RECUR" diagnose -m "$tmp/m.h5" --data $DATA -o "$tmp/out.tsv" 2>"$tmp/err"
check "-o writes the file" '[ $? -eq 0 ] && [ -s "$tmp/out.tsv" ] && ! ls "$tmp"/out.tsv.tmp.* >/dev/null 2>&1'
"$RECUR" diagnose -m "$tmp/m.h5" 2>"$tmp/err"
check "missing --data: exit 2" '[ $? -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'
"$RECUR" diagnose -m "$tmp/none.h5" --data $DATA 2>"$tmp/err"
check "missing model: exit 1 naming it" '[ $? -eq 1 ] && grep -q "none.h5" "$tmp/err"'
"$RECUR" diagnose -m "$tmp/m.h5" --data tests/fixtures/numpy_regress.h5 2>"$tmp/err"
check "data of another task: exit 1" '[ $? -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'
"$RECUR" diagnose -m "$tmp/m.h5" --data $DATA --tbptt 0,x 2>"$tmp/err"
check "bad --tbptt list: exit 2" '[ $? -eq 2 ]'
echo "good" >"$tmp/keep.tsv"
"$RECUR" diagnose -m "$tmp/none.h5" --data $DATA -o "$tmp/keep.tsv" 2>/dev/null
check "failed run leaves an existing -o file alone" '[ "$(cat "$tmp/keep.tsv")" = good ]'
[ $fail -eq 0 ] && echo "cli_diagnose.sh: all checks passed"
exit $fail
