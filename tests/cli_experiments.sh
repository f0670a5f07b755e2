#!/bin/sh
# cli_experiments.sh - the BPTT experiments (pipelines/experiments.smk) end to end with the
# quick configuration (pipelines/config/bptt/quick.yaml) in a scratch directory: every
# experiment leaves its table and figure, the summary has a row for each experiment, the
# results that hold at any size agree with the published ones (truncated gradient with K >= T
# equal to the full one, a masked regulariser exact, the unmasked one leaking, the linear
# reference equal to BPTT), and a second run has nothing to do.
#
# Usage: RECUR=bin/recur sh tests/cli_experiments.sh   (from the top of the source tree)
# Needs Debian's snakemake and python3-matplotlib (make deps). About a minute on 2 cores.
RECUR=${RECUR:-bin/recur}
top=$(pwd)
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
failed() { # message [file to show]
    fail=$((fail + 1))
    echo "cli_experiments.sh: FAILED: $1"
    if [ -n "$2" ] && [ -f "$2" ]; then tail -n 25 "$2" | sed 's/^/    /'; fi
}
case $RECUR in /*) recur_abs=$RECUR ;; *) recur_abs=$top/$RECUR ;; esac
ln -s "$top/data" "$tmp/data"
sm() { # snakemake in the scratch directory: target and options first, then the config
    snakemake -s "$top/Snakefile" --directory "$tmp" --cores 2 "$@" \
        --configfile "$top/pipelines/config/demo.yaml" \
        --config recur="$recur_abs" bptt="$top/pipelines/config/bptt/quick.yaml"
}
R=$tmp/results/experiments-quick
if ! sm results/experiments-quick/summary.tsv >"$tmp/run1.out" 2>&1; then
    failed "snakemake results/experiments-quick/summary.tsv" "$tmp/run1.out"
    echo "cli_experiments.sh: $fail failed"
    exit 1
fi
for e in adding copy vanishing lyapunov truncation clipping padding ode linear; do
    [ -s "$R/$e/$e.tsv" ] || failed "missing $e/$e.tsv"
    [ -s "$R/$e/$e.png" ] || failed "missing $e/$e.png"
    grep -q "^$e	" "$R/summary.tsv" || failed "no summary row for $e"
done
S=$R/summary.tsv
agree() { # experiment, setting pattern: the row must say yes
    awk -F'\t' -v e="$1" -v s="$2" '$1 == e && $2 ~ s {n++; if ($7 != "yes") bad++}
        END {exit !(n > 0 && bad == 0)}' "$S"
}
agree truncation '^K >= T' || failed "truncated gradient with K >= T is not the full one" "$S"
agree padding '^masked' || failed "the masked regulariser changed the gradient" "$S"
agree padding '^unmasked' || failed "the unmasked regulariser did not leak" "$S"
agree linear '^all T$' || failed "the linear reference and BPTT disagree" "$S"
# the adding table: one row per cell, T and seed, MSE finite and non-negative
n=$(awk -F'\t' '!/^#/ && $1 != "T" && $4 >= 0' "$R/adding/adding.tsv" | wc -l)
[ "$n" -eq 6 ] || failed "adding.tsv has $n rows, not 3 cells x 2 T x 1 seed" "$R/adding/adding.tsv"
if ! sm -n results/experiments-quick/summary.tsv >"$tmp/run2.out" 2>&1 || ! grep -q "Nothing to be done" "$tmp/run2.out"; then
    failed "a second run has something to do" "$tmp/run2.out"
fi
[ $fail -eq 0 ] && echo "cli_experiments.sh: all checks passed"
exit $fail
