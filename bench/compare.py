#!/usr/bin/python3
"""compare.py - training-step time of recur against PyTorch on the same configurations.

Runs `recur bench` and bench/torch_bench.py (the same step: forward, loss, backward, Adam
update, full-length random batch) for each configuration at 1 and 2 threads, and prints
config | recur ms | torch ms | torch/recur (above 1: recur is faster). Without torch, prints
recur's times alone and says so. `make bench` runs this script.

Usage: /usr/bin/python3 bench/compare.py [--recur bin/recur] [--threads 1,2] [--steps 20]
       [--warmup 3] [--quick] [-o results.tsv]
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (label, options shared by `recur bench` and torch_bench.py)
CONFIGS = [
    ("lstm I4 H128 T200 B64 classify seq/last",
     "--cell lstm --input 4 --hidden 128 -T 200 -B 64 --task classify --outputs 2 "
     "--head seq --pool last"),
    ("gru I4 H128 T200 B64 classify seq/last",
     "--cell gru --input 4 --hidden 128 -T 200 -B 64 --task classify --outputs 2 "
     "--head seq --pool last"),
    ("lstm I14 H64 T120 B128 regress step",
     "--cell lstm --input 14 --hidden 64 -T 120 -B 128 --task regress --outputs 1 "
     "--head step"),
]


def parse_tsv(text):
    """The one data row of a bench TSV (after `#` lines and the header) as a dict."""
    lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    if len(lines) != 2:
        raise ValueError("expected a header and one row, got:\n" + text)
    header, row = lines[0].split("\t"), lines[1].split("\t")
    if len(header) != len(row):
        raise ValueError("header and row differ in length:\n" + text)
    return dict(zip(header, row))


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd), p.returncode,
                                                       p.stderr.strip()))
    return float(parse_tsv(p.stdout)["median_ms"])


def find_torch_python():
    """A Python that can import torch: this one, else Debian's /usr/bin/python3."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.path.exists(py) and subprocess.run(
                [py, "-c", "import torch"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            return py
    return None


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recur", default=os.path.join(ROOT, "bin", "recur"))
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="3 timed steps, 1 warm-up")
    p.add_argument("--no-torch", action="store_true", help="time recur only")
    p.add_argument("-o", "--output", help="also write the table as TSV to this file")
    a = p.parse_args(argv)
    if a.quick:
        a.steps, a.warmup = 3, 1
    threads = [int(t) for t in a.threads.split(",") if t]
    if not os.access(a.recur, os.X_OK):
        sys.stderr.write("compare.py: %s not found; run make first\n" % a.recur)
        return 1
    py = None if a.no_torch else find_torch_python()
    if a.no_torch:
        print("--no-torch: timing recur only.")
    elif py is None:
        print("PyTorch is not installed (python3-torch): timing recur only.")

    common = ["--steps", str(a.steps), "--warmup", str(a.warmup)]
    rows = []
    print("%-48s %10s %10s %12s" % ("config", "recur ms", "torch ms", "torch/recur"))
    for label, opts in CONFIGS:
        for n in threads:
            args = opts.split() + common + ["-@", str(n)]
            r = run([a.recur, "bench"] + args)
            t = run([py, os.path.join(HERE, "torch_bench.py")] + args) if py else None
            name = "%s @%d" % (label, n)
            rows.append((name, r, t))
            print("%-48s %10.1f %10s %12s" % (name, r, "%.1f" % t if t else "-",
                                              "%.2f" % (t / r) if t else "-"), flush=True)
    if a.output:
        with open(a.output, "w") as f:
            f.write("config\trecur_ms\ttorch_ms\tratio\n")
            for name, r, t in rows:
                f.write("%s\t%.3f\t%s\t%s\n" % (name, r, "%.3f" % t if t else "NA",
                                                 "%.3f" % (t / r) if t else "NA"))
    print("torch/recur above 1 means recur's training step is faster "
          "(median of %d steps after %d warm-up)." % (a.steps, a.warmup))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
