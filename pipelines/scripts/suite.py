#!/usr/bin/python3
"""suite.py - recur on the real-task suite (data/tasks/tasks.tsv): every task trained with each
configuration and seed, scored on its test split beside the baselines, into two tables.

Usage: /usr/bin/python3 pipelines/scripts/suite.py [--recur bin/recur] [--tasks FILE]
           [--config NAME=OPTIONS]... [--seeds 1,2,3] [--only TASK,...] [--threads N]
           [--out results/suite]
       /usr/bin/python3 pipelines/scripts/suite.py --merge RUNS.tsv... --out DIR
           (the runs of several invocations into one runs.tsv and summary.tsv)

Each --config is a name and the recur train options it adds to the task's own (none: recur's
defaults, "defaults="). For a task and a configuration, every seed runs
  recur train TRAIN VAL OPTIONS --seed S -q -o OUT/TASK/NAME/sS/model.h5 --log .../train.jsonl
  recur eval -m .../model.h5 TEST -o .../metrics.tsv
and its test metrics are read back: DNA classifiers accuracy, balanced accuracy and AUROC of the
model and of every baseline the model carries (baseline_<kind>_<metric> rows); forecasters the MAE
of recur and of the baselines at every horizon and over all horizons. Written:
  OUT/runs.tsv     task config seed model metric value seconds (one row per number)
  OUT/summary.tsv  task config model metric mean sd n (the mean over the seeds)
Standard library only; the numbers are recur's own.
"""
import argparse
import csv
import math
import os
import shlex
import statistics
import subprocess
import sys
import time


def read_tasks(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def dna_metrics(path):
    """(model, metric) -> value from eval's long TSV of a classifier."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or line.startswith("metric\t"):
                continue
            metric, cls, value = line.rstrip("\n").split("\t")
            if cls != "all":
                continue
            v = float(value) if value != "nan" else math.nan
            if metric.startswith("baseline_"):
                kind, name = metric[len("baseline_"):].split("_", 1)
                out[(kind, name)] = v
            elif metric in ("accuracy", "balanced_accuracy", "auroc", "loss", "f1"):
                out[("recur", metric)] = v
    return out


def forecast_metrics(path):
    """(model, mae_hH or mae_all) -> value from eval's TSV of a forecaster (first target)."""
    out = {}
    with open(path) as f:
        rows = [r for r in f if not r.startswith("#")]
    for r in csv.DictReader(rows, delimiter="\t"):
        key = (r["model"], "mae_h" + r["horizon"] if r["horizon"] != "all" else "mae_all")
        if key not in out:
            out[key] = float(r["mae"]) if r["mae"] != "NA" else math.nan
    return out


def run(cmd, log):
    with open(log, "a") as lf:
        lf.write("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n")
        lf.flush()
        return subprocess.run(cmd, stdout=lf, stderr=lf).returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recur", default="bin/recur")
    ap.add_argument("--tasks", default="data/tasks/tasks.tsv")
    ap.add_argument("--config", action="append", default=[])
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--only", default="")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--out", default="results/suite")
    ap.add_argument("--merge", nargs="+", default=None)
    a = ap.parse_args()
    if a.merge:
        runs = []
        for path in a.merge:
            with open(path) as f:
                for r in csv.DictReader(f, delimiter="\t"):
                    runs.append((r["task"], r["config"], int(r["seed"]), r["model"], r["metric"],
                                 float(r["value"]), float(r["seconds"])))
        os.makedirs(a.out, exist_ok=True)
        write_tables(runs, a.out)
        return
    configs = []
    for c in a.config or ["defaults="]:
        name, _, opts = c.partition("=")
        configs.append((name, shlex.split(opts)))
    seeds = [int(s) for s in a.seeds.split(",")]
    only = set(filter(None, a.only.split(",")))
    os.makedirs(a.out, exist_ok=True)
    runs = []
    for t in read_tasks(a.tasks):
        if only and t["name"] not in only:
            continue
        for name, opts in configs:
            for s in seeds:
                d = os.path.join(a.out, t["name"], name, "s%d" % s)
                os.makedirs(d, exist_ok=True)
                log = os.path.join(d, "log.txt")
                open(log, "w").close()
                model = os.path.join(d, "model.h5")
                train = ([a.recur, "train"] + shlex.split(t["train"]) + shlex.split(t["val"]) +
                         opts + ["--seed", str(s), "-@", a.threads, "-q", "-o", model, "--log",
                                 os.path.join(d, "train.jsonl")])
                t0 = time.time()
                rc = run(train, log)
                sec = time.time() - t0
                if rc != 0:
                    print("%s %s seed %d: train failed (exit %d, see %s)" % (t["name"], name, s,
                                                                          rc, log))
                    continue
                metrics = os.path.join(d, "metrics.tsv")
                ev = ([a.recur, "eval", "-m", model] + shlex.split(t["test"]) +
                      ["-@", a.threads, "-q", "-o", metrics])
                if run(ev, log) != 0:
                    print("%s %s seed %d: eval failed (see %s)" % (t["name"], name, s, log))
                    continue
                m = dna_metrics(metrics) if t["kind"] == "dna" else forecast_metrics(metrics)
                for (model_name, metric), v in sorted(m.items()):
                    runs.append((t["name"], name, s, model_name, metric, v, sec))
                head = ("recur", "accuracy") if t["kind"] == "dna" else ("recur", "mae_all")
                print("%-14s %-12s seed %d: %s %.4f (%.0f s)" % (t["name"], name, s, head[1],
                                                                   m.get(head, math.nan), sec))
                sys.stdout.flush()
    write_tables(runs, a.out)


def write_tables(runs, out):
    """runs.tsv (every number) and summary.tsv (means and sds over the seeds) in out."""
    with open(os.path.join(out, "runs.tsv"), "w") as f:
        f.write("task\tconfig\tseed\tmodel\tmetric\tvalue\tseconds\n")
        for r in runs:
            f.write("%s\t%s\t%d\t%s\t%s\t%.6g\t%.1f\n" % r)
    groups = {}
    for task, cfg, s, model_name, metric, v, sec in runs:
        groups.setdefault((task, cfg, model_name, metric), []).append(v)
        groups.setdefault((task, cfg, "recur", "seconds"), [])
    for task, cfg, s, model_name, metric, v, sec in runs:
        if model_name == "recur" and metric in ("accuracy", "mae_all"):
            groups[(task, cfg, "recur", "seconds")].append(sec)
    with open(os.path.join(out, "summary.tsv"), "w") as f:
        f.write("task\tconfig\tmodel\tmetric\tmean\tsd\tn\n")
        for (task, cfg, model_name, metric), vs in groups.items():
            vs = [v for v in vs if not math.isnan(v)]
            if not vs:
                continue
            sd = statistics.stdev(vs) if len(vs) > 1 else 0.0
            f.write("%s\t%s\t%s\t%s\t%.6g\t%.3g\t%d\n" % (task, cfg, model_name, metric,
                                                          statistics.mean(vs), sd, len(vs)))
    print("wrote", os.path.join(out, "runs.tsv"), "and summary.tsv")


if __name__ == "__main__":
    main()
