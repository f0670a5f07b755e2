#!/bin/sh
# Runs every Check suite in $O/tests and the CLI table; exits non-zero if anything fails.
# O (build tree) and RECUR (the binary) come from the Makefile.
O=${O:-build}
RECUR=${RECUR:-bin/recur}
export RECUR
fail=0
for t in "$O"/tests/check_* "$O"/tests/dcheck_*; do
    [ -x "$t" ] || continue
    echo "== $(basename "$t")"
    if ! "$t"; then
        echo "FAILED: $t"
        fail=1
    fi
done
for t in tests/cli_*.sh tests/py_*.sh; do
    [ -f "$t" ] || continue
    echo "== $(basename "$t")"
    if ! sh "$t"; then
        echo "FAILED: $t"
        fail=1
    fi
done
[ $fail -eq 0 ] && echo "all tests passed" || echo "some tests FAILED"
exit $fail
