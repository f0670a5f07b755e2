#!/bin/sh
# cli_mpi.sh - MPI data-parallel training (bin/recur-mpi, `make MPI=1`): 1, 2 and 4 ranks train
# the same model from the same seed on the same global batches as the non-MPI build - within
# 1e-6 relative by default, bit-identical with --deterministic-reduce; shards with different
# padding on different ranks give the loss of one rank; only rank 0 writes.
# the non-MPI build of the same flags as bin/recur-mpi (not $RECUR: a sanitizer build rounds
# differently)
RECUR=${RECUR_NONMPI:-bin/recur}
MPI_BIN=${RECUR_MPI:-bin/recur-mpi}
PY=/usr/bin/python3
if [ ! -x "$MPI_BIN" ] || [ ! -x "$RECUR" ] || ! command -v mpirun >/dev/null 2>&1; then
    echo "cli_mpi.sh: skipped: no $MPI_BIN or mpirun (make MPI=1; OpenMPI from make deps)"
    exit 0
fi
if ! $PY -c "import h5py, numpy" 2>/dev/null; then
    echo "cli_mpi.sh: skipped: needs /usr/bin/python3 with h5py and numpy"
    exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition (shell expression)
    if eval "$2"; then :; else
        echo "cli_mpi.sh: FAILED: $1"
        fail=1
    fi
}
run() { # ranks, args...
    np=$1
    shift
    mpirun --allow-run-as-root --oversubscribe -np "$np" "$MPI_BIN" "$@"
}
# relative max difference of all weights of two models (0 when bit-identical)
reldiff() {
    $PY - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
w = lambda f: np.concatenate([h5py.File(f, "r")["weights"][k][()].ravel().astype(np.float64)
                              for k in sorted(h5py.File(f, "r")["weights"])])
a, b = w(sys.argv[1]), w(sys.argv[2])
print(np.max(np.abs(a - b)) / np.max(np.abs(a)))
PY
}
"$RECUR" simulate adding -n 300 -T 30 --seed 4 -o "$tmp/a.h5" || exit 1
O="--data $tmp/a.h5 --cell lstm --hidden 8 --layers 2 --epochs 2 --batch-size 64 --seed 3 \
--shard-rows 8 --val-fraction 0 -q"
# shellcheck disable=SC2086
"$RECUR" train $O -o "$tmp/one.h5"
# shellcheck disable=SC2086
"$RECUR" train $O -o "$tmp/one_det.h5" --deterministic-reduce
for np in 1 2 4; do
    # shellcheck disable=SC2086
    run $np train $O -o "$tmp/m$np.h5" 2>"$tmp/err$np"
    check "-np $np trains" '[ $? -eq 0 ]'
    d=$(reldiff "$tmp/one.h5" "$tmp/m$np.h5")
    check "-np $np: weights within 1e-6 of the non-MPI build (max rel diff $d)" \
        "awk 'BEGIN {exit !($d <= 1e-6)}'"
    # shellcheck disable=SC2086
    run $np train $O -o "$tmp/d$np.h5" --deterministic-reduce 2>/dev/null
    d=$(reldiff "$tmp/one_det.h5" "$tmp/d$np.h5")
    check "-np $np --deterministic-reduce: bit-identical to one process" "[ \"$d\" = 0.0 ]"
done
# mixed lengths (bucketing off, shards of 4): each rank's shards carry other padding
M="--data tests/fixtures/train_small.h5 --cell gru --hidden 6 --epochs 2 --batch-size 16 \
--shard-rows 4 --no-bucket --val-fraction 0 --seed 2 -q"
# shellcheck disable=SC2086
"$RECUR" train $M -o "$tmp/s1.h5" --log "$tmp/s1.jsonl"
# shellcheck disable=SC2086
run 2 train $M -o "$tmp/s2.h5" --log "$tmp/s2.jsonl"
l1=$(sed -n 's/.*"loss":\([^,]*\),.*/\1/p' "$tmp/s1.jsonl" | head -1)
l2=$(sed -n 's/.*"loss":\([^,]*\),.*/\1/p' "$tmp/s2.jsonl" | head -1)
check "padding differs across ranks, the loss is one rank's ($l1 vs $l2)" \
    "awk 'BEGIN {d = $l1 - $l2; if (d < 0) d = -d; exit !(d <= 1e-6 * $l1)}'"
check "only rank 0 writes the log (2 epochs, 2 lines)" '[ "$(wc -l <"$tmp/s2.jsonl")" -eq 2 ]'
# shellcheck disable=SC2086
run 2 train $(echo "$M" | sed 's/ -q//') -o "$tmp/s3.h5" 2>"$tmp/err"
check "rank 0 alone reports, and says how many ranks" \
    '[ "$(grep -c "over 2 ranks" "$tmp/err")" -eq 1 ] && [ "$(grep -c "epoch 1/2" "$tmp/err")" -eq 1 ]'
# Forecasters train through the same loop: windows of a series (validation, the best epoch kept,
# dropout) and a whole series by truncated BPTT; bit-identical to one process with
# --deterministic-reduce on any number of ranks.
SEA=data/weather/seattle.h5
for kind in seq step; do
    if [ $kind = seq ]; then
        F="--h5 $SEA --vars tmax,tmin,precip --target tmax --window 10 --horizon 3 --hidden 8 \
--layers 2 --dropout 0.1 --epochs 2 --batch-size 32 --shard-rows 4 --seed 3 -q"
    else
        F="--h5 $SEA --vars tmax,tmin --target tmax --horizon 2 --head step --tbptt 40 \
--hidden 8 --epochs 2 --batch-size 1 --seed 3 -q"
    fi
    # shellcheck disable=SC2086
    "$RECUR" train $F -o "$tmp/f1_$kind.h5" --deterministic-reduce
    for np in 1 2 4; do
        # shellcheck disable=SC2086
        run $np train $F -o "$tmp/f${np}_$kind.h5" --deterministic-reduce 2>"$tmp/err"
        check "forecaster ($kind) -np $np trains" '[ $? -eq 0 ]'
        d=$(reldiff "$tmp/f1_$kind.h5" "$tmp/f${np}_$kind.h5")
        check "forecaster ($kind) -np $np --deterministic-reduce: bit-identical ($d)" \
            "[ \"$d\" = 0.0 ]"
    done
done
[ $fail -eq 0 ] && echo "cli_mpi.sh: all checks passed"
exit $fail
