#!/usr/bin/python3
"""exp_euler.py - an RNN as forward Euler: stability of the forward and backward passes against
the step size dt, from the long-format TSV of `recur diagnose euler` (kind, layer = model,
direction, index = dt, value). Three panels against dt (log axis): the largest Lyapunov
exponent per unit time (forward), log ||dL/dh_0|| / ||dL/dh_T|| per unit time (backward), each
beside the linear-stability prediction log max_i |1 + dt lambda_i| / dt at h = 0 (dashed), and
the final state norm.

Usage: /usr/bin/python3 exp_euler.py IN.tsv OUT.png
"""
import csv
import math
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {"ctrnn": "CT-RNN  -h + tanh(Wh + Ux)",
          "antisym0": "antisymmetric, gamma = 0",
          "antisym": "antisymmetric, gamma > 0"}


def read(path):
    """(comment lines, kind -> model -> sorted [(dt, value)]) with non-finite values as NaN."""
    comments, rows = [], []
    with open(path) as fp:
        for line in fp:
            if line.startswith("#"):
                comments.append(line[1:].strip())
            elif line.strip():
                rows.append(line)
    data = defaultdict(lambda: defaultdict(list))
    for r in csv.DictReader(rows, delimiter="\t"):
        v = float(r["value"])
        data[r["kind"]][r["layer"]].append((float(r["index"]), v if math.isfinite(v) else math.nan))
    for kind in data.values():
        for pts in kind.values():
            pts.sort()
    return comments, data


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    comments, data = read(sys.argv[1])
    for need in ("lyap_time", "grad_ratio_time", "predicted_time", "state_norm"):
        if not data.get(need):
            raise SystemExit("{}: no {} rows".format(sys.argv[1], need))
    models = [m for m in LABELS if m in data["lyap_time"]] + \
        sorted(m for m in data["lyap_time"] if m not in LABELS)
    colors = dict(zip(models, plt.rcParams["axes.prop_cycle"].by_key()["color"]))

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    panels = [("lyap_time", "largest Lyapunov exponent per unit time",
               "forward: perturbations of the state"),
              ("grad_ratio_time", "log(||dL/dh_0|| / ||dL/dh_T||) per unit time",
               "backward: gradient through the Euler steps")]
    for ax, (kind, ylabel, title) in zip(axes, panels):
        for m in models:
            dt, v = zip(*data[kind][m])
            ax.plot(dt, v, marker="o", ms=3, color=colors[m], label=LABELS.get(m, m))
            pdt, pv = zip(*data["predicted_time"][m])
            ax.plot(pdt, pv, ls="--", lw=1, color=colors[m])
        ax.plot([], [], ls="--", lw=1, color="grey", label="linear prediction at h = 0")
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(1, color="grey", lw=0.6, ls=":")
        ax.annotate("dt = 1: the tanh RNN", (1, 0), xycoords=("data", "axes fraction"),
                    xytext=(3, 3), textcoords="offset points", fontsize=7, color="grey")
        ax.set_xscale("log")
        ax.set_xlabel("step size dt")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    ax = axes[2]
    for m in models:
        dt, v = zip(*data["state_norm"][m])
        ax.plot(dt, v, marker="o", ms=3, color=colors[m], label=LABELS.get(m, m))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step size dt")
    ax.set_ylabel("||h_T||")
    ax.set_title("final state over the fixed horizon", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    if comments:
        fig.text(0.01, 0.005, "; ".join(comments)[:240], fontsize=6, color="grey")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(sys.argv[2], dpi=120)


if __name__ == "__main__":
    main()
