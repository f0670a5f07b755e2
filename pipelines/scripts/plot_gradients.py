#!/usr/bin/python3
"""plot_gradients.py - gradient flow through time in one trained model, from the long-format TSV
of `recur diagnose` (kind, layer, direction, index, value): the norm of d loss / d h_t against
the step t, the spectral norm of the Jacobian product d s_t / d s_(t-lag) against the lag (with
the largest Lyapunov exponent), and the bias of truncated BPTT against the window K.

Usage: plot_gradients.py --recur RECUR --diagnose DIAGNOSE.tsv -o OUT.png [--title T]
"""
import argparse
from collections import defaultdict

import numpy as np

import provenance
import matplotlib.pyplot as plt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recur", required=True)
    ap.add_argument("--diagnose", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="")
    a = ap.parse_args()

    prov, _, rows = provenance.tsv_dicts(a.diagnose)
    data = defaultdict(lambda: defaultdict(list))  # kind -> (layer, direction) -> [(i, v)]
    for r in rows:
        data[r["kind"]][(r["layer"], r["direction"])].append(
            (provenance.number(r["index"]), provenance.number(r["value"])))
    if not data.get("grad_norm"):
        raise SystemExit("{}: no grad_norm rows".format(a.diagnose))

    def name(key, suffix=""):
        if key[0] == "all":  # the truncation bias is one number for the whole gradient
            return suffix
        return "layer {} {}".format(*key) + (", " + suffix if suffix else "")

    panels = 1 + bool(data.get("jacobian_norm")) + bool(data.get("tbptt_cosine"))
    fig, axes = plt.subplots(1, panels, figsize=(4.3 * panels, 3.6), squeeze=False)
    axes = list(axes[0])

    ax = axes.pop(0)
    for key, pts in sorted(data["grad_norm"].items()):
        t, v = np.array(sorted(pts)).T
        ax.plot(t, v, marker=".", ms=3, label=name(key))
    if any(v > 0 for pts in data["grad_norm"].values() for _, v in pts):
        ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("||d loss / d h_t||")
    ax.set_title("gradient norm per step", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")

    if data.get("jacobian_norm"):
        ax = axes.pop(0)
        for key, pts in sorted(data["jacobian_norm"].items()):
            lag, v = np.array(sorted(pts)).T
            lyap = dict(data.get("lyapunov", {}).get(key, []))
            extra = r"$\lambda_1$ = {:+.3f}".format(lyap[1.0]) if 1.0 in lyap else ""
            ax.plot(lag, v, marker=".", ms=3, label=name(key, extra))
        ax.set_yscale("log")
        ax.axhline(1, color="0.5", ls=":", lw=0.8)
        ax.set_xlabel("lag")
        ax.set_ylabel("||d s_t / d s_(t-lag)||")
        ax.set_title("Jacobian product norm (geometric mean)", fontsize=10)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")

    if data.get("tbptt_cosine"):
        ax = axes.pop(0)
        for key, pts in sorted(data["tbptt_cosine"].items()):
            K, v = np.array(sorted(pts)).T
            line, = ax.plot(K, v, marker="o", ms=3, label=name(key, "cosine"))
            err = data.get("tbptt_relerr", {}).get(key)
            if err:
                K2, e = np.array(sorted(err)).T
                ax.plot(K2, e, ls="--", marker="x", ms=3, color=line.get_color(),
                        label=name(key, "relative error"))
        ax.set_xscale("log")
        ax.axhline(1, color="0.5", ls=":", lw=0.8)
        ax.axhline(0, color="0.5", ls=":", lw=0.8)
        ax.set_xlabel("truncation window K")
        ax.set_title("truncated BPTT against full", fontsize=10)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")

    fig.suptitle(a.title, fontsize=10)
    fig.tight_layout()
    provenance.save_png(fig, a.output, a.recur, provenance.source_lines(prov, a.diagnose))


if __name__ == "__main__":
    main()
