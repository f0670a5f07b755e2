# summary.smk - per experiment, every run's metrics in one long table (runs.tsv) and their mean
# and standard deviation over seeds for each swept configuration (summary.tsv), with a figure;
# then one self-contained HTML report of the whole study (<results>/report.html: figures
# embedded, captions from pipelines/report/*.rst), which needs no network, unlike
# `snakemake --report` in Snakemake 7 (it downloads its JavaScript when it runs).

# Light steps that read a few small files: on a cluster they run where Snakemake runs.
localrules:
    data_summary,
    plot_learning_curves,
    plot_classifier,
    plot_forecast,
    plot_gradients,
    aggregate,
    plot_summary,
    report,


rule aggregate:
    input:
        recur=RECUR,
        script=script("aggregate.py"),
        metrics=all_metrics,
    output:
        runs=f"{RESULTS}/{{exp}}/runs.tsv",
        summary=report(
            f"{RESULTS}/{{exp}}/summary.tsv",
            caption="report/summary_table.rst",
            category="{exp}",
            subcategory="summary",
        ),
    params:
        py=PYTHON,
        runs=lambda w: sweep_table(w.exp),
        metrics_dir=lambda w: "{}/{}".format(RESULTS, w.exp),
    log:
        f"{RESULTS}/{{exp}}/logs/aggregate.log",
    benchmark:
        f"{RESULTS}/{{exp}}/benchmarks/aggregate.tsv"
    threads: 1
    shell:
        "{params.py} {input.script} --recur {input.recur} --experiment {wildcards.exp} "
        "--root {params.metrics_dir} --runs {params.runs} "
        "--out-runs {output.runs} --out-summary {output.summary} 2> {log}"


rule plot_summary:
    input:
        recur=RECUR,
        script=script("plot_summary.py"),
        runs=f"{RESULTS}/{{exp}}/runs.tsv",
    output:
        png=report(
            f"{RESULTS}/{{exp}}/summary.png",
            caption="report/summary.rst",
            category="{exp}",
            subcategory="summary",
        ),
    params:
        py=PYTHON,
        kind=lambda w: task(w.exp),
        groups=lambda w: ",".join(group_keys(w.exp)) or "-",
    log:
        f"{RESULTS}/{{exp}}/logs/plot_summary.log",
    benchmark:
        f"{RESULTS}/{{exp}}/benchmarks/plot_summary.tsv"
    threads: 1
    shell:
        "{params.py} {input.script} --recur {input.recur} --title {wildcards.exp} "
        "--kind {params.kind} --groups {params.groups} --runs {input.runs} "
        "-o {output.png} 2> {log}"


rule report:
    input:
        recur=RECUR,
        script=script("report.py"),
        captions=report_captions(),
        files=report_input,
    output:
        html=f"{RESULTS}/report.html",
    params:
        py=PYTHON,
        args=report_params,
    log:
        f"{RESULTS}/logs/report.log",
    benchmark:
        f"{RESULTS}/benchmarks/report.tsv"
    threads: 1
    shell:
        "{params.py} {input.script} --recur {input.recur} {params.args} "
        "-o {output.html} 2> {log}"
