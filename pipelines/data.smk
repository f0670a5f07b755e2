# data.smk - preparing the data of an experiment once, before any run trains on it: a DNA
# experiment's train and test inputs read, labelled and one-hot encoded by `recur encode` (which
# fails early on an unreadable input or a record without a label), and a summary table of the
# data (records per class and split, or the series' variables) for the report.


rule encode_split:
    input:
        unpack(lambda w: {"recur": RECUR, "data": data_files(w.exp, w.split)}),
    output:
        h5=f"{RESULTS}/{{exp}}/data/{{split}}.h5",
    params:
        args=lambda w: data_args(w.exp, w.split),
    log:
        f"{RESULTS}/{{exp}}/logs/encode_{{split}}.log",
    benchmark:
        f"{RESULTS}/{{exp}}/benchmarks/encode_{{split}}.tsv"
    threads: 1
    shell:
        "{input.recur} encode {params.args} -@ {threads} -o {output.h5} 2> {log}"


rule data_summary:
    input:
        unpack(data_summary_input),
    output:
        tsv=f"{RESULTS}/{{exp}}/data_summary.tsv",
    params:
        py=PYTHON,
        args=data_summary_params,
    log:
        f"{RESULTS}/{{exp}}/logs/data_summary.log",
    benchmark:
        f"{RESULTS}/{{exp}}/benchmarks/data_summary.tsv"
    threads: 1
    shell:
        "{params.py} {input.script} --recur {input.recur} {params.args} -o {output.tsv} 2> {log}"
