# suite.smk - recur on the real-task suite (data/tasks/tasks.tsv, built by `make tasks`): every
# task trained with recur's defaults and with the defaults it had before they were chosen on
# this suite, from three seeds, and scored on its test split beside its baselines; the README's
# table comes out as results/suite/table.md. Run it with `make suite`, or
#
#   snakemake -s pipelines/suite.smk --cores 2
#
# One job per task, configuration and seed (pipelines/scripts/suite.py does the work), so the
# runs spread over the cores or a cluster profile like every other workflow of recur's.
import csv

RECUR = "bin/recur"
PY = "/usr/bin/python3"
OUT = "results/suite"
TASKS = {r["name"]: r["kind"] for r in csv.DictReader(open("data/tasks/tasks.tsv"),
                                                      delimiter="\t")}
SEEDS = [1, 2, 3]
# The defaults before issue 13 chose them on this suite (DNA classifiers); forecasters' defaults
# did not change, so their "old" runs are the same command lines.
OLD_DNA = "--cell lstm --unidirectional --pool last --lr 0.001 --clip 0 --epochs 10 --patience 0"
CONFIGS = ["defaults", "old"]


def options(w):
    return OLD_DNA if w.config == "old" and TASKS[w.task] == "dna" else ""


rule suite_all:
    input:
        f"{OUT}/table.md",
    default_target: True


rule suite_run:
    input:
        recur=RECUR,
        tasks="data/tasks/tasks.tsv",
        script="pipelines/scripts/suite.py",
    output:
        f"{OUT}/runs/{{task}}.{{config}}.s{{seed}}/runs.tsv",
    log:
        f"{OUT}/logs/{{task}}.{{config}}.s{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/{{task}}.{{config}}.s{{seed}}.tsv"
    threads: 1
    params:
        opts=options,
    shell:
        "{PY} {input.script} --recur {input.recur} --tasks {input.tasks} --only {wildcards.task}"
        " --config '{wildcards.config}={params.opts}' --seeds {wildcards.seed} --threads {threads}"
        " --out $(dirname {output}) > {log} 2>&1"


rule suite_table:
    input:
        runs=expand(f"{OUT}/runs/{{task}}.{{config}}.s{{seed}}/runs.tsv", task=list(TASKS),
                    config=CONFIGS, seed=SEEDS),
        merge="pipelines/scripts/suite.py",
        table="pipelines/scripts/suite_table.py",
    output:
        summary=f"{OUT}/summary.tsv",
        table=f"{OUT}/table.md",
    log:
        f"{OUT}/logs/table.log",
    shell:
        "({PY} {input.merge} --merge {input.runs} --out {OUT} &&"
        " {PY} {input.table} {output.summary} --configs defaults,old > {output.table}) 2> {log}"
