#!/usr/bin/python3
"""data_summary.py - what an experiment's data hold, as a long TSV for the report.

DNA (datasets written by `recur encode`): per split and class, the records and their lengths.
    data_summary.py --recur RECUR --dataset train=TRAIN.h5 --dataset test=TEST.h5 -o OUT.tsv
Series (an HDF5 / netCDF-4 file as `recur train --h5` reads it): per variable, the steps, the
missing values and the mean, sd, minimum and maximum in physical units (CF scale_factor,
add_offset, _FillValue and missing_value applied).
    data_summary.py --recur RECUR --series FILE (--vars A,B | --dataset PATH) [--target T]
                    -o OUT.tsv
"""
import argparse

import h5py
import numpy as np

import provenance


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def fmt(v):
    return "{:.6g}".format(v) if np.isfinite(v) else "nan"


def dna_rows(specs):
    rows = []
    for spec in specs:
        split, _, path = spec.partition("=")
        with h5py.File(path, "r") as f:
            lengths = np.asarray(f["mask"][:]).sum(axis=1)
            classes = [text(c) for c in f["classes"][:]] if "classes" in f else []
            if "labels" in f and f["labels"].ndim == 1:
                labels = np.asarray(f["labels"][:])
                groups = [(c, labels == k) for k, c in enumerate(classes)]
            elif "targets" in f:
                t = np.asarray(f["targets"][:]) > 0.5
                groups = [(c, t[:, k]) for k, c in enumerate(classes)]
            else:
                groups = []
        for name, sel in [("all", np.ones(len(lengths), bool))] + groups:
            ls = lengths[sel]
            rows.append([split, name, int(sel.sum()),
                         int(ls.min()) if len(ls) else "nan",
                         fmt(ls.mean()) if len(ls) else "nan",
                         int(ls.max()) if len(ls) else "nan"])
    return ["split", "class", "records", "min_length", "mean_length", "max_length"], rows


def physical(ds):
    """A CF variable's values as float64 with missing values as NaN."""
    x = np.asarray(ds[()], dtype=np.float64)
    for key in ("_FillValue", "missing_value"):
        if key in ds.attrs:
            for v in np.atleast_1d(ds.attrs[key]):
                x[x == float(v)] = np.nan
    if "scale_factor" in ds.attrs:
        x = x * float(np.atleast_1d(ds.attrs["scale_factor"])[0])
    if "add_offset" in ds.attrs:
        x = x + float(np.atleast_1d(ds.attrs["add_offset"])[0])
    return x


def series_rows(path, names, dataset, inputs, targets):
    rows = []
    with h5py.File(path, "r") as f:
        if dataset:
            x = np.asarray(f[dataset][()], dtype=np.float64)
            x = x.reshape(x.shape[0], -1)
            cols = f[dataset].attrs.get("columns", f[dataset].attrs.get("features"))
            cols = ([text(c) for c in cols] if cols is not None
                    else ["c{}".format(j) for j in range(x.shape[1])])
            variables = [(c, x[:, j], "") for j, c in enumerate(cols)]
        else:
            variables = [(n, physical(f[n]), text(f[n].attrs.get("units", ""))) for n in names]
    for name, x, units in variables:
        ok = x[np.isfinite(x)]
        role = ",".join(r for r, on in (("input", name in inputs or dataset),
                                         ("target", name in targets)) if on)
        rows.append([name, role, units or "-", x.size,
                     int(x.size - ok.size)] +
                    ([fmt(ok.mean()), fmt(ok.std()), fmt(ok.min()), fmt(ok.max())]
                     if ok.size else ["nan"] * 4))
    return ["variable", "role", "units", "values", "missing", "mean", "sd", "min", "max"], rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recur", required=True)
    ap.add_argument("--dataset", action="append", default=[])
    ap.add_argument("--series")
    ap.add_argument("--vars", default="")
    ap.add_argument("--target", default="")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    if a.series:
        dataset = a.dataset[0] if a.dataset else None
        targets = [t for t in a.target.split(",") if t]
        inputs = [v for v in a.vars.split(",") if v]
        names = inputs + [t for t in targets if t not in inputs]
        header, rows = series_rows(a.series, names, dataset, inputs, targets)
        note = "series {}".format(a.series)
    else:
        header, rows = dna_rows(a.dataset)
        note = "encoded datasets {}".format(", ".join(a.dataset))
    provenance.write_tsv(a.output, a.recur, header, rows, [note])


if __name__ == "__main__":
    main()
