#!/usr/bin/python3
"""plot_learning_curves.py - learning curves of one training run from the JSON-lines log that
`recur train --log` writes (one object per epoch): training and validation loss, the task's
metrics (accuracy, balanced accuracy, or a forecaster's errors), and the gradient norm before
clipping, against epoch; the epoch kept as the model is marked.

Usage: plot_learning_curves.py --recur RECUR --log TRAIN.jsonl [--model MODEL.h5] -o OUT.png
                               [--title T]
The model file, when given, supplies the training command line for the figure's provenance.
"""
import argparse
import json
import math

import provenance
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

# Log keys that are not curves of the model's quality.
NOT_METRICS = {"epoch", "best", "updates", "skipped", "clipped", "grad_norm_mean", "grad_norm_max",
               "padding", "seconds", "lr", "steps", "samples", "records", "eta", "time"}


def finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def label(key):
    """'loss' -> 'train loss', 'val_acc' -> 'val acc'."""
    text = key.replace("_", " ")
    return text if key.startswith("val") else "train " + text


def series(rows, key):
    xs, ys = [], []
    for r in rows:
        if finite(r.get(key)):
            xs.append(r["epoch"])
            ys.append(r[key])
    return xs, ys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recur", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--model")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="")
    a = ap.parse_args()

    rows = []
    with open(a.log) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                rows.append(json.loads(line))
    rows = [r for r in rows if "epoch" in r]
    if not rows:
        raise SystemExit("{}: no epochs in the log".format(a.log))

    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    losses = [k for k in keys if k.endswith("loss") and k not in NOT_METRICS]
    metrics = [k for k in keys if k not in NOT_METRICS and k not in losses
               and any(finite(r.get(k)) for r in rows)]
    best = [r["epoch"] for r in rows if r.get("best") is True]
    kept = best[-1] if best else None

    panels = 3 if metrics else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.6))
    ax = axes[0]
    for k in losses:
        xs, ys = series(rows, k)
        style = "--" if k.startswith("val") else "-"
        ax.plot(xs, ys, style, marker=".", label=label(k))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("loss", fontsize=10)
    if metrics:
        ax = axes[1]
        for k in metrics:
            xs, ys = series(rows, k)
            style = "--" if k.startswith("val") else "-"
            ax.plot(xs, ys, style, marker=".", label=label(k))
        ax.set_xlabel("epoch")
        ax.set_title("metrics", fontsize=10)
    ax = axes[-1]
    for k, style in (("grad_norm_mean", "-"), ("grad_norm_max", ":")):
        xs, ys = series(rows, k)
        if ys:
            ax.plot(xs, ys, style, marker=".", label=k.replace("grad_norm_", "gradient norm, "))
    if any(finite(r.get("grad_norm_max")) and r["grad_norm_max"] > 0 for r in rows):
        ax.set_yscale("log")
    clipped = sum(r.get("clipped", 0) or 0 for r in rows)
    skipped = sum(r.get("skipped", 0) or 0 for r in rows)
    ax.set_title("gradient norm before clipping\n({} updates clipped, {} skipped)".format(
        clipped, skipped), fontsize=10)
    ax.set_xlabel("epoch")
    for ax in axes:
        if kept is not None:
            ax.axvline(kept, color="0.6", lw=0.8, ls=":",
                       label="model kept (epoch {})".format(kept))
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    seconds = sum(r.get("seconds", 0) or 0 for r in rows if finite(r.get("seconds")))
    fig.suptitle("{}  ({} epochs, {:.1f} s)".format(a.title, len(rows), seconds), fontsize=10)
    fig.tight_layout()
    sources = ["{}: JSON lines of recur train".format(a.log)]
    if a.model:
        sources += provenance.model_provenance(a.model)
    provenance.save_png(fig, a.output, a.recur, sources)


if __name__ == "__main__":
    main()
