#!/bin/sh
# cli_table.sh - table-driven tests of the recur command line: each row runs one command and
# checks its exit status and a fixed substring of its stdout or stderr; a few checks follow
# that a row cannot express (the bench TSV row, a failed write to stdout).
#
# Usage: RECUR=bin/recur sh tests/cli_table.sh   (from the top of the source tree)
#
# Decision documented here and in `recur gradcheck --help`: a bad option value such as
# `--hidden 0` is a usage error (exit 2, one line on stderr naming the option), like an unknown
# option; exit 1 is kept for bad input data, I/O errors and failed gradient checks.
RECUR=${RECUR:-bin/recur}
VERSION=$(sed -n 's/^#define RECUR_VERSION "\(.*\)"$/\1/p' include/recur/common.h)
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
rows=0

if [ ! -x "$RECUR" ]; then
    echo "cli_table.sh: $RECUR is not an executable (run make first)"
    exit 1
fi

# Rows: expected exit | stream | fixed substring | arguments (split on blanks, no quoting).
# stream: out = stdout, err = stderr, err1 = stderr holding exactly one line.
# @VERSION@ in a substring stands for RECUR_VERSION of include/recur/common.h.
while IFS='|' read -r want stream pat args; do
    case $want in '' | \#*) continue ;; esac
    rows=$((rows + 1))
    case $pat in *@VERSION@*) pat=$(printf '%s' "$pat" | sed "s/@VERSION@/$VERSION/") ;; esac
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
    fi
    if [ -n "$why" ]; then
        fail=$((fail + 1))
        echo "FAIL row $rows: recur $args: $why"
        sed 's/^/    stdout: /' "$tmp/out" | head -5
        sed 's/^/    stderr: /' "$tmp/err" | head -5
    fi
done <<'EOF'
# top level
0|out|Usage: recur <command>|--help
0|out|gradcheck|--help
0|out|bench|--help
0|out|Exit status: 0 ok, 1 bad input or I/O error, 2 usage error|--help
2|err|Usage: recur <command>|
0|out|recur @VERSION@|--version
0|out|htslib|--version
0|out|HDF5|--version
0|out|GSL|--version
2|err1|recur: unknown command 'frobnicate'|frobnicate
2|err1|recur: unknown option '--frobnicate'|--frobnicate
0|out|Usage: recur <command>|help
2|err1|recur: unknown command 'frobnicate'|help frobnicate
# help CMD is CMD --help
0|out|Usage: recur gradcheck|help gradcheck
0|out|The strict check (double precision|help gradcheck
0|out|Usage: recur gradcheck|gradcheck --help
0|out|Usage: recur bench|help bench
0|out|Usage: recur bench|bench -h
# gradcheck usage errors: one line, exit 2
2|err1|recur gradcheck: unknown option '--frobnicate'|gradcheck --frobnicate
2|err1|recur gradcheck: unknown option '-z'|gradcheck -z
2|err1|recur gradcheck: option '--hidden' needs an argument|gradcheck --hidden
2|err1|recur gradcheck: option '-T' needs an argument|gradcheck -T
2|err1|recur gradcheck: option '--bidirectional=yes' takes no argument|gradcheck --bidirectional=yes
2|err1|recur gradcheck: --hidden: expected an integer in 1..65536, got '0'|gradcheck --hidden 0
2|err1|recur gradcheck: --hidden: expected an integer|gradcheck --hidden 8x
2|err1|recur gradcheck: --hidden: expected an integer|gradcheck --hidden -3
2|err1|recur gradcheck: --layers: expected an integer in 1..64|gradcheck --layers 65
2|err1|recur gradcheck: --cell: expected rnn, lstm or gru, got 'transformer'|gradcheck --cell transformer
2|err1|recur gradcheck: --head: expected seq or step|gradcheck --head all
2|err1|recur gradcheck: --pool: expected last, mean or max|gradcheck --pool sum
2|err1|recur gradcheck: --task: expected classify, multilabel or regress|gradcheck --task rank
2|err1|recur gradcheck: -T: expected an integer|gradcheck -T x
2|err1|recur gradcheck: -B: expected an integer in 1..|gradcheck -B 0
2|err1|recur gradcheck: --eps: expected a number|gradcheck --eps nan
2|err1|recur gradcheck: --rtol: expected a number|gradcheck --rtol -1
2|err1|recur gradcheck: --seed: expected an integer|gradcheck --seed x
2|err1|recur gradcheck: unexpected argument 'extra'|gradcheck extra
2|err1|recur gradcheck: invalid model configuration: classification needs at least 2 classes|gradcheck --outputs 1
# gradcheck passes on each cell (float build, default tolerances) ...
0|out|max_abs_err|gradcheck --cell rnn
0|out|max_abs_err|gradcheck --cell lstm
0|out|max_abs_err|gradcheck --cell gru
0|out|max_abs_err|gradcheck --cell rnn --bidirectional --layers 2 --head step --task regress --gaps
0|out|max_abs_err|gradcheck --cell lstm --task multilabel --pool mean --orthogonal --forget-bias 1
0|out|max_abs_err|gradcheck --cell gru --bidirectional --tbptt 3 --gaps -T 9 -B 3 --no-input
0|out|max_abs_err|gradcheck --cell lstm --layers 2 --tbptt 4 --head step --seed 7
# ... and exits 1 when gradients cannot agree (zero tolerance against float finite differences)
1|err|gradients differ from finite differences|gradcheck --rtol 0 --atol 0
# bench
0|out|median_ms|bench --hidden 8 -T 10 -B 4 --steps 2 --warmup 1
0|out|median_ms|bench --cell gru --hidden 8 -T 10 -B 4 --steps 2 --warmup 0 --tbptt 3 --head step --task regress --optimizer sgd
2|err1|recur bench: -@: expected an integer in 1..1024, got '0'|bench -@ 0
2|err1|recur bench: --steps: expected an integer in 1..|bench --steps 0
2|err1|recur bench: --optimizer: expected sgd, adam or adamw, got 'lbfgs'|bench --optimizer lbfgs
2|err1|recur bench: unknown option '--frobnicate'|bench --frobnicate
EOF

# bench: one header and one data row of the same width after the `#` provenance line, with a
# positive median_ms and the requested T and B.
rows=$((rows + 1))
$RECUR bench --cell rnn --hidden 8 -T 12 -B 3 --steps 3 --warmup 1 </dev/null >"$tmp/out" 2>"$tmp/err"
if ! awk -F '\t' '
    /^#/ { next }
    n == 0 { for (i = 1; i <= NF; i++) col[$i] = i; width = NF; n++; next }
    { n++; if (NF != width) bad = "row width " NF " != header width " width
      if (!($col["median_ms"] > 0)) bad = "median_ms not positive"
      if ($col["T"] != 12 || $col["B"] != 3 || $col["cell"] != "rnn") bad = "config columns" }
    END { if (n != 2) bad = "expected 2 lines, got " n; if (bad != "") { print bad; exit 1 } }
    ' "$tmp/out"; then
    fail=$((fail + 1))
    echo "FAIL bench TSV check"
    sed 's/^/    /' "$tmp/out" "$tmp/err"
fi

# A failed write to stdout is an error (exit 1), caught by the final fclose(stdout).
if [ -w /dev/full ]; then
    rows=$((rows + 1))
    $RECUR --help >/dev/full 2>"$tmp/err"
    got=$?
    if [ "$got" != 1 ] || ! grep -qF "error writing standard output" "$tmp/err"; then
        fail=$((fail + 1))
        echo "FAIL recur --help >/dev/full: exit $got"
        sed 's/^/    stderr: /' "$tmp/err"
    fi
fi

if [ "$fail" -ne 0 ]; then
    echo "cli_table.sh: $fail of $rows checks failed"
    exit 1
fi
echo "cli_table.sh: all $rows checks passed"
