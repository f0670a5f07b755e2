#!/usr/bin/python3
"""plot_summary.py - one experiment's configurations side by side, from runs.tsv (aggregate.py):
each seed's test value as a dot, and the mean over seeds with one standard deviation.
Classifiers: accuracy, balanced accuracy, AUROC and AUPRC (class 'all'). Forecasters: recur's
MAE over every horizon, with the baselines' MAE as lines, and its skill against persistence and
climatology.

Usage: plot_summary.py --recur RECUR --kind dna|forecast --groups K1,K2|- --runs RUNS.tsv
                       -o OUT.png [--title T]
"""
import argparse
import math
from collections import OrderedDict

import numpy as np

import provenance
import matplotlib.pyplot as plt

DNA_METRICS = ["accuracy", "balanced_accuracy", "auroc", "auprc"]
BASELINES = ["persistence", "climatology", "ridge"]
# The same colours as plot_forecast.py's error-against-horizon figure.
REFERENCE_COLOURS = {"persistence": "0.45", "climatology": "C2", "ridge": "C4", "no skill": "0.4"}


def config_label(row, groups):
    parts = []
    for g in groups:
        v = row[g]
        parts.append(v if g == "cell" else "{}={}".format({"hidden": "H", "layers": "L"}
                                                          .get(g, g), v))
    return " ".join(parts) or "all runs"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recur", required=True)
    ap.add_argument("--kind", choices=["dna", "forecast"], required=True)
    ap.add_argument("--groups", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    groups = [] if a.groups == "-" else a.groups.split(",")

    prov, _, rows = provenance.tsv_dicts(a.runs)
    configs = OrderedDict()
    for r in rows:
        configs.setdefault(config_label(r, groups), None)
    labels = list(configs)

    def values(select, metric):
        """{config label: [value per seed]} of the rows passing select."""
        out = OrderedDict((c, []) for c in labels)
        for r in rows:
            if r["metric"] == metric and select(r):
                v = provenance.number(r["value"])
                if not math.isnan(v):
                    out[config_label(r, groups)].append(v)
        return out

    if a.kind == "dna":
        panels = [(m, values(lambda r: r.get("class") == "all", m), None)
                  for m in DNA_METRICS]
        panels = [p for p in panels if any(p[1].values())]
    else:
        targets = [r["target"] for r in rows if r.get("model") == "recur"]
        target = targets[0] if targets else None

        def sel(model):
            return lambda r: (r.get("model") == model and r.get("horizon") == "all"
                              and r.get("target") == target)

        base = {}
        for b in BASELINES:
            vals = [v for vs in values(sel(b), "mae").values() for v in vs]
            if vals:
                base[b] = float(np.mean(vals))
        panels = [("MAE, {} (all horizons)".format(target), values(sel("recur"), "mae"), base),
                  ("skill against persistence", values(sel("recur"), "skill_persistence"),
                   {"no skill": 0.0}),
                  ("skill against climatology", values(sel("recur"), "skill_climatology"),
                   {"no skill": 0.0})]
        panels = [p for p in panels if any(p[1].values())]
    if not panels:
        raise SystemExit("{}: nothing to plot".format(a.runs))

    # Chance levels of a classifier, from the test set's class supports: the majority class's
    # share for accuracy, 0.5 for balanced accuracy and AUROC, 1 / classes for the macro AUPRC.
    chance = {}
    if a.kind == "dna":
        support = {}
        for r in rows:
            if r["metric"] == "support" and r.get("class") != "all":
                support[r["class"]] = provenance.number(r["value"])
        if support and sum(support.values()) > 0:
            chance = {"accuracy": ("majority class", max(support.values()) / sum(support.values())),
                      "balanced_accuracy": ("chance", 0.5), "auroc": ("chance", 0.5),
                      "auprc": ("chance", 1.0 / len(support))}

    ncols = 2 if len(panels) > 2 else len(panels)
    nrows = (len(panels) + ncols - 1) // ncols
    width = max(3.6, 0.55 * len(labels) + 1.8)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 3.4 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    x = np.arange(len(labels))
    for ax, (metric, vals, refs) in zip(axes.flat, panels):
        means = [np.mean(v) if v else np.nan for v in vals.values()]
        sds = [np.std(v, ddof=1) if len(v) > 1 else 0 for v in vals.values()]
        for i, v in enumerate(vals.values()):
            ax.plot(np.full(len(v), i) + np.linspace(-0.15, 0.15, len(v)) * (len(v) > 1), v,
                    "o", color="C0", alpha=0.45, ms=4, label="one seed" if i == 0 else None)
        ax.errorbar(x, means, yerr=sds, fmt="D", color="C0", ms=6, capsize=6, lw=1.5,
                    label="mean ± sd over seeds")
        ax.set_xlim(-0.6, len(labels) - 0.4)
        for name, level in (refs or {}).items():
            ax.axhline(level, color=REFERENCE_COLOURS.get(name, "0.4"), ls="--", lw=1,
                       label=name)
        if metric in chance:
            ax.axhline(chance[metric][1], color="0.4", ls=":", lw=1, label=chance[metric][0])
        finite = [m for m in means if not math.isnan(m)]
        if a.kind == "dna" and finite:
            lo = min(min(v) for v in vals.values() if v)
            lo = min(lo, chance.get(metric, ("", lo))[1])
            ax.set_ylim(max(0, lo - 0.05), 1.0)
        ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(metric.replace("_", " "), fontsize=10)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=7)
    fig.suptitle("{}: test set, {} configurations".format(a.title, len(labels)), fontsize=10)
    fig.tight_layout()
    provenance.save_png(fig, a.output, a.recur, provenance.source_lines(prov, a.runs))


if __name__ == "__main__":
    main()
