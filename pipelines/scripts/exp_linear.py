#!/usr/bin/python3
"""exp_linear.py - the gradient of the linear RNN as an explicit double sum over (t, k) pairs,
O(T^2), against BPTT's O(T) recursion: seconds per gradient (wall clock, and thread CPU time as
crosses) against T on log-log axes with reference slopes 1 and 2 and least-squares slopes
(fitted over the larger half of the T values, where fixed costs no longer dominate), and the
largest difference between the two gradients, from the long-format TSV of `recur diagnose linear` (kind, layer, direction, index = T, value).

Usage: /usr/bin/python3 exp_linear.py IN.tsv OUT.png
"""
import csv
import math
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    comments, rows = [], []
    with open(path) as fp:
        for line in fp:
            if line.startswith("#"):
                comments.append(line[1:].strip())
            elif line.strip():
                rows.append(line)
    data = defaultdict(list)
    for r in csv.DictReader(rows, delimiter="\t"):
        data[r["kind"]].append((float(r["index"]), float(r["value"])))
    for pts in data.values():
        pts.sort()
    return comments, data


def slope(pts):
    """Least-squares slope of log(value) against log(T) over the larger half of the T values."""
    pts = [(t, v) for t, v in pts if t > 0 and v > 0]
    pts = pts[len(pts) // 2:] if len(pts) >= 4 else pts
    if len(pts) < 2:
        return math.nan
    x = [math.log(t) for t, _ in pts]
    y = [math.log(v) for _, v in pts]
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxx = sum((a - mx) ** 2 for a in x)
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / sxx if sxx > 0 else math.nan


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    comments, data = read(sys.argv[1])
    for need in ("time_sum", "time_bptt"):
        if not data.get(need):
            raise SystemExit("{}: no {} rows".format(sys.argv[1], need))
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2),
                                  gridspec_kw={"width_ratios": [3, 2]})
    for kind, label, color in (("time_sum", "explicit sum over (t, k), O(T^2)", "C3"),
                               ("time_bptt", "BPTT recursion, O(T)", "C0")):
        t, v = zip(*data[kind])
        ax.plot(t, v, marker="o", color=color,
                label="{}: fitted slope {:.2f}".format(label, slope(data[kind])))
        cpu = "cpu" + kind[4:]  # the same calls in thread CPU time, when present
        if data.get(cpu):
            t, v = zip(*data[cpu])
            ax.plot(t, v, marker="x", ls="", color=color, alpha=0.6,
                    label="  CPU time: fitted slope {:.2f}".format(slope(data[cpu])))
    # reference slopes through the geometric middle of each curve's last point
    ts = sorted({t for t, _ in data["time_sum"]})
    lo, hi = ts[0], ts[-1]
    for kind, p, ls in (("time_bptt", 1, ":"), ("time_sum", 2, "--")):
        t_end, v_end = data[kind][-1]
        ax.plot([lo, hi], [v_end * (lo / t_end) ** p, v_end * (hi / t_end) ** p], ls=ls,
                color="grey", lw=1, label="slope {}".format(p))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("seconds per gradient")
    ax.set_title("the gradient through time: O(T^2) pairs vs O(T) BPTT", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    for kind, label in (("max_abs_diff", "max |sum - BPTT|"),
                        ("max_rel_diff", "max |sum - BPTT| / max |gradient|")):
        pts = [(t, v) for t, v in data.get(kind, []) if v > 0]
        if pts:
            t, v = zip(*pts)
            ax2.plot(t, v, marker="o", label=label)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("sequence length T")
    ax2.set_ylabel("difference")
    ax2.set_title("the two gradients agree to rounding", fontsize=10)
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=7)
    if comments:
        fig.text(0.01, 0.005, "; ".join(comments)[:240], fontsize=6, color="grey")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(sys.argv[2], dpi=120)


if __name__ == "__main__":
    main()
