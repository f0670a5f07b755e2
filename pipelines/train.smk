# train.smk - one `recur train` per run: the experiment's data and training options with the
# run's swept values (cell, hidden size, seed, ...). Writes the model file (HDF5, with the recur
# version and the command line as attributes) and the JSON-lines log of every epoch that the
# learning-curve plot reads; the per-epoch progress lines go to the rule's log.


rule train:
    input:
        unpack(train_input),
    output:
        model=f"{RESULTS}/{{exp}}/{{run}}/model.h5",
        jsonl=f"{RESULTS}/{{exp}}/{{run}}/train.jsonl",
    params:
        args=train_params,
    log:
        f"{RESULTS}/{{exp}}/{{run}}/logs/train.log",
    benchmark:
        f"{RESULTS}/{{exp}}/{{run}}/benchmarks/train.tsv"
    threads: 1
    shell:
        "{input.recur} train {params.args} -@ {threads} "
        "-o {output.model} --log {output.jsonl} 2> {log}"
