#!/bin/sh
# cli_diagnose_ref.sh - `recur diagnose euler` and `recur diagnose linear` from the command line:
# the TSV's shape and kinds, what the measurements must show (a linear model's exponents, the
# vanilla RNN at dt = 1 is stable where dt = 3 explodes, the antisymmetric RNN without
# diffusion grows at every dt), the O(T^2) sum against O(T) BPTT (fitted slopes of the CPU
# times; best of three runs, so that a busy machine cannot fail it), atomic -o and the errors.
RECUR=${RECUR:-bin/recur}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition (shell expression)
    if eval "$2"; then :; else
        echo "cli_diagnose_ref.sh: FAILED: $1"
        fail=1
    fi
}
# value KIND LAYER INDEX FILE: the value column of that row
value() { awk -F'\t' -v k="$1" -v l="$2" -v i="$3" '$1==k && $2==l && $4==i {print $5}' "$4"; }

"$RECUR" diagnose euler --dt 0.1,1,3 --horizon 30 --reps 2 >"$tmp/e.tsv" 2>"$tmp/err"
check "euler exits 0" '[ $? -eq 0 ] && [ ! -s "$tmp/err" ]'
check "euler provenance line" 'head -1 "$tmp/e.tsv" | grep -q "^# recur .*: recur diagnose euler"'
check "euler header" 'grep -qx "kind	layer	direction	index	value" "$tmp/e.tsv"'
# 3 models x 3 step sizes x 9 kinds, 5 columns each
check "euler rows" '[ "$(grep -vc "^#\|^kind" "$tmp/e.tsv")" -eq 81 ]'
check "euler: 5 columns" '[ "$(grep -v "^#" "$tmp/e.tsv" | awk -F"\t" "NF != 5" | wc -l)" -eq 0 ]'
for k in lyap_step lyap_time perturb_time state_norm grad_ratio grad_ratio_time \
    predicted_growth predicted_time steps; do
    check "euler kind $k for every model and dt" \
        '[ "$(awk -F"\t" -v k=$k "\$1==k" "$tmp/e.tsv" | wc -l)" -eq 9 ]'
done
check "euler models" '[ "$(grep -v "^#\|^kind" "$tmp/e.tsv" | cut -f2 | sort -u | tr "\n" " ")" = "antisym antisym0 ctrnn " ]'
check "steps = horizon / dt" '[ "$(value steps ctrnn 0.1 "$tmp/e.tsv")" = 300 ] && [ "$(value steps ctrnn 3 "$tmp/e.tsv")" = 10 ]'
# the CT-RNN with spectral radius 0.9: at dt = 1 (the tanh RNN) -I + W has its eigenvalues in
# the disc of radius 0.9 around -1, so |1 + lambda| <= 0.9; at dt = 3 they are >= 1.7 away
check "ctrnn predicted stable at dt = 1" \
    'awk "BEGIN {exit !($(value predicted_growth ctrnn 1 "$tmp/e.tsv") <= 0.9 + 1e-9)}"'
check "ctrnn: contracting at dt = 1, expanding at dt = 3 (forward and backward)" \
    'awk "BEGIN {exit !($(value lyap_step ctrnn 1 "$tmp/e.tsv") < 0 && $(value lyap_step ctrnn 3 "$tmp/e.tsv") > 0 && $(value grad_ratio_time ctrnn 1 "$tmp/e.tsv") < 0 && $(value grad_ratio_time ctrnn 3 "$tmp/e.tsv") > 0)}"'
check "antisymmetric without diffusion: predicted growth > 1 at every dt" \
    '[ "$(awk -F"\t" "\$1==\"predicted_growth\" && \$2==\"antisym0\" && \$5 <= 1" "$tmp/e.tsv" | wc -l)" -eq 0 ]'
check "antisymmetric with diffusion: predicted stable at dt = 0.1" \
    'awk "BEGIN {exit !($(value predicted_growth antisym 0.1 "$tmp/e.tsv") < 1)}"'
check "lyap_time = lyap_step / dt" \
    'awk "BEGIN {a = $(value lyap_step antisym 3 "$tmp/e.tsv") / 3; b = $(value lyap_time antisym 3 "$tmp/e.tsv"); exit !(a - b < 1e-8 && b - a < 1e-8)}"'
"$RECUR" diagnose euler --dt 0.1,1,3 --horizon 30 --reps 2 -o "$tmp/e2.tsv" 2>"$tmp/err"
check "euler -o writes the file; same seed, same numbers" \
    '[ $? -eq 0 ] && [ "$(grep -v "^#" "$tmp/e.tsv" | md5sum)" = "$(grep -v "^#" "$tmp/e2.tsv" | md5sum)" ]'
check "no temporary left" '! ls "$tmp"/e2.tsv.tmp.* >/dev/null 2>&1'
"$RECUR" diagnose euler --dt 0.1,1,3 --horizon 30 --reps 2 --seed 7 >"$tmp/e3.tsv" 2>/dev/null
check "euler: another seed, other numbers" \
    '[ -n "$(value lyap_step ctrnn 1 "$tmp/e3.tsv")" ] && [ "$(value lyap_step ctrnn 1 "$tmp/e3.tsv")" != "$(value lyap_step ctrnn 1 "$tmp/e.tsv")" ]'
"$RECUR" diagnose euler --help >"$tmp/help" 2>&1
check "euler --help: exit 0, lists the kinds" '[ $? -eq 0 ] && grep -q grad_ratio_time "$tmp/help"'

# linear: the sum and BPTT agree; the sum's CPU time grows like T^2, BPTT's like T
slopes() { # FILE: "slope_sum slope_bptt" of log(cpu time) against log(T), least squares
    awk -F'\t' '$1=="cpu_sum" || $1=="cpu_bptt" {
        x = log($4); y = log($5); n[$1]++; sx[$1] += x; sy[$1] += y; sxx[$1] += x * x
        sxy[$1] += x * y }
        END { for (k in n) s[k] = (n[k] * sxy[k] - sx[k] * sy[k]) / (n[k] * sxx[k] - sx[k] * sx[k])
              printf "%.3f %.3f\n", s["cpu_sum"], s["cpu_bptt"] }' "$1"
}
ok=0
for attempt in 1 2 3; do
    "$RECUR" diagnose linear -T 100,200,400,800 --reps 5 >"$tmp/l.tsv" 2>"$tmp/err" || break
    set -- $(slopes "$tmp/l.tsv")
    if awk "BEGIN {exit !($1 > 1.5 && $2 < 1.3 && $2 > 0.5)}"; then
        ok=1
        break
    fi
    echo "cli_diagnose_ref.sh: attempt $attempt: fitted slopes sum $1, bptt $2; again"
done
check "linear: slope of the sum > 1.5, of BPTT in (0.5, 1.3)" '[ $ok -eq 1 ]'
check "linear provenance line" 'head -1 "$tmp/l.tsv" | grep -q "^# recur .*: recur diagnose linear"'
check "linear header" 'grep -qx "kind	layer	direction	index	value" "$tmp/l.tsv"'
check "linear rows: 6 kinds x 4 lengths" '[ "$(grep -vc "^#\|^kind" "$tmp/l.tsv")" -eq 24 ]'
for k in time_sum time_bptt cpu_sum cpu_bptt max_abs_diff max_rel_diff; do
    check "linear kind $k for every T" \
        '[ "$(awk -F"\t" -v k=$k "\$1==k && \$2==\"-\" && \$3==\"-\"" "$tmp/l.tsv" | wc -l)" -eq 4 ]'
done
check "linear: the gradients agree (relative 1e-12)" \
    '[ "$(awk -F"\t" "\$1==\"max_rel_diff\" && !(\$5 < 1e-12)" "$tmp/l.tsv" | wc -l)" -eq 0 ]'
"$RECUR" diagnose linear -T 20,50 --reps 1 -o "$tmp/l2.tsv" 2>"$tmp/err"
check "linear -o, short T: max_abs_diff < 1e-10" '[ $? -eq 0 ] && [ "$(awk -F"\t" "\$1==\"max_abs_diff\" && \$5 < 1e-10" "$tmp/l2.tsv" | wc -l)" -eq 2 ]'

# errors
"$RECUR" diagnose euler --bogus 2>"$tmp/err"
check "euler unknown option: exit 2, one line naming it" \
    '[ $? -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "bogus.*recur diagnose euler --help" "$tmp/err"'
"$RECUR" diagnose euler --dt 0,1 2>"$tmp/err"
check "euler --dt 0: exit 2" '[ $? -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^recur diagnose: --dt" "$tmp/err"'
"$RECUR" diagnose euler --dt 0.0001 --horizon 1000 2>"$tmp/err"
check "euler too many steps: exit 2" '[ $? -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'
"$RECUR" diagnose euler --horizon 2>"$tmp/err"
check "euler option without its value: exit 2" '[ $? -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'
"$RECUR" diagnose euler extra 2>"$tmp/err"
check "euler stray argument: exit 2" '[ $? -eq 2 ] && grep -q "extra" "$tmp/err"'
"$RECUR" diagnose linear -T 10,x 2>"$tmp/err"
check "linear bad -T: exit 2" '[ $? -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'
"$RECUR" diagnose linear --reps 0 2>"$tmp/err"
check "linear --reps 0: exit 2" '[ $? -eq 2 ]'
"$RECUR" diagnose linear -T 10 -o "$tmp/no/such/dir/l.tsv" 2>"$tmp/err"
check "linear unwritable -o: exit 1 naming it" '[ $? -eq 1 ] && grep -q "no/such/dir" "$tmp/err"'
echo "good" >"$tmp/keep.tsv"
"$RECUR" diagnose euler --gamma -1 -o "$tmp/keep.tsv" 2>/dev/null
check "failed run leaves an existing -o file alone" '[ "$(cat "$tmp/keep.tsv")" = good ]'
[ $fail -eq 0 ] && echo "cli_diagnose_ref.sh: all checks passed"
exit $fail
