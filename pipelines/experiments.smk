# experiments.smk - the science of BPTT as experiments: the adding and copy-memory problems, the
# vanishing and exploding gradient, Lyapunov exponents against trainability, the bias of
# truncated BPTT, clipping, the padding lesson, the forward-Euler view and the linear-RNN
# reference. Each experiment writes <results>/<name>/<name>.tsv and <name>.png, and
# <results>/summary.tsv sets every result beside the published one:
#
#   snakemake --cores 2 results/experiments/summary.tsv
#   snakemake --cores 2 results/experiments-quick/summary.tsv --config bptt=pipelines/config/bptt/quick.yaml
#
# The experiments' configuration is its own file (pipelines/config/bptt/default.yaml, or
# --config bptt=FILE), checked against pipelines/schema/bptt.schema.json; the study
# configuration (config) is not used here but for the recur binary.


include: "bptt_common.smk"


# ---- data ------------------------------------------------------------------------------------


rule bptt_data:
    """A synthetic task with a known answer (recur simulate), one file per task, T, delay
    (_D<steps>, adding only) and split."""
    input:
        recur=RECUR,
    output:
        xpath("data/{task}_T{T}{dsuf}_{split}.h5"),
    params:
        n=lambda w: BPTT["data"][w.split],
        seed=_bdata_seed,
        delay=_bdata_delay,
    log:
        xpath("logs/data/{task}_T{T}{dsuf}_{split}.log"),
    wildcard_constraints:
        task="adding|copy",
        split="train|val|test",
        T=r"[0-9]{1,9}",
        dsuf=r"(_D[0-9]{1,9})?",
    shell:
        "{input.recur} simulate {wildcards.task} -n {params.n} -T {wildcards.T} {params.delay} "
        "--seed {params.seed} -o {output} 2> {log}"


# ---- training, evaluation, diagnostics per run -----------------------------------------------


rule bptt_train:
    """One training run; --epochs 0 runs write the initialised model (for diagnostics)."""
    input:
        recur=RECUR,
        train=lambda w: _bdata(_bkey(w.xp, w.xr), "train"),
        val=lambda w: _bdata(_bkey(w.xp, w.xr), "val"),
    output:
        model=xpath("{xp}/runs/{xr}/model.h5"),
        log=xpath("{xp}/runs/{xr}/train.jsonl"),
        grad=xpath("{xp}/runs/{xr}/grad.tsv"),
    params:
        opts=lambda w: " ".join(shlex.quote(o) for o in BRUNS[_bkey(w.xp, w.xr)]["options"]),
    log:
        xpath("{xp}/runs/{xr}/train.log"),
    threads: 1
    shell:
        "{input.recur} train --data {input.train} --val-data {input.val} {params.opts} "
        "--log {output.log} --grad-log {output.grad} -o {output.model} 2> {log}"


rule bptt_eval:
    """Test-set loss (MSE for the adding problem, cross-entropy per step for copy)."""
    input:
        recur=RECUR,
        model=xpath("{xp}/runs/{xr}/model.h5"),
        test=lambda w: _bdata(_bkey(w.xp, w.xr), "test"),
    output:
        xpath("{xp}/runs/{xr}/test.tsv"),
    log:
        xpath("{xp}/runs/{xr}/eval.log"),
    shell:
        "{input.recur} eval -m {input.model} --data {input.test} -o {output} 2> {log}"


rule bptt_diagnose:
    """Gradient norms, Jacobian norms, Lyapunov exponents, truncation bias (recur diagnose)."""
    input:
        recur=RECUR,
        model=xpath("{xp}/runs/{xr}/model.h5"),
        test=lambda w: _bdata(_bkey(w.xp, w.xr), "test"),
    output:
        xpath("{xp}/runs/{xr}/diagnose.tsv"),
    params:
        opts=lambda w: " ".join(BRUNS[_bkey(w.xp, w.xr)]["diagnose"] or []),
    log:
        xpath("{xp}/runs/{xr}/diagnose.log"),
    shell:
        "{input.recur} diagnose -m {input.model} --data {input.test} {params.opts} -o {output} "
        "2> {log}"


rule bptt_grad_stats:
    """Gradient-norm statistics before and after clipping, from the per-update log."""
    input:
        recur=RECUR,
        grad=xpath("{xp}/runs/{xr}/grad.tsv"),
    output:
        xpath("{xp}/runs/{xr}/grad_stats.tsv"),
    log:
        xpath("{xp}/runs/{xr}/grad_stats.log"),
    shell:
        "{input.recur} diagnose --train-log {input.grad} -o {output} 2> {log}"


rule bptt_padding_leak:
    """The padding lesson: the gradient leaked by an unmasked regulariser, against P."""
    input:
        recur=RECUR,
        model=os.path.join(_brun_dir(_PAD_MODEL), "model.h5"),
        test=_bdata(_PAD_MODEL, "test"),
    output:
        xpath("padding/padding_raw.tsv"),
    params:
        P=",".join(str(p) for p in BPTT["padding"]["P"]),
        reg=BPTT["padding"]["act_reg"],
    log:
        xpath("logs/padding.log"),
    shell:
        "{input.recur} diagnose -m {input.model} --data {input.test} --max-lag 1 "
        "--lyapunov-k 1 --tbptt 1 --padding {params.P} --act-reg {params.reg} -o {output} "
        "2> {log}"


rule bptt_ode:
    """The forward-Euler view: stability of forward and backward passes against dt."""
    input:
        recur=RECUR,
    output:
        xpath("ode/ode_raw.tsv"),
    params:
        opts=" ".join(shlex.quote(str(o)) for o in BPTT["ode"]),
    log:
        xpath("logs/ode.log"),
    shell:
        "{input.recur} diagnose euler {params.opts} -o {output} 2> {log}"


rule bptt_linear:
    """Timing of the linear-RNN reference: the O(T^2) sum over t and k against BPTT's O(T)."""
    input:
        recur=RECUR,
    output:
        xpath("linear/linear_raw.tsv"),
    params:
        opts=" ".join(shlex.quote(str(o)) for o in BPTT["linear"]),
    log:
        xpath("logs/linear.log"),
    threads: 2  # alone on the machine, so that the timings are not disturbed
    shell:
        "{input.recur} diagnose linear {params.opts} -o {output} 2> {log}"


# ---- tables and figures per experiment, and the summary ---------------------------------------


rule bptt_experiment:
    """The experiment's table and figure."""
    input:
        _bexp_inputs,
    output:
        tsv=xpath("{xp}/{xp}.tsv"),
        png=xpath("{xp}/{xp}.png"),
    params:
        python=PYTHON,
        script=script("experiments.py"),
        bptt=_BPTT_FILE,
    log:
        xpath("logs/{xp}.log"),
    shell:
        "{params.python} {params.script} {wildcards.xp} --config {params.bptt} "
        "--tsv {output.tsv} --png {output.png} {input} 2> {log}"


rule bptt_summary:
    """Every experiment's result beside the published one."""
    input:
        expand(xpath("{xp}/{xp}.tsv"), xp=BPTT_EXPERIMENTS),
        expand(xpath("{xp}/{xp}.png"), xp=BPTT_EXPERIMENTS),
    output:
        xpath("summary.tsv"),
    params:
        python=PYTHON,
        script=script("experiments.py"),
        bptt=_BPTT_FILE,
    log:
        xpath("logs/summary.log"),
    shell:
        "{params.python} {params.script} summary --config {params.bptt} --tsv {output} "
        "{input} 2> {log}"
