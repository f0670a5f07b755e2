# plots.smk - the figures of each run (PNG, with the recur version and the command line in the
# PNG's text chunks): learning curves from the training log, ROC and precision-recall curves and
# the confusion matrix of a classifier, forecasts against truth and error against horizon of a
# forecaster, and the per-step gradient norms from `recur diagnose`. The report() flags feed
# `snakemake --report`; the workflow's own report (summary.smk) uses the same captions.

RUN_CATEGORY = "{exp}"
RUN_SUBCATEGORY = "{run}"


rule plot_learning_curves:
    input:
        recur=RECUR,
        script=script("plot_learning_curves.py"),
        jsonl=f"{RESULTS}/{{exp}}/{{run}}/train.jsonl",
        model=f"{RESULTS}/{{exp}}/{{run}}/model.h5",
    output:
        png=report(
            f"{RESULTS}/{{exp}}/{{run}}/learning_curves.png",
            caption="report/learning_curves.rst",
            category=RUN_CATEGORY,
            subcategory=RUN_SUBCATEGORY,
        ),
    params:
        py=PYTHON,
        title=lambda w: "{} {}".format(w.exp, w.run),
    log:
        f"{RESULTS}/{{exp}}/{{run}}/logs/plot_learning_curves.log",
    benchmark:
        f"{RESULTS}/{{exp}}/{{run}}/benchmarks/plot_learning_curves.tsv"
    threads: 1
    shell:
        "{params.py} {input.script} --recur {input.recur} --title {params.title:q} "
        "--log {input.jsonl} --model {input.model} -o {output.png} 2> {log}"


rule plot_classifier:
    input:
        recur=RECUR,
        script=script("plot_classifier.py"),
        predictions=f"{RESULTS}/{{exp}}/{{run}}/predictions.tsv",
        metrics=f"{RESULTS}/{{exp}}/{{run}}/metrics.tsv",
        truth=f"{RESULTS}/{{exp}}/{{run}}/test.h5",
    output:
        roc=report(
            f"{RESULTS}/{{exp}}/{{run}}/roc.png",
            caption="report/roc.rst",
            category=RUN_CATEGORY,
            subcategory=RUN_SUBCATEGORY,
        ),
        pr=report(
            f"{RESULTS}/{{exp}}/{{run}}/pr.png",
            caption="report/pr.rst",
            category=RUN_CATEGORY,
            subcategory=RUN_SUBCATEGORY,
        ),
        confusion=report(
            f"{RESULTS}/{{exp}}/{{run}}/confusion.png",
            caption="report/confusion.rst",
            category=RUN_CATEGORY,
            subcategory=RUN_SUBCATEGORY,
        ),
    params:
        py=PYTHON,
        title=lambda w: "{} {}".format(w.exp, w.run),
    log:
        f"{RESULTS}/{{exp}}/{{run}}/logs/plot_classifier.log",
    benchmark:
        f"{RESULTS}/{{exp}}/{{run}}/benchmarks/plot_classifier.tsv"
    threads: 1
    shell:
        "{params.py} {input.script} --recur {input.recur} --title {params.title:q} "
        "--predictions {input.predictions} --metrics {input.metrics} --truth {input.truth} "
        "--roc {output.roc} --pr {output.pr} --confusion {output.confusion} 2> {log}"


rule plot_forecast:
    input:
        recur=RECUR,
        script=script("plot_forecast.py"),
        predictions=f"{RESULTS}/{{exp}}/{{run}}/predictions.h5",
        metrics=f"{RESULTS}/{{exp}}/{{run}}/metrics.tsv",
    output:
        forecast=report(
            f"{RESULTS}/{{exp}}/{{run}}/forecast.png",
            caption="report/forecast.rst",
            category=RUN_CATEGORY,
            subcategory=RUN_SUBCATEGORY,
        ),
        horizon=report(
            f"{RESULTS}/{{exp}}/{{run}}/error_horizon.png",
            caption="report/error_horizon.rst",
            category=RUN_CATEGORY,
            subcategory=RUN_SUBCATEGORY,
        ),
    params:
        py=PYTHON,
        title=lambda w: "{} {}".format(w.exp, w.run),
    log:
        f"{RESULTS}/{{exp}}/{{run}}/logs/plot_forecast.log",
    benchmark:
        f"{RESULTS}/{{exp}}/{{run}}/benchmarks/plot_forecast.tsv"
    threads: 1
    shell:
        "{params.py} {input.script} --recur {input.recur} --title {params.title:q} "
        "--predictions {input.predictions} --metrics {input.metrics} "
        "--forecast {output.forecast} --horizon {output.horizon} 2> {log}"


rule plot_gradients:
    input:
        recur=RECUR,
        script=script("plot_gradients.py"),
        tsv=f"{RESULTS}/{{exp}}/{{run}}/diagnose.tsv",
    output:
        png=report(
            f"{RESULTS}/{{exp}}/{{run}}/gradient_norms.png",
            caption="report/gradient_norms.rst",
            category=RUN_CATEGORY,
            subcategory=RUN_SUBCATEGORY,
        ),
    params:
        py=PYTHON,
        title=lambda w: "{} {}".format(w.exp, w.run),
    log:
        f"{RESULTS}/{{exp}}/{{run}}/logs/plot_gradients.log",
    benchmark:
        f"{RESULTS}/{{exp}}/{{run}}/benchmarks/plot_gradients.tsv"
    threads: 1
    shell:
        "{params.py} {input.script} --recur {input.recur} --title {params.title:q} "
        "--diagnose {input.tsv} -o {output.png} 2> {log}"
