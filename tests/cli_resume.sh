#!/bin/sh
# cli_resume.sh - preemption-safe training: a run killed (SIGTERM, as SLURM sends before a time
# limit, or SIGKILL) and resumed from its last checkpoint ends with exactly the weights and the
# log of an uninterrupted run; SIGUSR1 writes a checkpoint and goes on; a damaged or foreign
# checkpoint is refused with one line and the previous one stays usable.
RECUR=${RECUR:-bin/recur}
PY=/usr/bin/python3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition (shell expression)
    if eval "$2"; then :; else
        echo "cli_resume.sh: FAILED: $1"
        fail=1
    fi
}
# same weights: every /weights dataset equal, read by h5py, or by h5dump when h5py is missing
same_weights() {
    if $PY -c "import h5py" 2>/dev/null; then
        $PY - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
ok = sorted(a["weights"]) == sorted(b["weights"]) and all(
    np.array_equal(a["weights"][k][()], b["weights"][k][()]) for k in a["weights"])
sys.exit(0 if ok else 1)
PY
    else
        [ "$(h5dump -g /weights -m %.9g "$1" | tail -n +2)" = \
          "$(h5dump -g /weights -m %.9g "$2" | tail -n +2)" ]
    fi
}
"$RECUR" simulate adding -n 4000 -T 60 --seed 5 -o "$tmp/add.h5" || exit 1
OPTS="--data $tmp/add.h5 --cell gru --hidden 32 --layers 2 --dropout 0.2 --epochs 3 \
--batch-size 16 --clip 1 -q"
# shellcheck disable=SC2086
t0=$(date +%s.%N)
"$RECUR" train $OPTS -o "$tmp/A.h5" --log "$tmp/A.jsonl" --grad-log "$tmp/A.g"
check "uninterrupted run" '[ $? -eq 0 ]'
dur=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')

# Kill after about $2 of the uninterrupted run's time $dur (at least 0.05 s; a little longer
# each time, so that every run progresses) with signal $1, then resume until done; a checkpoint
# every 5 updates. Scaling by the run's own time keeps the kills inside the run on fast and slow
# machines and builds (the sanitizers') alike.
preempted_run() {
    out=$tmp/$3.h5 log=$tmp/$3.jsonl
    rm -f "$out" "$log" "$tmp/$3.g"
    first=1 runs=0 interrupted=0
    while [ $runs -lt 30 ]; do
        runs=$((runs + 1))
        if [ $first -eq 1 ] || [ ! -f "$out" ]; then set -- "$1" "$2" "$3"; resume=""; else
            resume="--resume $out"; fi
        # shellcheck disable=SC2086
        "$RECUR" train $OPTS -o "$out" --log "$log" --grad-log "$tmp/$3.g" --checkpoint-every 5 \
            $resume &
        pid=$!
        sleep "$(awk -v f="$2" -v d="$dur" -v r="$runs" \
            'BEGIN {s = f * d; if (s < 0.05) s = 0.05; print s * (1 + r / 4)}')"
        kill "-$1" $pid 2>/dev/null
        wait $pid
        rc=$?
        first=0
        [ $rc -eq 0 ] && return 0
        interrupted=$((interrupted + 1))
        [ $rc -eq 143 ] || [ $rc -eq 137 ] || return 1
    done
    return 1
}
preempted_run TERM 0.3 B
check "SIGTERM: checkpoint, exit 143, resume to the end" '[ $? -eq 0 ]'
check "SIGTERM: the run was really interrupted ($interrupted times)" '[ "$interrupted" -ge 1 ]'
check "SIGTERM: weights identical to the uninterrupted run" 'same_weights "$tmp/A.h5" "$tmp/B.h5"'
check "SIGTERM: log identical but for the times" \
    '[ "$(sed "s/\"seconds\":[^,}]*//" "$tmp/A.jsonl")" = "$(sed "s/\"seconds\":[^,}]*//" "$tmp/B.jsonl")" ]'
check "SIGTERM: per-update gradient log identical" 'cmp -s "$tmp/A.g" "$tmp/B.g"'
preempted_run KILL 0.2 C
check "SIGKILL at any moment: resume from the last checkpoint" '[ $? -eq 0 ]'
check "SIGKILL: the run was really interrupted ($interrupted times)" '[ "$interrupted" -ge 2 ]'
check "SIGKILL: weights identical" 'same_weights "$tmp/A.h5" "$tmp/C.h5"'
check "SIGKILL: per-update gradient log identical" 'cmp -s "$tmp/A.g" "$tmp/C.g"'

# SIGUSR1: a checkpoint, and training goes on to the same end
# shellcheck disable=SC2086
"$RECUR" train $OPTS -o "$tmp/D.h5" &
pid=$!
sleep 0.3
kill -USR1 $pid 2>/dev/null
wait $pid
check "SIGUSR1: training goes on" '[ $? -eq 0 ] && same_weights "$tmp/A.h5" "$tmp/D.h5"'

# refusals: a damaged checkpoint (the previous file stays usable), a foreign file
cp "$tmp/A.h5" "$tmp/good.h5"
head -c 2000 "$tmp/A.h5" >"$tmp/damaged.h5"
# shellcheck disable=SC2086
"$RECUR" train $OPTS -o "$tmp/good.h5" --resume "$tmp/damaged.h5" 2>"$tmp/err"
check "damaged checkpoint: exit 1, one line" '[ $? -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'
check "damaged checkpoint: the previous model untouched" 'cmp -s "$tmp/A.h5" "$tmp/good.h5"'
# a truncated newest checkpoint: refused, and the one before it (kept as .prev) is used
# shellcheck disable=SC2086
"$RECUR" train $OPTS -o "$tmp/F.h5" --checkpoint-every 40
check "checkpoints keep the one before as .prev" '[ -s "$tmp/F.h5.prev" ]'
head -c 3000 "$tmp/F.h5" >"$tmp/F.h5.cut"
mv "$tmp/F.h5.cut" "$tmp/F.h5" # the newest, damaged; F.h5.prev: a checkpoint during the run
# shellcheck disable=SC2086
"$RECUR" train $(echo "$OPTS" | sed 's/ -q//') -o "$tmp/F.h5" --checkpoint-every 40 \
    --resume "$tmp/F.h5" 2>"$tmp/err"
check "truncated checkpoint: refused, the previous one used, to the same end" \
    '[ $? -eq 0 ] && grep -q "previous checkpoint" "$tmp/err" && same_weights "$tmp/A.h5" "$tmp/F.h5"'
# shellcheck disable=SC2086
"$RECUR" train $OPTS -o "$tmp/x.h5" --resume "$tmp/add.h5" 2>"$tmp/err"
check "foreign file: exit 1, one line" '[ $? -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]'
# shellcheck disable=SC2086
"$RECUR" train $OPTS -o "$tmp/x.h5" --resume "$tmp/A.h5" --optimizer sgd 2>"$tmp/err"
check "another optimizer: exit 2" '[ $? -eq 2 ]'
# shellcheck disable=SC2086
"$RECUR" train $OPTS -o "$tmp/x.h5" --resume "$tmp/A.h5" --init "$tmp/A.h5" 2>"$tmp/err"
check "--resume with --init: exit 2" '[ $? -eq 2 ]'
# a finished model resumes for more epochs exactly as a longer run
OPTS4=$(echo "$OPTS" | sed 's/--epochs 3/--epochs 4/')
# shellcheck disable=SC2086
"$RECUR" train $OPTS4 -o "$tmp/E4.h5"
# shellcheck disable=SC2086
"$RECUR" train $OPTS4 -o "$tmp/A.h5" --resume "$tmp/A.h5" --keep last 2>/dev/null
"$RECUR" train $OPTS4 -o "$tmp/E4b.h5" --keep last
check "a finished run resumed for one more epoch equals a 4-epoch run (--keep last)" \
    'same_weights "$tmp/A.h5" "$tmp/E4b.h5"'

# Forecasting trains through the same loop: a forecaster of windows (sequence head, dropout) and
# one of whole series (step head, truncated BPTT, the state carried across windows), each killed
# with SIGTERM and with SIGKILL at several moments and resumed, end with the model (weights and
# training state) and logs of an uninterrupted run.
same_state() { # every dataset of /weights and /train equal
    $PY - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
def names(f):
    out = []
    f.visititems(lambda n, o: out.append(n) if isinstance(o, h5py.Dataset) and
                 n.split("/")[0] in ("weights", "train") else None)
    return sorted(out)
ok = names(a) == names(b) and len(names(a)) > 0 and all(
    np.array_equal(a[k][()], b[k][()]) for k in names(a))
sys.exit(0 if ok else 1)
PY
}
SEA=data/weather/seattle.h5
for kind in seq step; do
    if [ $kind = seq ]; then
        OPTS="--h5 $SEA --vars tmax,tmin,precip,wind --target tmax --window 14 --horizon 7 \
--hidden 48 --layers 2 --dropout 0.2 --epochs 25 --batch-size 16 --clip 1 -q"
    else
        OPTS="--h5 $SEA --vars tmax,tmin --target tmax --horizon 3 --head step --tbptt 50 \
--hidden 64 --layers 2 --dropout 0.1 --epochs 120 --batch-size 1 --patience 1000 -q"
    fi
    # shellcheck disable=SC2086
    t0=$(date +%s.%N)
    "$RECUR" train $OPTS -o "$tmp/FA.h5" --log "$tmp/FA.jsonl" --grad-log "$tmp/FA.g"
    check "forecaster ($kind): uninterrupted run" '[ $? -eq 0 ]'
    dur=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
    for sig in TERM KILL; do
        preempted_run $sig 0.2 F$sig
        check "forecaster ($kind), SIG$sig: resumed to the end" '[ $? -eq 0 ]'
        check "forecaster ($kind), SIG$sig: really interrupted ($interrupted times)" \
            '[ "$interrupted" -ge 2 ]'
        check "forecaster ($kind), SIG$sig: weights and training state identical" \
            'same_state "$tmp/FA.h5" "$tmp/F$sig.h5"'
        check "forecaster ($kind), SIG$sig: JSON log identical but for the times" \
            '[ "$(sed "s/\"seconds\":[^,}]*//" "$tmp/FA.jsonl")" = \
               "$(sed "s/\"seconds\":[^,}]*//" "$tmp/F$sig.jsonl")" ]'
        check "forecaster ($kind), SIG$sig: per-update log identical" \
            'cmp -s "$tmp/FA.g" "$tmp/F$sig.g"'
        check "forecaster ($kind), SIG$sig: no .part log left" \
            '[ ! -e "$tmp/F$sig.jsonl.part" ] && [ ! -e "$tmp/F$sig.g.part" ]'
    done
done
check "the forecaster's log names its best epoch" 'grep -q "\"best\":true" "$tmp/FA.jsonl"'
[ $fail -eq 0 ] && echo "cli_resume.sh: all checks passed"
exit $fail
