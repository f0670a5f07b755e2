#!/bin/sh
# cli_contract.sh - the one command-line contract of every command that reads data (train,
# eval, predict, encode, diagnose): the same inputs (raw DNA, --data, --h5), and every option
# that restates what the model or the data fix accepted when it agrees and refused with exit 2
# and one line naming both values when it conflicts; outputs complete or absent.
#
# Usage: RECUR=bin/recur sh tests/cli_contract.sh   (from the top of the source tree)
RECUR=${RECUR:-bin/recur}
SEA=data/weather/seattle.h5
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
rows=0

if [ ! -x "$RECUR" ]; then
    echo "cli_contract.sh: $RECUR is not an executable (run make first)"
    exit 1
fi

# Small inputs and the models every row uses: a DNA classifier (unidirectional GRU, 6 units,
# mean pooling), its encoded dataset, and a forecaster of daily maximum temperature.
awk '/^>/ {n++} n <= 12' data/cpdna/test_coding.fa >"$tmp/a.fa"
awk '/^>/ {n++} n <= 12' data/cpdna/test_noncoding.fa >"$tmp/b.fa"
A="--fasta $tmp/a.fa:coding --fasta $tmp/b.fa:noncoding"
# shellcheck disable=SC2086
if ! $RECUR train $A --cell gru --hidden 6 --unidirectional --pool mean --epochs 1 -q \
    -o "$tmp/dna.h5" ||
    ! $RECUR encode -m "$tmp/dna.h5" $A -q -o "$tmp/d.h5" ||
    ! $RECUR train --h5 $SEA --vars tmax,tmin --target tmax --window 5 --horizon 2 \
        --calendar doy --cell lstm --hidden 4 --epochs 1 -q -o "$tmp/fc.h5"; then
    echo "cli_contract.sh: FAILED: cannot make the models"
    exit 1
fi

# Rows: expected exit | fixed substring of stderr (empty: anything) | arguments (split on
# blanks). A row with exit 2 expects exactly one line on stderr.
rowfile=$tmp/rows
: >"$rowfile"
row() { printf '%s|%s|%s\n' "$1" "$2" "$3" >>"$rowfile"; }

# The commands, each on each kind of data it reads.
DIAG="--max-lag 2 --lyapunov-k 1 --max-seqs 2 --tbptt 2 --batch-size 4 -o $tmp/out.tsv"
dna_cmds="eval -m $tmp/dna.h5 $A -o $tmp/out.tsv
eval -m $tmp/dna.h5 --data $tmp/d.h5 -o $tmp/out.tsv
predict -m $tmp/dna.h5 $A -o $tmp/out.tsv
predict -m $tmp/dna.h5 --data $tmp/d.h5 -o $tmp/out.tsv
encode -m $tmp/dna.h5 $A -o $tmp/e.h5
diagnose -m $tmp/dna.h5 $A $DIAG
diagnose -m $tmp/dna.h5 --data $tmp/d.h5 $DIAG
train --init $tmp/dna.h5 $A --epochs 1 -q -o $tmp/t.h5
train --init $tmp/dna.h5 --data $tmp/d.h5 --epochs 1 -q -o $tmp/t.h5"
fc_cmds="eval -m $tmp/fc.h5 --h5 $SEA -o $tmp/out.tsv
predict -m $tmp/fc.h5 --h5 $SEA -o $tmp/p.h5
encode -m $tmp/fc.h5 --h5 $SEA -o $tmp/e.h5
diagnose -m $tmp/fc.h5 --h5 $SEA $DIAG
train --init $tmp/fc.h5 --h5 $SEA --epochs 1 -q -o $tmp/t.h5"

# Every restated option that agrees, all at once: accepted.
DNA_AGREE="--cell gru --hidden 6 --layers 1 --input 4 --outputs 2 --head seq --pool mean"
DNA_AGREE="$DNA_AGREE --task classify --unidirectional"
FC_AGREE="--vars tmax,tmin --target tmax --window 5 --horizon 2 --stride 1 --calendar doy"
FC_AGREE="$FC_AGREE --val-fraction 0.15 --test-fraction 0.15 --cell lstm --hidden 4 --head seq"
FC_AGREE="$FC_AGREE --task regress --outputs 2 --input 4"
# Each conflicting one alone: option value | the line's tail.
DNA_CONFLICT="--cell lstm|--cell lstm conflicts with the model's cell gru
--hidden 4|--hidden 4 conflicts with the model's hidden 6
--layers 2|--layers 2 conflicts with the model's layers 1
--bidirectional|--bidirectional conflicts with the model's unidirectional layers
--input 5|--input 5 conflicts with the model's input 4
--outputs 3|--outputs 3 conflicts with the model's outputs 2
--head step|--head step conflicts with the model's head seq
--pool max|--pool max conflicts with the model's pool mean
--task multilabel|--task multilabel conflicts with the model's task classify"
FC_CONFLICT="--window 3|--window 3 conflicts with the model's window 5
--horizon 1|--horizon 1 conflicts with the model's horizon 2
--stride 2|--stride 2 conflicts with the model's stride 1
--target tmin|--target tmin conflicts with the model's target tmax
--vars tmax|--vars tmax conflicts with the model's vars tmax,tmin
--calendar none|--calendar none conflicts with the model's calendar doy
--val-fraction 0.2|--val-fraction 0.2 conflicts with the model's val-fraction 0.15
--test-fraction 0.1|--test-fraction 0.1 conflicts with the model's test-fraction 0.15
--missing-indicators|--missing-indicators conflicts with the model's encoding
--hidden 8|--hidden 8 conflicts with the model's hidden 4
--bidirectional|--bidirectional conflicts with the model's unidirectional layers
--cell gru|--cell gru conflicts with the model's cell lstm
--head step|--head step conflicts with the model's head seq"

table() { # commands, agreeing options, conflicts
    printf '%s\n' "$1" | while read -r c; do
        name=${c%% *}
        row 0 "" "$c $2"
        printf '%s\n' "$3" | while IFS='|' read -r opt msg; do
            row 2 "recur $name: $msg" "$c $opt"
        done
    done
}
table "$dna_cmds" "$DNA_AGREE" "$DNA_CONFLICT"
table "$fc_cmds" "$FC_AGREE" "$FC_CONFLICT"

# Options that act at initialisation only do nothing with a trained model.
for c in "eval -m $tmp/dna.h5 $A" "predict -m $tmp/fc.h5 --h5 $SEA -o $tmp/p.h5"; do
    row 2 "--orthogonal: acts when weights are initialised" "$c --orthogonal"
    row 2 "--forget-bias: acts when weights are initialised" "$c --forget-bias 1"
done
# train from the data alone: what the data fix is restated (recur train --fasta ... --head seq).
row 0 "" "train $A --head seq --task classify --input 4 --outputs 2 --epochs 1 -q -o $tmp/t.h5"
row 2 "recur train: --head step conflicts with the data's head seq" "train $A --head step -o $tmp/t.h5"
row 2 "recur train: --input 5 conflicts with the data's input 4" "train $A --input 5 -o $tmp/t.h5"
row 2 "recur train: --outputs 3 conflicts with the data's outputs 2" "train $A --outputs 3 -o $tmp/t.h5"
row 2 "recur train: --task regress conflicts with the data's task classify" \
    "train --data $tmp/d.h5 --task regress -o $tmp/t.h5"
row 0 "" "train --h5 $SEA --vars tmax --head seq --task regress --input 1 --epochs 1 -q -o $tmp/t.h5"
row 2 "recur train: --outputs 5 conflicts with the data's outputs 1" \
    "train --h5 $SEA --vars tmax --horizon 1 --outputs 5 -o $tmp/t.h5"
# Architecture options without a model restate nothing; options for the other kind of data.
row 2 "recur eval: option '--window' needs --h5" "eval -m $tmp/dna.h5 $A --window 3"
row 2 "recur predict: option '--revcomp-average' does not apply to predict with --h5" \
    "predict -m $tmp/fc.h5 --h5 $SEA -o $tmp/p.h5 --revcomp-average"
row 2 "recur encode: option '--hidden' restates the model's architecture: it needs -m MODEL" \
    "encode $A --hidden 4 -o $tmp/e.h5"
row 2 "recur diagnose: --h5 and DNA inputs or --data exclude each other" \
    "diagnose -m $tmp/fc.h5 --h5 $SEA --data $tmp/d.h5"
row 2 "recur diagnose: -m MODEL with data" "diagnose -m $tmp/dna.h5"

while IFS='|' read -r want pat args; do
    rows=$((rows + 1))
    set -f
    # shellcheck disable=SC2086 # word splitting of args is intended
    $RECUR $args </dev/null >"$tmp/stdout" 2>"$tmp/err"
    got=$?
    set +f
    why=""
    if [ "$got" != "$want" ]; then
        why="exit $got, expected $want"
    elif [ -n "$pat" ] && ! grep -qF -- "$pat" "$tmp/err"; then
        why="stderr lacks '$pat'"
    elif [ "$want" = 2 ] && [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
        why="stderr has $(wc -l <"$tmp/err") lines, expected 1"
    fi
    if [ -n "$why" ]; then
        fail=$((fail + 1))
        echo "FAIL row $rows: recur $args: $why"
        sed 's/^/    stderr: /' "$tmp/err" | head -3
    fi
done <"$rowfile"

# diagnose reads raw DNA and series as every other command does.
checks=0
check() {
    checks=$((checks + 1))
    if ! eval "$2"; then
        fail=$((fail + 1))
        echo "FAIL $1"
    fi
}
# shellcheck disable=SC2086
$RECUR diagnose -m "$tmp/dna.h5" $A --max-lag 3 --tbptt 2 -o "$tmp/dd.tsv" 2>/dev/null
check "diagnose --fasta: grad_norm and lyapunov rows" \
    'grep -q "^grad_norm	0	forward	0	" "$tmp/dd.tsv" && grep -q "^lyapunov	" "$tmp/dd.tsv"'
$RECUR diagnose -m "$tmp/fc.h5" --h5 $SEA --split val --max-lag 3 --tbptt 2 -o "$tmp/dh.tsv" 2>/dev/null
check "diagnose --h5: 5 steps of grad_norm (the window)" \
    '[ "$(grep -c "^grad_norm	" "$tmp/dh.tsv")" -eq 5 ]'
$RECUR encode -m "$tmp/dna.h5" $A -q -o "$tmp/d2.h5" 2>/dev/null
$RECUR diagnose -m "$tmp/dna.h5" --data "$tmp/d2.h5" --max-lag 3 --tbptt 2 -o "$tmp/dd2.tsv" 2>/dev/null
check "diagnose --fasta equals diagnose --data of the same records" \
    '[ "$(grep -v "^#" "$tmp/dd.tsv")" = "$(grep -v "^#" "$tmp/dd2.tsv")" ]'

# Outputs are complete or absent: a failed command leaves an existing -o file as it was, and no
# command leaves a temporary behind.
for c in "eval -m $tmp/dna.h5 $A" "predict -m $tmp/dna.h5 $A" "eval -m $tmp/fc.h5 --h5 $SEA" \
    "predict -m $tmp/fc.h5 --h5 $SEA --tsv" "diagnose -m $tmp/dna.h5 $A"; do
    echo keep >"$tmp/keep.tsv"
    # shellcheck disable=SC2086
    $RECUR $c --hidden 99 -o "$tmp/keep.tsv" 2>/dev/null
    check "recur $c: a refused run keeps -o" '[ "$(cat "$tmp/keep.tsv")" = keep ]'
    # shellcheck disable=SC2086
    $RECUR $c -q -o "$tmp/keep.tsv" 2>/dev/null
    check "recur $c: -o replaced whole" '[ "$(head -c 8 "$tmp/keep.tsv")" = "# recur " ]'
done
echo keep >"$tmp/keep.tsv"
$RECUR eval -m "$tmp/dna.h5" --fasta "$tmp/a.fa:nosuchclass" -o "$tmp/keep.tsv" 2>/dev/null
check "a failed eval keeps -o" '[ "$(cat "$tmp/keep.tsv")" = keep ]'
check "no temporary left behind" '! ls "$tmp"/*.tmp.* >/dev/null 2>&1'

if [ $fail -eq 0 ]; then
    echo "cli_contract.sh: all $rows rows and $checks checks passed"
else
    echo "cli_contract.sh: $rows rows, $checks checks, $fail failed"
    exit 1
fi
