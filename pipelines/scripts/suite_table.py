#!/usr/bin/python3
"""suite_table.py - the README's table of the real-task suite from suite.py's summary.tsv.

Usage: /usr/bin/python3 pipelines/scripts/suite_table.py SUMMARY.tsv [--configs A,B] > TABLE.md

One row per task. DNA classifiers: test accuracy (and AUROC) of recur under each configuration,
mean +- sd over the seeds, then every baseline's (fitted on the same training rows; they do not
depend on the seed, so their sd is 0 unless the validation split moved), the best baseline's in
bold where it beats recur's first configuration. Forecasters: test MAE over all horizons of recur
and of persistence, climatology and ridge. Training time per run in seconds.
"""
import argparse
import csv
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("summary")
    ap.add_argument("--configs", default="")
    a = ap.parse_args()
    rows = list(csv.DictReader(open(a.summary), delimiter="\t"))
    val = {(r["task"], r["config"], r["model"], r["metric"]): (float(r["mean"]), float(r["sd"]))
           for r in rows}
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    configs = [c for c in a.configs.split(",") if c] or list(dict.fromkeys(r["config"]
                                                                             for r in rows))

    def cell(key, fmt="%.3f"):
        if key not in val:
            return "-"
        m, sd = val[key]
        return (fmt + " +- " + fmt) % (m, sd)

    dna = [t for t in tasks if (t, configs[0], "recur", "accuracy") in val]
    fc = [t for t in tasks if t not in dna]
    out = sys.stdout
    if dna:
        out.write("| DNA task (test accuracy / AUROC) | " +
                  " | ".join("recur `%s`" % c for c in configs) +
                  " | majority | k-mer LR | one-hot LR | seconds |\n")
        out.write("|---" * (len(configs) + 5) + "|\n")
        for t in dna:
            cells = []
            first = val.get((t, configs[0], "recur", "accuracy"), (float("nan"), 0))[0]
            for c in configs:
                cells.append("%s / %s" % (cell((t, c, "recur", "accuracy")),
                                          cell((t, c, "recur", "auroc"))))
            for kind in ("majority", "kmer", "onehot"):
                k = (t, configs[0], kind, "accuracy")
                if k not in val:
                    cells.append("-")
                    continue
                s = "%.3f / %s" % (val[k][0], cell((t, configs[0], kind, "auroc")).split(" ")[0])
                cells.append("**%s**" % s if val[k][0] > first else s)
            cells.append(cell((t, configs[0], "recur", "seconds"), "%.0f"))
            out.write("| %s | %s |\n" % (t, " | ".join(cells)))
    if fc:
        out.write("\n| forecast task (test MAE, all horizons) | " +
                  " | ".join("recur `%s`" % c for c in configs) +
                  " | persistence | climatology | ridge | seconds |\n")
        out.write("|---" * (len(configs) + 5) + "|\n")
        for t in fc:
            cells = [cell((t, c, "recur", "mae_all")) for c in configs]
            for kind in ("persistence", "climatology", "ridge"):
                k = (t, configs[0], kind, "mae_all")
                cells.append("%.3f" % val[k][0] if k in val else "-")
            cells.append(cell((t, configs[0], "recur", "seconds"), "%.0f"))
            out.write("| %s | %s |\n" % (t, " | ".join(cells)))


if __name__ == "__main__":
    main()
