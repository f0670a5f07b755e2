#!/usr/bin/python3
"""headline.py - the study in a few lines, for the console at the end of `make demo`: each
experiment's best run against its best baseline on the test set. Classifiers: the accuracy and
AUROC of the run with the highest accuracy, beside the baseline (baseline_<kind>_accuracy and
_auroc rows of the same run's `recur eval` table) with the highest accuracy. Forecasters: the MAE
over all horizons of the run with the lowest, beside persistence, climatology and ridge
regression on the same test samples.

Usage: headline.py --recur RECUR --report REPORT.html
                   --experiment NAME dna|forecast RUN=METRICS.tsv ... [--experiment ...] -o OUT
"""
import argparse
import math

import provenance

FORECAST_BASELINES = ["persistence", "climatology", "ridge"]


def num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def dna_values(path):
    """{(model, metric): value} of the class-'all' rows: model 'recur' or a baseline kind."""
    _, header, rows = provenance.read_tsv(path)
    m, c, v = header.index("metric"), header.index("class"), header.index("value")
    out = {}
    for r in rows:
        if r[c] != "all":
            continue
        if r[m].startswith("baseline_"):
            kind, name = r[m][len("baseline_"):].split("_", 1)
            out[(kind, name)] = num(r[v])
        else:
            out[("recur", r[m])] = num(r[v])
    return out


def forecast_mae(path):
    """{model: MAE over all horizons} of the first target (or of target 'all' when present)."""
    _, header, rows = provenance.read_tsv(path)
    rows = [dict(zip(header, r)) for r in rows]
    rows = [r for r in rows if r.get("horizon") == "all"]
    targets = [r["target"] for r in rows]
    if not targets:
        return {}
    target = "all" if "all" in targets else targets[0]
    out = {}
    for r in rows:
        if r["target"] == target and r["model"] not in out:
            out[r["model"]] = num(r["mae"])
    return out


def best(items, key, lowest=False):
    """The item with the highest (lowest) key, ignoring NaN; None when there is none."""
    good = [i for i in items if not math.isnan(key(i))]
    if not good:
        return None
    return (min if lowest else max)(good, key=key)


def f3(v):
    return "-" if v is None or math.isnan(v) else "{:.3f}".format(v)


def columns(header, rows):
    """Rows as aligned text columns, two spaces apart."""
    width = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    return ["  ".join(str(x).ljust(w) for x, w in zip(r, width)).rstrip()
            for r in [header] + rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recur", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--experiment", nargs="+", action="append", required=True,
                    metavar="NAME KIND RUN=METRICS")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    dna, fc = [], []
    for spec in a.experiment:
        name, kind, runs = spec[0], spec[1], [r.split("=", 1) for r in spec[2:]]
        if kind == "dna":
            vals = [(run, dna_values(path)) for run, path in runs]
            top = best(vals, lambda x: x[1].get(("recur", "accuracy"), math.nan))
            if top is None:
                dna.append([name, "-", "-", "-", "-", "-", "-", "-"])
                continue
            run, v = top
            kinds = sorted({k for k, _ in v if k != "recur"})
            base = best(kinds, lambda k: v.get((k, "accuracy"), math.nan))
            acc = v.get(("recur", "accuracy"), math.nan)
            bacc = v.get((base, "accuracy"), math.nan) if base else math.nan
            verdict = "-" if base is None else ("recur" if acc > bacc else
                                                "tie" if acc == bacc else base)
            dna.append([name, run, f3(acc), f3(v.get(("recur", "auroc"))), base or "none",
                        f3(bacc), f3(v.get((base, "auroc"))) if base else "-", verdict])
        else:
            vals = [(run, forecast_mae(path)) for run, path in runs]
            top = best(vals, lambda x: x[1].get("recur", math.nan), lowest=True)
            if top is None:
                fc.append([name, "-"] + ["-"] * (len(FORECAST_BASELINES) + 2))
                continue
            run, v = top
            scores = {m: v.get(m, math.nan) for m in ["recur"] + FORECAST_BASELINES}
            winner = best(list(scores), lambda m: scores[m], lowest=True) or "-"
            fc.append([name, run] + [f3(scores[m]) for m in ["recur"] + FORECAST_BASELINES] +
                      [winner])

    out = []
    if dna:
        out.append("Classifiers - test set, the best run (by accuracy) against the best baseline:")
        out += ["  " + line for line in columns(
            ["experiment", "best run", "accuracy", "AUROC", "best baseline", "accuracy",
             "AUROC", "more accurate"], dna)]
    if fc:
        if out:
            out.append("")
        out.append("Forecasters - test set, MAE over all horizons (lower is better), the best "
                   "run against the baselines:")
        out += ["  " + line for line in columns(
            ["experiment", "best run", "recur"] + FORECAST_BASELINES + ["lowest"], fc)]
    out.append("")
    out.append("Report: {} (every run's files in {}/<experiment>/<run>/)".format(
        a.report, a.report.rsplit("/", 1)[0] if "/" in a.report else "."))
    with provenance.atomic_output(a.output, suffix=".txt") as tmp, open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
