#!/usr/bin/python3
"""aggregate.py - one experiment's metrics in two long-format tables: runs.tsv, every value of
every run's `recur eval` TSV with the run's swept settings; and summary.tsv, their mean and
sample standard deviation (n - 1) over seeds for each configuration (the swept settings other
than the seed).

Usage: aggregate.py --recur RECUR --experiment NAME --root DIR --runs RUN:KEY=V,KEY=V ...
                    --out-runs RUNS.tsv --out-summary SUMMARY.tsv
Each run's table is DIR/RUN/metrics.tsv. Tables with metric and value columns (classifiers:
metric, class, value) keep their other columns as identifiers; otherwise (forecasters: model,
target, horizon, mae, rmse, ...) the numeric columns become metrics.
"""
import argparse
import math
import os

import provenance


def numeric(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def melt(path):
    """(identifier columns, [(identifier values, metric, value)]) of one metrics TSV."""
    _, header, rows = provenance.read_tsv(path)
    if "metric" in header and "value" in header:
        ids = [c for c in header if c not in ("metric", "value")]
        out = [([r[header.index(c)] for c in ids], r[header.index("metric")],
                provenance.number(r[header.index("value")])) for r in rows]
        return ids, out
    values = [j for j, c in enumerate(header) if rows and all(numeric(r[j]) for r in rows)]
    ids = [c for j, c in enumerate(header) if j not in values]
    out = []
    for r in rows:
        key = [r[j] for j in range(len(header)) if j not in values]
        for j in values:
            out.append((key, header[j], provenance.number(r[j])))
    return ids, out


def fmt(v):
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else "{:.6g}".format(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recur", required=True)
    ap.add_argument("--experiment", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--runs", nargs="+", required=True)
    ap.add_argument("--out-runs", required=True)
    ap.add_argument("--out-summary", required=True)
    a = ap.parse_args()

    runs = []
    for spec in a.runs:
        name, _, pairs = spec.partition(":")
        settings = dict(p.split("=", 1) for p in pairs.split(",") if p)
        runs.append((name, settings))
    keys = list(runs[0][1])
    if any(list(s) != keys for _, s in runs):
        raise SystemExit("runs with different swept keys: {}".format(a.runs))
    if "seed" not in keys:
        raise SystemExit("no seed among the swept keys {}".format(keys))
    groups = [k for k in keys if k != "seed"]

    ids, long_rows = None, []
    for name, settings in runs:
        path = os.path.join(a.root, name, "metrics.tsv")
        run_ids, values = melt(path)
        if ids is None:
            ids = run_ids
        elif run_ids != ids:
            raise SystemExit("{}: columns {} differ from the other runs' {}".format(
                path, run_ids, ids))
        for key, metric, value in values:
            long_rows.append((name, [settings[k] for k in keys], key, metric, value))

    provenance.write_tsv(
        a.out_runs, a.recur, ["run"] + keys + ids + ["metric", "value"],
        [[n] + s + k + [m, fmt(v)] for n, s, k, m, v in long_rows],
        ["experiment {}: {} runs, every value of their recur eval tables".format(
            a.experiment, len(runs))])

    # Mean and sd over seeds, in the order configurations and metrics first appear.
    cells, order = {}, []
    for _, s, k, m, v in long_rows:
        g = tuple(s[keys.index(x)] for x in groups) + tuple(k) + (m,)
        if g not in cells:
            cells[g] = []
            order.append(g)
        cells[g].append(v)
    seeds = sorted({s[keys.index("seed")] for _, s, _, _, _ in long_rows},
                   key=lambda x: (len(x), x))
    out = []
    for g in order:
        vals = [v for v in cells[g] if not math.isnan(v)]
        n = len(vals)
        mean = sum(vals) / n if n else float("nan")
        sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else float("nan")
        out.append(list(g) + [n, fmt(mean), fmt(sd)])
    provenance.write_tsv(
        a.out_summary, a.recur, groups + ids + ["metric", "n", "mean", "sd"], out,
        ["experiment {}: mean and sample sd (n - 1) over seeds {} of each configuration "
         "({}); n counts the runs with a number".format(
             a.experiment, ",".join(seeds),
             ", ".join(groups) or "one configuration")])


if __name__ == "__main__":
    main()
