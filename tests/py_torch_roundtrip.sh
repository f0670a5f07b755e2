#!/bin/sh
# Model files both ways with PyTorch: check_reference (RECUR_ROUNDTRIP_DIR set) saves models
# with recur_model_save plus their inputs and recur's logits, and check_torch_load.py loads each
# into DESIGN.md's Net and compares; the PyTorch-written fixture is checked the same way.
# Skipped (exit 0) when /usr/bin/python3 (or $PYTHON) cannot import torch and h5py.
O=${O:-build}
PY=${PYTHON:-/usr/bin/python3}
here=$(dirname "$0")
fixtures=${RECUR_FIXTURES:-$here/fixtures}
if ! "$PY" -c 'import torch, h5py' >/dev/null 2>&1; then
    echo "skipped: no torch"
    exit 0
fi
bin="$O/tests/check_reference"
if [ ! -x "$bin" ]; then
    echo "py_torch_roundtrip: $bin is not built (make check-build)" >&2
    exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/recur_roundtrip.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
fail=0
"$PY" "$here/reference/check_torch_load.py" "$fixtures/ref_torch_model.h5" \
    "$fixtures/ref_torch_model_io.h5" || fail=1
if ! RECUR_ROUNDTRIP_DIR="$dir" CK_RUN_CASE=model "$bin"; then
    echo "py_torch_roundtrip: $bin failed writing the models" >&2
    exit 1
fi
n=0
for io in "$dir"/model_*_io.h5; do
    [ -f "$io" ] || continue
    "$PY" "$here/reference/check_torch_load.py" "${io%_io.h5}.h5" "$io" || fail=1
    n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
    echo "py_torch_roundtrip: no model written in $dir" >&2
    exit 1
fi
exit $fail
