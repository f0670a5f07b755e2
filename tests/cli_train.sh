#!/bin/sh
# cli_train.sh - tests of `recur train`: a table of command lines with their exit status and a
# fixed substring of stdout or stderr, then the checks a row cannot express: a diverged run
# leaves an existing model file byte-identical, a skipped step is counted, the same seed gives
# bit-identical weights (and another seed does not), the loss of a learnable task falls, the
# JSON log has one object per epoch, the class names reach the model file.
#
# Usage: RECUR=bin/recur sh tests/cli_train.sh   (from the top of the source tree)
# The dataset is tests/fixtures/train_small.h5 (tests/reference/make_dataset_fixture.py: label 1
# when feature 0 sums to > 0 over the record's valid steps).
RECUR=${RECUR:-bin/recur}
DATA=tests/fixtures/train_small.h5
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
rows=0

if [ ! -x "$RECUR" ]; then
    echo "cli_train.sh: $RECUR is not an executable (run make first)"
    exit 1
fi

if ! $RECUR help train >/dev/null 2>&1; then
    echo "cli_train.sh: $RECUR has no train command (main_train is not in src/recur.c's table)"
    exit 1
fi

# Reports a failed check: message, then the captured streams.
failed() {
    fail=$((fail + 1))
    echo "FAIL $1"
    sed 's/^/    stdout: /' "$tmp/out" | head -5
    sed 's/^/    stderr: /' "$tmp/err" | head -5
}

# Rows: expected exit | stream | fixed substring | arguments (split on blanks, no quoting).
# stream: out = stdout, err = stderr, err1 = stderr holding exactly one line, quiet = stderr
# empty. @TMP@ stands for a scratch directory, @DATA@ for the dataset fixture.
while IFS='|' read -r want stream pat args; do
    case $want in '' | \#*) continue ;; esac
    rows=$((rows + 1))
    pat=$(printf '%s' "$pat" | sed "s|@TMP@|$tmp|g; s|@DATA@|$DATA|g")
    args=$(printf '%s' "$args" | sed "s|@TMP@|$tmp|g; s|@DATA@|$DATA|g")
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
    elif [ "$stream" = quiet ] && [ -s "$f" ]; then
        why="stderr is not empty"
    fi
    [ -n "$why" ] && failed "row $rows: recur $args: $why"
done <<'EOF'
# help
0|out|Usage: recur train --data FILE -o MODEL|train --help
0|out|--nan-at-step N|train -h
0|out|3 training diverged|train --help
# usage errors: one line, exit 2
2|err1|recur train: missing --data FILE|train -o @TMP@/m.h5
2|err1|recur train: missing -o MODEL|train --data @DATA@
2|err1|recur train: missing --data FILE|train
2|err1|recur train: --lr: expected a number|train --data @DATA@ -o @TMP@/m.h5 --lr -1
2|err1|recur train: --lr: expected a number|train --data @DATA@ -o @TMP@/m.h5 --lr x
2|err1|recur train: --lr: expected a number|train --data @DATA@ -o @TMP@/m.h5 --lr 0
2|err1|recur train: --epochs: expected an integer in 0..|train --data @DATA@ -o @TMP@/m.h5 --epochs -1
2|err1|recur train: --batch-size: expected an integer in 1..|train --data @DATA@ -o @TMP@/m.h5 --batch-size 0
2|err1|recur train: --optimizer: expected sgd, adam or adamw, got 'lbfgs'|train --data @DATA@ -o @TMP@/m.h5 --optimizer lbfgs
2|err1|recur train: --dropout: expected a number in [0|train --data @DATA@ -o @TMP@/m.h5 --dropout 1
2|err1|recur train: --clip: expected a number|train --data @DATA@ -o @TMP@/m.h5 --clip -1
2|err1|recur train: --tbptt: expected an integer|train --data @DATA@ -o @TMP@/m.h5 --tbptt x
2|err1|recur train: --seed: expected an integer|train --data @DATA@ -o @TMP@/m.h5 --seed -1
2|err1|recur train: --max-bad-steps: expected an integer in 1..|train --data @DATA@ -o @TMP@/m.h5 --max-bad-steps 0
2|err1|recur train: -@: expected an integer in 1..1024, got '0'|train --data @DATA@ -o @TMP@/m.h5 -@ 0
2|err1|recur train: --hidden: expected an integer in 1..65536, got '0'|train --data @DATA@ -o @TMP@/m.h5 --hidden 0
2|err1|recur train: --cell: expected rnn, lstm or gru|train --data @DATA@ -o @TMP@/m.h5 --cell elman
2|err1|recur train: --head step conflicts with the data's head seq|train --data @DATA@ -o @TMP@/m.h5 --head step
2|err1|recur train: --task regress conflicts with the data's task classify|train --data @DATA@ -o @TMP@/m.h5 --task regress
2|err1|recur train: --input 4 conflicts with the data's input 2|train --data @DATA@ -o @TMP@/m.h5 --input 4
2|err1|recur train: --momentum applies to --optimizer sgd only|train --data @DATA@ -o @TMP@/m.h5 --momentum 0.9
2|err1|recur train: -o: the model cannot be written to standard output|train --data @DATA@ -o -
2|err1|recur train: --data: the dataset cannot be read from standard input|train --data - -o @TMP@/m.h5
2|err1|recur train: unknown option '--frobnicate'|train --data @DATA@ -o @TMP@/m.h5 --frobnicate
2|err1|recur train: option '--epochs' needs an argument|train --data @DATA@ -o @TMP@/m.h5 --epochs
2|err1|recur train: unexpected argument 'extra'|train --data @DATA@ -o @TMP@/m.h5 extra
# bad input or I/O: one line naming the file, exit 1
1|err1|recur train: @TMP@/missing.h5: cannot open: No such file or directory|train --data @TMP@/missing.h5 -o @TMP@/m.h5
1|err1|recur train: tests/fixtures/ref_torch_model.h5: not a recur dataset (format is 'recur-model'|train --data tests/fixtures/ref_torch_model.h5 -o @TMP@/m.h5
1|err1|recur train: @TMP@/nodir/m.h5: cannot write in directory '@TMP@/nodir'|train --data @DATA@ -o @TMP@/nodir/m.h5
1|err1|recur train: @TMP@: is a directory|train --data @DATA@ -o @TMP@
1|err1|recur train: @TMP@/nodir/log.json: cannot open|train --data @DATA@ -o @TMP@/m.h5 --log @TMP@/nodir/log.json -q
# training
0|err|recur train: wrote @TMP@/ok.h5|train --data @DATA@ -o @TMP@/ok.h5 --hidden 8 --epochs 2
0|err|recur train: epoch 2/2 loss |train --data @DATA@ -o @TMP@/ok.h5 --hidden 8 --epochs 2
0|quiet||train --data @DATA@ -o @TMP@/q.h5 --hidden 8 --epochs 2 -q
0|err|epoch 3/3|train --data @DATA@ -o @TMP@/a.h5 --cell gru --bidirectional --layers 2 --dropout 0.2 --pool mean --tbptt 5 --clip 0.5 --optimizer sgd --momentum 0.9 --no-shuffle -@ 2 --hidden 6 --epochs 3 --batch-size 10
0|err|epoch 2/2|train --data @DATA@ -o @TMP@/b.h5 --cell rnn --optimizer adamw --weight-decay 0.1 --orthogonal --lr 0.01 --hidden 5 --epochs 2
0|err|epoch 2/2|train --data @DATA@ -o @TMP@/c.h5 --orthogonal --forget-bias 1 --pool max --hidden 4 --epochs 2 --batch-size 100
# datasets written by h5py with numpy's default types: per-step labels; regression with a target mask
0|err|step head, 3 outputs|train --data tests/fixtures/numpy_step.h5 -o @TMP@/s.h5 --hidden 4 --epochs 2 --batch-size 2
0|err|regress (seq head, 2 outputs)|train --data tests/fixtures/numpy_regress.h5 -o @TMP@/r.h5 --hidden 4 --epochs 2
# divergence: one line, exit 3
3|err1|recur train: training diverged|train --data @DATA@ -o @TMP@/d.h5 --hidden 8 --nan-at-step 1 --max-bad-steps 1 -q
EOF

# Models were written where asked, and not after divergence.
rows=$((rows + 1))
for m in ok q a b c s r; do
    [ -s "$tmp/$m.h5" ] || failed "model $m.h5 was not written"
done
[ -e "$tmp/d.h5" ] && failed "a diverged run wrote its model file"

# A diverged run leaves an existing model file byte-identical and no temporary file behind.
rows=$((rows + 1))
cp "$tmp/ok.h5" "$tmp/keep.h5" && cp "$tmp/ok.h5" "$tmp/keep.orig"
$RECUR train --data $DATA -o "$tmp/keep.h5" --hidden 8 --nan-at-step 2 --max-bad-steps 1 \
    >"$tmp/out" 2>"$tmp/err"
got=$?
if [ "$got" != 3 ] || ! cmp -s "$tmp/keep.h5" "$tmp/keep.orig" ||
    [ -n "$(find "$tmp" -name 'keep.h5.*')" ]; then
    failed "diverged run over an existing -o: exit $got (expected 3), file changed or temp left"
fi

# One NaN gradient (update 3, in epoch 2: 64 records in batches of 32) is skipped and counted;
# training goes on. The log has one JSON object per epoch with every key.
rows=$((rows + 1))
$RECUR train --data $DATA -o "$tmp/skip.h5" --hidden 8 --epochs 3 --nan-at-step 3 \
    --log "$tmp/skip.json" >"$tmp/out" 2>"$tmp/err"
got=$?
if [ "$got" != 0 ] || [ "$(wc -l <"$tmp/skip.json")" -ne 3 ] ||
    ! grep -q '^{"epoch":2,.*"updates":1,"skipped":1,' "$tmp/skip.json" ||
    ! grep -q '^{"epoch":3,.*"updates":2,"skipped":0,' "$tmp/skip.json" ||
    ! grep -qF 'epoch 2/3 loss' "$tmp/err" || ! grep -qF 'skipped 1' "$tmp/err"; then
    failed "a skipped step: exit $got; log:"
    sed 's/^/    log: /' "$tmp/skip.json"
fi
rows=$((rows + 1))
for k in epoch loss updates skipped clipped grad_norm_mean grad_norm_max seconds; do
    n=$(grep -c "\"$k\":" "$tmp/skip.json")
    [ "$n" = 3 ] || failed "log key $k in $n of 3 lines"
done

# --log - writes the JSON lines to stdout.
rows=$((rows + 1))
$RECUR train --data $DATA -o "$tmp/so.h5" --hidden 4 --epochs 2 --log - -q >"$tmp/out" 2>"$tmp/err"
[ "$?" = 0 ] && [ "$(grep -c '^{"epoch":' "$tmp/out")" = 2 ] || failed "--log - on stdout"

# The loss of the learnable task falls: the last epoch's mean loss is below half the first's.
rows=$((rows + 1))
$RECUR train --data $DATA -o "$tmp/learn.h5" --hidden 16 --lr 0.02 --epochs 20 \
    --log "$tmp/learn.json" -q >"$tmp/out" 2>"$tmp/err"
got=$?
if [ "$got" != 0 ] || ! awk -F'"loss":' '
    { split($2, a, ","); loss[NR] = a[1] + 0 }
    END { if (NR != 20 || !(loss[NR] < loss[1] / 2)) { print "losses", loss[1], loss[NR]; exit 1 } }
    ' "$tmp/learn.json"; then
    failed "loss did not fall on the learnable task (exit $got)"
fi

# Weights: the same seed gives bit-identical weights (dropout and shuffling on, so every use of
# the generator counts); another seed gives others. Compared through h5dump (9 significant
# digits: every float32 exactly), or h5py.
dump_weights() {
    if command -v h5dump >/dev/null 2>&1; then
        h5dump -m '%.9g' -g /weights "$1" | tail -n +2
    elif /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
        /usr/bin/python3 -c '
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    for k in sorted(f["weights"]):
        print(k, f["weights"][k][()].tobytes().hex())' "$1"
    else
        return 2
    fi
}
rows=$((rows + 1))
args="--data $DATA --hidden 8 --layers 2 --dropout 0.3 --epochs 3 --batch-size 16 -q"
# shellcheck disable=SC2086
$RECUR train $args -o "$tmp/s1.h5" --seed 7 && $RECUR train $args -o "$tmp/s2.h5" --seed 7 &&
    $RECUR train $args -o "$tmp/s3.h5" --seed 8
got=$?
if [ "$got" != 0 ]; then
    failed "determinism runs: exit $got"
elif dump_weights "$tmp/s1.h5" >"$tmp/w1"; then
    dump_weights "$tmp/s2.h5" >"$tmp/w2"
    dump_weights "$tmp/s3.h5" >"$tmp/w3"
    [ -s "$tmp/w1" ] && cmp -s "$tmp/w1" "$tmp/w2" || failed "same seed, different weights"
    cmp -s "$tmp/w1" "$tmp/w3" && failed "different seeds, same weights"
    # The class names of the dataset are in the model.
    if command -v h5dump >/dev/null 2>&1; then
        h5dump -a /config/classes "$tmp/s1.h5" >"$tmp/out" 2>&1
        grep -q '"neg"' "$tmp/out" && grep -q '"pos"' "$tmp/out" || failed "classes not in model"
    fi
else
    echo "cli_train.sh: weight comparison skipped (neither h5dump nor h5py)"
fi

# The live progress line: only when stderr is a terminal (a pseudo-terminal from script(1)),
# never with -q, never into a file.
rows=$((rows + 1))
$RECUR train --data $DATA --hidden 4 --epochs 2 -o "$tmp/prog.h5" 2>"$tmp/err" >/dev/null
grep -q "batches" "$tmp/err" && failed "progress line written to a file"
if command -v script >/dev/null 2>&1; then
    rows=$((rows + 2))
    script -qc "$RECUR train --data $DATA --hidden 4 --epochs 2 -o $tmp/prog.h5" /dev/null \
        >"$tmp/tty" 2>&1
    grep -q "epoch 2/2 \[=*\] 2/2 batches" "$tmp/tty" ||
        failed "no progress line on a terminal ($(tr '\r' '\n' <"$tmp/tty" | head -3))"
    script -qc "$RECUR train --data $DATA --hidden 4 --epochs 2 -q -o $tmp/prog.h5" /dev/null \
        >"$tmp/tty" 2>&1
    grep -q "batches" "$tmp/tty" && failed "progress line with -q"
fi

if [ "$fail" -ne 0 ]; then
    echo "cli_train.sh: $fail of $rows checks failed"
    exit 1
fi
echo "cli_train.sh: all $rows checks passed"
