#!/usr/bin/python3
"""report.py - the study's self-contained HTML report: per experiment the data summary, the
table and figure of the configurations (mean and sd over seeds), then every run's figures; the
captions from pipelines/report/*.rst (reStructuredText, rendered with docutils); the
configuration as it was used; the recur version and command lines. Figures are embedded as data URIs
and nothing is fetched from the network, so the file can be mailed or archived as it is.

Usage: report.py --recur RECUR --study JSON --captions DIR -o REPORT.html
JSON describes the study as pipelines/common.smk's report_params() writes it: title, results
directory, the configuration and its files, and per experiment its name, task, description,
grouping keys, runs (name and settings) and the figure names of a run.
"""
import argparse
import base64
import datetime
import html
import json
import os

import yaml

import provenance

CSS = """
body { font-family: sans-serif; max-width: 1250px; margin: 1em auto; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { border-bottom: 2px solid #446; } h2 { border-bottom: 1px solid #aab; margin-top: 2em; }
code, pre { background: #f4f4f8; } pre { padding: .6em; overflow-x: auto; font-size: 85%; }
table { border-collapse: collapse; font-size: 85%; margin: .5em 0; }
th, td { border: 1px solid #ccd; padding: 2px 7px; text-align: right; }
th { background: #eef; } td.l, th.l { text-align: left; }
figure { display: inline-block; margin: .4em; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #dde; }
figcaption { font-size: 85%; color: #444; }
.prov { font-size: 80%; color: #555; } details { margin: .4em 0; }
summary { cursor: pointer; font-weight: bold; } .caption { font-size: 90%; color: #333; }
nav a { margin-right: 1em; }
"""

# Metrics shown in the summary table; the full table follows in a collapsed block.
DNA_METRICS = ["accuracy", "balanced_accuracy", "auroc", "auprc", "loss"]
FORECAST_METRICS = ["mae", "rmse", "skill_persistence", "skill_climatology"]


def esc(s):
    return html.escape(str(s))


def rst_to_html(path):
    from docutils.core import publish_parts

    with open(path) as f:
        source = f.read()
    parts = publish_parts(source, writer_name="html", settings_overrides={
        "report_level": 3, "halt_level": 5, "embed_stylesheet": False,
        "doctitle_xform": False})
    return parts["body"]


def image(path, alt, width=None):
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode()
    style = ' style="max-width:{}px"'.format(width) if width else ""
    return '<img src="data:image/png;base64,{}" alt="{}"{}>'.format(data, esc(alt), style)


def table(header, rows, left=()):
    out = ["<table><tr>"]
    out += ['<th class="l">{}</th>'.format(esc(h)) if h in left else "<th>{}</th>".format(esc(h))
            for h in header]
    out.append("</tr>")
    for r in rows:
        out.append("<tr>" + "".join(
            '<td class="l">{}</td>'.format(esc(v)) if h in left else "<td>{}</td>".format(esc(v))
            for h, v in zip(header, r)) + "</tr>")
    out.append("</table>")
    return "".join(out)


def tsv_table(path):
    prov, header, rows = provenance.read_tsv(path)
    numeric = {h for j, h in enumerate(header)
               if rows and all(_isnum(r[j]) for r in rows if j < len(r))}
    return (table(header, rows, left=[h for h in header if h not in numeric]),
            prov)


def _isnum(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def pm(mean, sd):
    try:
        m, s = float(mean), float(sd)
    except ValueError:
        return mean
    if s != s:  # one seed
        return "{:.4g}".format(m)
    return "{:.4g} ± {:.2g}".format(m, s)


def summary_table(path, exp):
    """The headline metrics of each configuration as mean ± sd (n)."""
    _, header, rows = provenance.tsv_dicts(path)
    groups = exp["groups"]
    if exp["task"] == "dna":
        pick = [r for r in rows if r.get("class") == "all" and r["metric"] in DNA_METRICS]
        cols = [m for m in DNA_METRICS if any(r["metric"] == m for r in pick)]
        keyf = lambda r: tuple(r[g] for g in groups)  # noqa: E731
        keyhead = groups
    else:
        pick = [r for r in rows if r.get("horizon") == "all" and r["metric"] in FORECAST_METRICS]
        cols = [m for m in FORECAST_METRICS if any(r["metric"] == m for r in pick)]
        keyf = lambda r: tuple(r[g] for g in groups) + (r["model"], r["target"])  # noqa: E731
        keyhead = groups + ["model", "target"]
    cells, order = {}, []
    for r in pick:
        k = keyf(r)
        if k not in cells:
            cells[k] = {}
            order.append(k)
        cells[k][r["metric"]] = (pm(r["mean"], r["sd"]), r["n"])
    out = []
    for k in order:
        ns = {cells[k][c][1] for c in cols if c in cells[k]}
        out.append(list(k) + [cells[k].get(c, ("-", ""))[0] for c in cols] +
                   [",".join(sorted(ns))])
    return table(keyhead + cols + ["seeds"], out, left=keyhead)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recur", required=True)
    ap.add_argument("--study", required=True)
    ap.add_argument("--captions", required=True)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    study = json.loads(a.study)
    root = study["results"]
    version = provenance.recur_version(a.recur)
    try:
        import snakemake
        engine = "Snakemake {}".format(snakemake.__version__)
    except ImportError:
        engine = "Snakemake"

    captions = {}
    for f in sorted(os.listdir(a.captions)):
        if f.endswith(".rst"):
            captions[f[:-4]] = rst_to_html(os.path.join(a.captions, f))

    def caption(name):
        return '<div class="caption">{}</div>'.format(captions.get(name, ""))

    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
           "<title>{}</title><style>{}</style></head><body>".format(esc(study["title"]), CSS),
           "<h1>{}</h1>".format(esc(study["title"])),
           '<div class="prov">{} · {} · {} · <details><summary>command line of this report'
           '</summary><code>{}</code></details></div>'.format(
               esc(version), esc(engine),
               esc(datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
               esc(provenance.command_line())),
           "<nav>" + "".join('<a href="#{0}">{0}</a>'.format(esc(e["name"]))
                             for e in study["experiments"])
           + '<a href="#config">configuration</a></nav>']
    if "workflow" in captions:
        out.append(captions["workflow"])

    for exp in study["experiments"]:
        name = exp["name"]
        d = os.path.join(root, name)
        out.append('<h2 id="{0}">{0} <small>({1})</small></h2>'.format(esc(name),
                                                                       esc(exp["task"])))
        if exp.get("description"):
            out.append("<p>{}</p>".format(esc(exp["description"])))
        out.append("<p>{} runs in <code>{}</code>: {}.</p>".format(
            len(exp["runs"]), esc(d), esc(", ".join(r["name"] for r in exp["runs"]))))

        path = os.path.join(d, "data_summary.tsv")
        if os.path.exists(path):
            t, _ = tsv_table(path)
            out.append("<h3>Data</h3>" + caption("data_summary_" + exp["task"]) + t)

        out.append("<h3>Configurations (mean ± sd over seeds, test set)</h3>")
        out.append(caption("summary_table"))
        out.append(summary_table(os.path.join(d, "summary.tsv"), exp))
        full, _ = tsv_table(os.path.join(d, "summary.tsv"))
        out.append("<details><summary>every value of summary.tsv</summary>{}</details>"
                   .format(full))
        out.append("<figure>{}<figcaption>{}</figcaption></figure>".format(
            image(os.path.join(d, "summary.png"), name + " summary"), caption("summary")))

        out.append("<h3>Runs</h3>")
        figs = [f[:-4] for f in exp["run_files"]]
        out.append("<details><summary>how to read the run figures</summary>" + "".join(
            "<h4>{}</h4>{}".format(esc(f.replace("_", " ")), caption(f)) for f in figs) +
            "</details>")
        for i, run in enumerate(exp["runs"]):
            rd = os.path.join(d, run["name"])
            settings = ", ".join("{} {}".format(k, v) for k, v in run["settings"].items())
            body = "".join(
                "<figure>{}<figcaption>{}</figcaption></figure>".format(
                    image(os.path.join(rd, f + ".png"), run["name"] + " " + f, 1200
                          if f in ("learning_curves", "gradient_norms") else 560),
                    esc(f.replace("_", " ")))
                for f in figs)
            out.append("<details{}><summary>{} <span class='prov'>({})</span></summary>"
                       "<p class='prov'>files in <code>{}</code>: model.h5, metrics.tsv, "
                       "predictions, diagnose.tsv, train.jsonl, logs/</p>{}</details>".format(
                           " open" if i == 0 else "", esc(run["name"]), esc(settings),
                           esc(rd), body))

    out.append('<h2 id="config">Configuration</h2>')
    files = study.get("config_files") or []
    out.append("<p>As used: {}{}, with the schema's defaults filled in.</p>".format(
        "from " if files else "", esc(", ".join(files)) or "command-line values only"))
    out.append("<pre>{}</pre>".format(esc(yaml.safe_dump(study.get("config", {}),
                                                         sort_keys=False, width=96))))
    out.append("</body></html>\n")
    with provenance.atomic_output(a.output, suffix=".html") as tmp, open(tmp, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
