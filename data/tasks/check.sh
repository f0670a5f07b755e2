#!/bin/sh
# check.sh - checks that every task of data/tasks/tasks.tsv loads: trains one epoch on its
# training and validation options and scores the model on its test options, as a suite runner
# would (`recur train TRAIN VAL -o M`, `recur eval -m M TEST`). Not a benchmark: one epoch.
#
# Usage: sh data/tasks/check.sh [RECUR [TASK...]]   (default bin/recur, every task; after
#        `make tasks` and `make`, from the top of the tree)
# Prints per task: name, kind, test records (DNA: n; forecasts: samples), the headline test
# metric of the one-epoch model (accuracy; MAE of recur at horizon 'all') and the seconds taken.
set -eu
RECUR=${1:-bin/recur}
[ $# -gt 0 ] && shift
M=$(mktemp -d)
trap 'rm -rf "$M"' EXIT
TSV=data/tasks/tasks.tsv
fail=0
printf 'task\tkind\ttest_n\tmetric\tvalue\tseconds\n'
n=$(awk 'END { print NR }' "$TSV")
i=2
while [ "$i" -le "$n" ]; do
    field() { awk -F'\t' -v r="$i" -v c="$1" 'NR == r { print $c }' "$TSV"; }
    name=$(field 1) kind=$(field 2) train=$(field 3) val=$(field 4) test=$(field 5)
    i=$((i + 1))
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    t0=$(date +%s)
    # shellcheck disable=SC2086
    if ! "$RECUR" train $train $val --epochs 1 -q -o "$M/$name.h5" 2>"$M/err" ||
        ! "$RECUR" eval -m "$M/$name.h5" $test -q -o "$M/$name.tsv" 2>>"$M/err"; then
        printf '%s\t%s\tFAILED: %s\n' "$name" "$kind" "$(tail -n 1 "$M/err")"
        fail=1
        continue
    fi
    t1=$(date +%s)
    if [ "$kind" = dna ]; then
        awk -F'\t' -v t="$name" -v s=$((t1 - t0)) '
            $1 == "n" && $2 == "all" { n = $3 } $1 == "accuracy" && $2 == "all" { a = $3 }
            END { printf "%s\tdna\t%s\taccuracy\t%.4f\t%d\n", t, n, a, s }' "$M/$name.tsv"
    else
        awk -F'\t' -v t="$name" -v s=$((t1 - t0)) '
            /^# model .*samples/ { sub(/ samples.*/, ""); sub(/.* /, ""); n = $0 }
            $1 == "recur" && $3 == "all" { m = $4 }
            END { printf "%s\tforecast\t%s\tmae\t%s\t%d\n", t, n, m, s }' "$M/$name.tsv"
    fi
done
exit $fail
