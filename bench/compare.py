#!/usr/bin/python3
"""compare.py - training-step time of recur against PyTorch on the same configurations.

Runs `recur bench` and bench/torch_bench.py (the same step: forward, loss, backward, Adam
update, full-length random batch) for each configuration of issue 6, and the forward pass alone
of the first (inference), at 1 and 2 threads, in the same run, the programs alternating (recur, PyTorch, recur, PyTorch, ... with --rounds), and
prints the median step times and the ratios:

  torch/recur @1      PyTorch 1 thread / recur 1 thread (above 1: recur is faster)
  best/recur @N       PyTorch's best thread setting / recur N threads
  recur @1/@N         recur's own speed-up from 1 to N threads

Each figure is the median step time of a run (the median of the runs' medians with
--rounds). Without
torch, prints recur's times alone and says so. `make bench` runs this script.

Usage: /usr/bin/python3 bench/compare.py [--recur bin/recur] [--threads 1,2] [--steps 20]
       [--warmup 3] [--rounds 1] [--quick] [--only N,M] [-o results.tsv]
"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

LSTM1 = ("--cell lstm --input 4 --hidden 128 -B 64 --task classify --outputs 2 "
         "--head seq --pool last")
# (label, options shared by `recur bench` and torch_bench.py): the table of issue 6
CONFIGS = [
    ("1 LSTM I4 H128 T200 B64 classify", LSTM1 + " -T 200"),
    ("2 LSTM I4 H128 T1000 B64 classify", LSTM1 + " -T 1000"),
    ("3 LSTM I4 H256 L2 T200 B64 classify",
     "--cell lstm --input 4 --hidden 256 --layers 2 -T 200 -B 64 --task classify --outputs 2 "
     "--head seq --pool last"),
    ("4 GRU I4 H128 T200 B64 classify",
     "--cell gru --input 4 --hidden 128 -T 200 -B 64 --task classify --outputs 2 "
     "--head seq --pool last"),
    ("5 LSTM I14 H64 T120 B128 regress step",
     "--cell lstm --input 14 --hidden 64 -T 120 -B 128 --task regress --outputs 1 "
     "--head step"),
    ("6 biLSTM I4 H128 T200 B64 classify", LSTM1 + " -T 200 --bidirectional"),
    # the forward pass alone (recur: forward-only engines; PyTorch: torch.no_grad())
    ("1i inference: config 1 forward only", LSTM1 + " -T 200 --inference"),
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
    """Median step time (ms) of one bench run, and its row."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd), p.returncode,
                                                       p.stderr.strip()))
    row = parse_tsv(p.stdout)
    return float(row["median_ms"]), row


def find_torch_python():
    """A Python that can import torch: this one, else Debian's /usr/bin/python3."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.path.exists(py) and subprocess.run(
                [py, "-c", "import torch"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            return py
    return None


def fmt(x, spec="%.1f", none="-"):
    return spec % x if x is not None else none


def ratio(a, b):
    return a / b if a is not None and b else None


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recur", default=os.path.join(ROOT, "bin", "recur"))
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--steps", type=int, default=20, help="timed steps per run")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=1,
                   help="runs of each program per configuration and thread count, alternating")
    p.add_argument("--quick", action="store_true", help="3 timed steps, 1 warm-up")
    p.add_argument("--only", help="comma-separated configurations (1-6, 1i)")
    p.add_argument("--no-torch", action="store_true", help="time recur only")
    p.add_argument("-o", "--output", help="also write the table as TSV to this file")
    a = p.parse_args(argv)
    if a.quick:
        a.steps, a.warmup = 3, 1
    threads = [int(t) for t in a.threads.split(",") if t]
    configs = CONFIGS
    if a.only:
        keep = {k for k in a.only.split(",") if k}
        configs = [c for c in CONFIGS if c[0].split()[0] in keep]
    if not os.access(a.recur, os.X_OK):
        sys.stderr.write("compare.py: %s not found; run make first\n" % a.recur)
        return 1
    py = None if a.no_torch else find_torch_python()
    if a.no_torch:
        print("--no-torch: timing recur only.")
    elif py is None:
        print("PyTorch is not installed (python3-torch): timing recur only.")

    common = ["--steps", str(a.steps), "--warmup", str(a.warmup)]
    head = "%-38s %3s %9s %9s %13s %10s %10s" % ("config", "@", "recur ms", "torch ms",
                                                 "torch/recur", "best/recur", "recur @1/@N")
    print(head)
    rows = []
    kernels = None
    for label, opts in configs:
        rec, tor = {}, {}
        for n in threads:
            args = opts.split() + common + ["-@", str(n)]
            rt, tt = [], []
            for _ in range(a.rounds):
                ms, row = run([a.recur, "bench"] + args)
                rt.append(ms)
                kernels = row.get("kernels", kernels)
                if py:
                    tt.append(run([py, os.path.join(HERE, "torch_bench.py")] + args)[0])
            rec[n] = statistics.median(rt)
            tor[n] = statistics.median(tt) if tt else None
        best = min(tor.values()) if py else None
        for n in threads:
            r, t = rec[n], tor[n]
            vs = ratio(t, r) if n == threads[0] else None
            row = (label, n, r, t, vs, ratio(best, r), ratio(rec[threads[0]], r))
            rows.append(row)
            print("%-38s %3d %9.1f %9s %13s %10s %10s" % (
                label if n == threads[0] else "", n, r, fmt(t), fmt(vs, "%.2f"),
                fmt(row[5], "%.2f"), fmt(row[6], "%.2f")), flush=True)
    if a.output:
        with open(a.output, "w") as f:
            f.write("config\tthreads\trecur_ms\ttorch_ms\ttorch_over_recur\tbest_torch_over_recur"
                    "\trecur_speedup\n")
            for label, n, r, t, vs, b, s in rows:
                f.write("%s\t%d\t%.3f\t%s\t%s\t%s\t%s\n" % (
                    label, n, r, *[fmt(v, "%.3f", "NA") for v in (t, vs, b, s)]))
    print("Medians of %d step(s) after %d warm-up, %d round(s); recur's products: %s. Ratios "
          "above 1 mean recur is faster; best = PyTorch's fastest thread setting here."
          % (a.steps, a.warmup, a.rounds, kernels))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
