#!/usr/bin/python3
"""make_dataset_fixture.py - encoded-dataset fixtures written the way a numpy user writes them,
with h5py's default types, so that the tests prove such files load (include/recur/dataset.h).

Usage: /usr/bin/python3 tests/reference/make_dataset_fixture.py [OUTDIR]  (default tests/fixtures)
Needs h5py and numpy only. Deterministic (numpy seed 1). Writes:

train_small.h5 - a learnable classification task for tests/cli_train.sh: 64 records of 4..12
    steps (right padding), 2 features U(-1, 1); label 1 ("pos") when the sum of feature 0 over
    the record's valid steps is > 0, else 0 ("neg"). float32 x, uint8 mask, int32 labels (N),
    names "r00".."r63", classes ["neg", "pos"].

numpy_step.h5 - classify, per-step labels, N 5, T 6, F 3, num_outputs 3, in numpy's default
    dtypes: float64 x, bool mask, int64 labels (N, T), variable-length str names and classes.
    x[n, t, f] = n + t/8 + f/64 at valid steps (exact in float32), NaN at masked steps;
    lengths 6, 3, 1, 4, 5 and a gap (mask False) at record 4, step 1; labels (n + t) % 3 at
    valid steps, -1 elsewhere; names "seq<n>", classes "a", "b", "c".

numpy_regress.h5 - regress, per-record targets, N 4, T 3, F 2, num_outputs 2: float32 x
    = n - t/4 + f/2 (every step valid, mask int64 ones), float64 targets n/2 + k with target
    (2, 1) NaN and absent (target_mask bool False there), fixed-length byte-string names
    "a".."d", format as a fixed-length byte string, num_outputs as int32, task "forecast".

The C side (tests/check_dataset.c) recomputes these formulas; it does not trust the file.
"""
import os
import sys

import h5py
import numpy as np


def train_small(path):
    rng = np.random.default_rng(1)
    N, T, F = 64, 12, 2
    lengths = rng.integers(4, T + 1, size=N)
    x = rng.uniform(-1, 1, size=(N, T, F)).astype(np.float32)
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(np.uint8)
    x[mask == 0] = 0
    s = (x[:, :, 0] * mask).sum(axis=1)
    labels = (s > 0).astype(np.int32)
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "recur-dataset"
        f.attrs["format_version"] = 1
        f.attrs["task"] = "classify"
        f.attrs["num_outputs"] = 2
        f["x"] = x
        f["mask"] = mask
        f["labels"] = labels
        f["names"] = np.array(["r%02d" % i for i in range(N)], dtype=h5py.string_dtype())
        f["classes"] = np.array(["neg", "pos"], dtype=h5py.string_dtype())
    return labels


def numpy_step(path):
    N, T, F = 5, 6, 3
    lengths = [6, 3, 1, 4, 5]
    mask = np.zeros((N, T), dtype=bool)
    for n, L in enumerate(lengths):
        mask[n, :L] = True
    mask[4, 1] = False
    n, t, f = np.meshgrid(np.arange(N), np.arange(T), np.arange(F), indexing="ij")
    x = (n + t / 8 + f / 64).astype(np.float64)
    x[~mask] = np.nan
    labels = ((np.arange(N)[:, None] + np.arange(T)[None, :]) % 3).astype(np.int64)
    labels[~mask] = -1
    with h5py.File(path, "w") as fh:
        fh.attrs["format"] = "recur-dataset"
        fh.attrs["format_version"] = 1
        fh.attrs["task"] = "classify"
        fh.attrs["num_outputs"] = 3
        fh["x"] = x
        fh["mask"] = mask
        fh["labels"] = labels
        fh["names"] = np.array(["seq%d" % i for i in range(N)], dtype=h5py.string_dtype())
        fh["classes"] = np.array(["a", "b", "c"], dtype=h5py.string_dtype())


def numpy_regress(path):
    N, T, F, O = 4, 3, 2, 2
    n, t, f = np.meshgrid(np.arange(N), np.arange(T), np.arange(F), indexing="ij")
    x = (n - t / 4 + f / 2).astype(np.float32)
    mask = np.ones((N, T), dtype=np.int64)
    targets = (np.arange(N)[:, None] / 2 + np.arange(O)[None, :]).astype(np.float64)
    target_mask = np.ones((N, O), dtype=bool)
    targets[2, 1] = np.nan
    target_mask[2, 1] = False
    with h5py.File(path, "w") as fh:
        fh.attrs["format"] = np.bytes_(b"recur-dataset")
        fh.attrs["format_version"] = 1
        fh.attrs["task"] = "forecast"
        fh.attrs["num_outputs"] = np.int32(O)
        fh["x"] = x
        fh["mask"] = mask
        fh["targets"] = targets
        fh["target_mask"] = target_mask
        fh["names"] = np.array([b"a", b"b", b"c", b"d"])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    os.makedirs(out, exist_ok=True)
    labels = train_small(os.path.join(out, "train_small.h5"))
    # A task worth learning: both classes well represented.
    assert 0.3 < labels.mean() < 0.7, labels.mean()
    numpy_step(os.path.join(out, "numpy_step.h5"))
    numpy_regress(os.path.join(out, "numpy_regress.h5"))
    with h5py.File(os.path.join(out, "numpy_step.h5"), "r") as fh:
        assert fh["mask"].dtype == bool and fh["x"].dtype == np.float64
    print("wrote train_small.h5, numpy_step.h5, numpy_regress.h5 in", out)


if __name__ == "__main__":
    main()
