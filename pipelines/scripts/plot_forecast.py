#!/usr/bin/python3
"""plot_forecast.py - a forecaster's test-period figures: forecasts against the observed truth
at the shortest and longest horizon with the persistence forecast (from the HDF5 of
`recur predict`), and MAE and RMSE against horizon for recur and the baselines (from the TSV of
`recur eval`).

Usage: plot_forecast.py --recur RECUR --predictions P.h5 --metrics M.tsv
                        --forecast F.png --horizon H.png [--title T]
P.h5: /forecast and /truth (N, H, targets), /issue_time (N) and /valid_time (N, H) in seconds
since 1970-01-01, /series (N), /series_name, /target. The persistence forecast of an issue time
is the truth observed at that time, i.e. the 1-step truth of the sample whose valid time it is.
"""
import argparse
import datetime
from collections import defaultdict

import h5py
import numpy as np

import provenance
import matplotlib.pyplot as plt


BASELINE_COLOURS = {"persistence": "0.45", "climatology": "C2", "ridge": "C4"}


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def dates(seconds):
    return [datetime.datetime.fromtimestamp(float(s), datetime.timezone.utc)
            for s in np.atleast_1d(seconds)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for k in ("recur", "predictions", "metrics", "forecast", "horizon"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--title", default="")
    a = ap.parse_args()

    with h5py.File(a.predictions, "r") as f:
        fc = np.asarray(f["forecast"][()], dtype=float)
        truth = np.asarray(f["truth"][()], dtype=float)
        issue = np.asarray(f["issue_time"][()], dtype=float)
        valid = np.asarray(f["valid_time"][()], dtype=float)
        series = np.asarray(f["series"][()]) if "series" in f else np.zeros(len(fc), int)
        snames = [text(s) for s in f["series_name"][()]] if "series_name" in f else []
        targets = [text(t) for t in np.atleast_1d(f["target"][()])] if "target" in f else ["y"]
        units = text(f["forecast"].attrs.get("units", "")) if "units" in f["forecast"].attrs \
            else ""
        cmd = text(f.attrs.get("command_line", ""))
        ver = text(f.attrs.get("recur_version", ""))
    if fc.ndim == 2:
        fc, truth = fc[:, :, None], truth[:, :, None]
    N, H, _ = fc.shape
    # The first series and target of a panel; the others are in the file.
    s0 = series == (series[0] if N else 0)
    fc, truth, issue, valid = fc[s0, :, 0], truth[s0, :, 0], issue[s0], valid[s0]
    observed = {t: y for t, y in zip(valid[:, 0], truth[:, 0]) if np.isfinite(y)}
    persistence = np.array([observed.get(t, np.nan) for t in issue])

    horizons = [0] if H == 1 else [0, H - 1]
    fig, axes = plt.subplots(len(horizons), 1, figsize=(11, 3.0 * len(horizons)), sharex=True,
                             squeeze=False)
    for ax, h in zip(axes[:, 0], horizons):
        x = dates(valid[:, h])
        ax.plot(x, truth[:, h], color="black", lw=1.1, label="observed")
        ax.plot(x, persistence, color=BASELINE_COLOURS["persistence"], lw=0.9, ls="--",
                label="persistence")
        ax.plot(x, fc[:, h], color="C3", lw=1.1, label="recur")
        ok = np.isfinite(truth[:, h])
        mae = np.mean(np.abs(fc[ok, h] - truth[ok, h])) if ok.any() else np.nan
        okp = ok & np.isfinite(persistence)
        maep = np.mean(np.abs(persistence[okp] - truth[okp, h])) if okp.any() else np.nan
        ax.set_title("{} ahead: MAE recur {:.3g}, persistence {:.3g}".format(
            "{} step{}".format(h + 1, "s" if h else ""), mae, maep), fontsize=9)
        ax.set_ylabel("{} {}".format(targets[0], "({})".format(units) if units else ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right", ncol=3)
    axes[-1, 0].set_xlabel("valid time")
    where = " series {}".format(snames[0]) if len(snames) > 1 else ""
    fig.suptitle("{}: test-period forecasts of {}{}".format(a.title, targets[0], where),
                 fontsize=10)
    fig.autofmt_xdate()
    fig.tight_layout()
    sources = ["{}: recur {}: {}".format(a.predictions, ver, cmd)]
    provenance.save_png(fig, a.forecast, a.recur, sources)
    plt.close(fig)

    mprov, _, rows = provenance.tsv_dicts(a.metrics)
    err = defaultdict(dict)  # (model, metric) -> {horizon: value}
    target = next((r["target"] for r in rows if r.get("model") == "recur"), None)
    for r in rows:
        if r.get("target") == target and r.get("horizon") != "all":
            for m in ("mae", "rmse"):
                err[(r["model"], m)][int(r["horizon"])] = provenance.number(r[m])
    models = []
    for r in rows:
        if r["model"] not in models:
            models.append(r["model"])
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    for ax, m in zip(axes, ("mae", "rmse")):
        for model in models:
            pts = sorted(err[(model, m)].items())
            if pts:
                hs, vs = zip(*pts)
                if model == "recur":
                    ax.plot(hs, vs, marker="o", ms=5, color="C3", lw=2.2, label=model, zorder=3)
                else:
                    ax.plot(hs, vs, marker=".", ms=5, ls="--", lw=1,
                            color=BASELINE_COLOURS.get(model, "0.5"), label=model)
        ax.set_xlabel("horizon (steps ahead)")
        ax.set_ylabel("{} of {}".format(m.upper(), target))
        ax.set_title(m.upper(), fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle("{}: test-period error against horizon".format(a.title), fontsize=10)
    fig.tight_layout()
    provenance.save_png(fig, a.horizon, a.recur, provenance.source_lines(mprov, a.metrics))
    plt.close(fig)


if __name__ == "__main__":
    main()
