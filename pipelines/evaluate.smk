# evaluate.smk - what each trained model is worth on the held-out test data: `recur eval`
# (metrics TSV: a classifier's metric/class/value rows, or a forecaster's errors per horizon next
# to the persistence, climatology and ridge baselines), `recur predict` (per-record class
# probabilities as TSV, or forecasts as HDF5), and `recur diagnose` (gradient flow through time)
# on the test set encoded with the model's own encoding and classes.


rule eval:
    input:
        unpack(test_input),
    output:
        tsv=f"{RESULTS}/{{exp}}/{{run}}/metrics.tsv",
    params:
        args=eval_params,
    log:
        f"{RESULTS}/{{exp}}/{{run}}/logs/eval.log",
    benchmark:
        f"{RESULTS}/{{exp}}/{{run}}/benchmarks/eval.tsv"
    threads: 1
    shell:
        "{input.recur} eval -m {input.model} {params.args} -@ {threads} "
        "-o {output.tsv} 2> {log}"


rule predict_classes:
    input:
        unpack(test_input),
    output:
        tsv=f"{RESULTS}/{{exp}}/{{run}}/predictions.tsv",
    params:
        args=predict_params,
    log:
        f"{RESULTS}/{{exp}}/{{run}}/logs/predict.log",
    benchmark:
        f"{RESULTS}/{{exp}}/{{run}}/benchmarks/predict.tsv"
    threads: 1
    shell:
        "{input.recur} predict -m {input.model} {params.args} -@ {threads} "
        "-o {output.tsv} 2> {log}"


rule predict_forecasts:
    input:
        unpack(test_input),
    output:
        h5=f"{RESULTS}/{{exp}}/{{run}}/predictions.h5",
    params:
        args=predict_params,
    log:
        f"{RESULTS}/{{exp}}/{{run}}/logs/predict.log",
    benchmark:
        f"{RESULTS}/{{exp}}/{{run}}/benchmarks/predict.tsv"
    threads: 1
    shell:
        "{input.recur} predict -m {input.model} {params.args} -@ {threads} "
        "-o {output.h5} 2> {log}"


rule encode_test:
    input:
        unpack(test_input),
    output:
        h5=f"{RESULTS}/{{exp}}/{{run}}/test.h5",
    params:
        args=lambda w: data_args(w.exp, "test"),
    log:
        f"{RESULTS}/{{exp}}/{{run}}/logs/encode_test.log",
    benchmark:
        f"{RESULTS}/{{exp}}/{{run}}/benchmarks/encode_test.tsv"
    threads: 1
    shell:
        "{input.recur} encode -m {input.model} {params.args} -@ {threads} "
        "-o {output.h5} 2> {log}"


# recur diagnose is single-threaded (no -@): it runs the engine on one batch.
rule diagnose:
    input:
        recur=RECUR,
        model=f"{RESULTS}/{{exp}}/{{run}}/model.h5",
        data=f"{RESULTS}/{{exp}}/{{run}}/test.h5",
    output:
        tsv=f"{RESULTS}/{{exp}}/{{run}}/diagnose.tsv",
    params:
        args=diagnose_params,
    log:
        f"{RESULTS}/{{exp}}/{{run}}/logs/diagnose.log",
    benchmark:
        f"{RESULTS}/{{exp}}/{{run}}/benchmarks/diagnose.tsv"
    threads: 1
    shell:
        "{input.recur} diagnose -m {input.model} --data {input.data} {params.args} "
        "-o {output.tsv} 2> {log}"
