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
# --train-log: the gradient statistics against numpy's on the same per-update log
"$RECUR" train --data $DATA -o "$tmp/g.h5" --cell rnn --hidden 8 --epochs 2 --batch-size 4 \
    --clip 0.3 --grad-log "$tmp/g.tsv" --quiet
check "train --grad-log: header and one line per update" \
    'head -1 "$tmp/g.tsv" | grep -qx "update	epoch	loss	grad_norm	grad_norm_clipped	skipped" &&
     [ "$(awk -F"\t" "NR>1 && \$1!=NR-1" "$tmp/g.tsv" | wc -l)" -eq 0 ]'
"$RECUR" diagnose --train-log "$tmp/g.tsv" >"$tmp/gs.tsv" 2>"$tmp/err"
check "diagnose --train-log exits 0" '[ $? -eq 0 ]'
/usr/bin/python3 - "$tmp/g.tsv" "$tmp/gs.tsv" <<'PY'
import sys, numpy as np
log = np.genfromtxt(sys.argv[1], delimiter="\t", names=True)
rows = {}
for line in open(sys.argv[2]):
    if line.startswith("#") or line.startswith("kind"):
        continue
    k, _, _, idx, v = line.rstrip("\n").split("\t")
    rows[(k, idx)] = float(v)
bad = 0
for ep in ["1", "2", "all"]:
    sel = log if ep == "all" else log[log["epoch"] == int(ep)]
    for col, name in (("grad_norm", "before"), ("grad_norm_clipped", "after")):
        v = sel[col]
        want = {"mean": v.mean(), "median": np.median(v), "p90": np.quantile(v, 0.9),
                "max": v.max()}
        for s, w in want.items():
            got = rows[("grad_norm_%s_%s" % (name, s), ep)]
            if abs(got - w) > 1e-6 * max(1.0, abs(w)):
                print("mismatch", ep, name, s, got, w); bad = 1
    if rows[("clipped", ep)] != np.sum(sel["grad_norm"] > 0.3) or \
       rows[("updates", ep)] != len(sel) or np.any(sel["grad_norm_clipped"] > 0.3 + 1e-7):
        print("mismatch in counts", ep); bad = 1
sys.exit(bad)
PY
check "grad-log statistics agree with numpy (mean, median, p90, max, clipped)" '[ $? -eq 0 ]'
printf 'update\tepoch\n1\t1\n' >"$tmp/badlog.tsv"
"$RECUR" diagnose --train-log "$tmp/badlog.tsv" >/dev/null 2>"$tmp/err"
check "malformed grad log: exit 1, one line naming the file" \
    '[ $? -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "badlog.tsv" "$tmp/err"'
"$RECUR" diagnose -m "$tmp/g.h5" >/dev/null 2>&1
check "-m without --data: exit 2" '[ $? -eq 2 ]'

# initialisation for the vanishing/exploding experiments, checked with numpy: the spectral
# radius of each gate's recurrent block, and the GRU's update-gate bias
"$RECUR" train --data $DATA -o "$tmp/sr.h5" --cell gru --hidden 12 --spectral-radius 1.7 \
    --forget-bias 1 --epochs 0 --quiet
check "--epochs 0 writes the initialised model" '[ $? -eq 0 ] && [ -s "$tmp/sr.h5" ]'
/usr/bin/python3 - "$tmp/sr.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
w = f["weights/rnn.weight_hh_l0"][()]
H = w.shape[1]
r = [np.abs(np.linalg.eigvals(w[g * H:(g + 1) * H].astype(np.float64))).max() for g in range(3)]
b = f["weights/rnn.bias_ih_l0"][()]
ok = all(abs(x - 1.7) < 1e-5 for x in r) and np.all(b[H:2 * H] == 1.0) and not np.all(b[:H] == 1.0)
sys.exit(0 if ok else 1)
PY
check "--spectral-radius 1.7 per gate block, GRU update-gate bias 1 (numpy)" '[ $? -eq 0 ]'
# the padding lesson: a masked regulariser gives the gradient of each sequence alone; the
# unmasked one (experiment-only switch) leaks, more with more padding
"$RECUR" diagnose -m "$tmp/m.h5" --data $DATA --max-lag 1 --lyapunov-k 1 --tbptt 1 \
    --padding 5,50 --act-reg 0.05 >"$tmp/p.tsv"
check "padding_leak: masked regulariser exact (float rounding)" \
    '[ "$(awk -F"\t" "\$1==\"padding_leak_masked\" && \$5 < 1e-5" "$tmp/p.tsv" | wc -l)" -eq 2 ]'
check "padding_leak: unmasked leaks, growing with the padding" \
    'awk -F"\t" "\$1==\"padding_leak_unmasked\" {v[\$4]=\$5} END {exit !(v[5] > 1e-3 && v[50] > 2 * v[5])}" "$tmp/p.tsv"'
[ $fail -eq 0 ] && echo "cli_diagnose.sh: all checks passed"
exit $fail
