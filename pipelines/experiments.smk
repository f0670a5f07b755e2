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

import yaml

_BPTT_FILE = config.get("bptt", os.path.join(workflow.basedir, "pipelines", "config", "bptt",
                                              "default.yaml"))
with open(_BPTT_FILE) as _f:
    BPTT = yaml.safe_load(_f)
validate(BPTT, "schema/bptt.schema.json")

XR = BPTT["results"].rstrip("/")
SEEDS = BPTT["seeds"]
_SPLIT_SEED = {"train": 1, "val": 2, "test": 3}
BPTT_EXPERIMENTS = ["adding", "copy", "vanishing", "lyapunov", "truncation", "clipping",
                    "padding", "ode", "linear"]


wildcard_constraints:
    xp="|".join(BPTT_EXPERIMENTS),
    xr=r"[^/]+",

_TASK_SEED = {"adding": 0, "copy": 5}


def _bopts(d):
    """recur command-line options from a dict, in order (true = a flag)."""
    out = []
    for k, v in d.items():
        if v is True:
            out.append("--" + k)
        elif v is not False and v is not None:
            out += ["--" + k, str(v)]
    return out


def _train_bopts(*sections):
    """The training defaults, then each section's options over them."""
    merged = dict(BPTT["train"])
    for s in sections:
        merged.update(s or {})
    return merged


# ---- the runs: experiment/run -> task, T, options --------------------------------------------
BRUNS = {}


def _brun(exp, name, task, T, opts, diag=None, delay=0):
    BRUNS[exp + "/" + name] = {"task": task, "T": int(T), "delay": int(delay),
                               "options": _bopts(opts), "diagnose": diag}


for _T in BPTT["adding"]["T"]:
    for _c in BPTT["adding"]["cells"]:
        for _s in SEEDS:
            _brun("adding", "{}_T{}_s{}".format(_c, _T, _s), "adding", _T,
                 _train_bopts(BPTT["adding"].get("train"), BPTT["adding"].get(_c),
                                {"cell": _c, "seed": _s}))
for _T in BPTT["copy"]["T"]:
    for _c in BPTT["copy"]["cells"]:
        for _s in SEEDS:
            _brun("copy", "{}_T{}_s{}".format(_c, _T, _s), "copy", _T,
                 _train_bopts(BPTT["copy"].get("train"), BPTT["copy"].get(_c),
                                {"cell": _c, "seed": _s}))
_V = BPTT["vanishing"]
_VDIAG = ["--max-lag", str(_V["T"] - 1), "--lyapunov-k", "1", "--tbptt", str(_V["T"])]
for _s in SEEDS:
    for _r in _V["rnn_radius"]:
        _brun("vanishing", "rnn_rho{}_s{}".format(_r, _s), "adding", _V["T"],
             _train_bopts({"cell": "rnn", "spectral-radius": _r, "epochs": 0, "seed": _s}),
             _VDIAG)
    for _g in _V["gated"]:
        _brun("vanishing", "{}_fb{}_s{}".format(_g["cell"], _g["forget-bias"], _s), "adding",
             _V["T"], _train_bopts(_g, {"epochs": 0, "seed": _s}), _VDIAG)
_L = BPTT["lyapunov"]
_LDIAG = ["--max-lag", "1", "--lyapunov-k", "3", "--tbptt", str(_L["T"])]
for _s in SEEDS:
    for _r in _L["radius"]:
        _o = _train_bopts(_L.get("train"), {"cell": "rnn", "spectral-radius": _r, "seed": _s})
        _brun("lyapunov", "rho{}_s{}".format(_r, _s), "adding", _L["T"], _o, _LDIAG)
        _brun("lyapunov", "init_rho{}_s{}".format(_r, _s), "adding", _L["T"],
             dict(_o, epochs=0), _LDIAG)
_TR = BPTT["truncation"]
for _s in SEEDS:
    for _K in _TR["train_K"]:
        _o = _train_bopts(_TR.get("train"), {"seed": _s})
        if _K < _TR["T"]:
            _o["tbptt"] = _K
        _diag = None
        if _K >= _TR["T"]:  # the full-BPTT model: the bias of truncation against K
            _diag = ["--max-lag", "1", "--lyapunov-k", "1", "--tbptt",
                     ",".join(str(k) for k in _TR["bias_K"])]
        _brun("truncation", "K{}_s{}".format(_K, _s), "adding", _TR["T"], _o, _diag)
        # the same windows when both markers lie more than `delay` steps before the loss
        _dl = _TR["delayed"]
        _o = _train_bopts(_TR.get("train"), {"seed": _s})
        if _K < _dl["T"] + _dl["delay"]:
            _o["tbptt"] = _K
        _brun("truncation", "delayed_K{}_s{}".format(_K, _s), "adding", _dl["T"], _o,
              delay=_dl["delay"])
_CL = BPTT["clipping"]
for _s in SEEDS:
    for _c in _CL["clip"]:
        _brun("clipping", "clip{}_s{}".format(_c, _s), "adding", _CL["T"],
             _train_bopts(_CL.get("train"), {"clip": _c, "seed": _s}))
# the padding lesson on the trained LSTM of the truncation experiment (full BPTT, first seed)
_PAD_MODEL = "truncation/K{}_s{}".format(max(_TR["train_K"]), SEEDS[0])


def _bruns_of(exp):
    return sorted(r for r in BRUNS if r.startswith(exp + "/"))


def _brun_dir(run):
    exp, name = run.split("/")
    return "{}/{}/runs/{}".format(XR, exp, name)


# ---- data ------------------------------------------------------------------------------------


rule bptt_data:
    """A synthetic task with a known answer (recur simulate), one file per task, T, delay
    (_D<steps>, adding only) and split."""
    output:
        XR + "/data/{task}_T{T}{dsuf}_{split}.h5",
    params:
        n=lambda w: BPTT["data"][w.split],
        seed=lambda w: 1000000 * _SPLIT_SEED[w.split] + 1000 * _TASK_SEED[w.task] + int(w.T)
        + 100000 * int(w.dsuf[2:] or 0),
        delay=lambda w: "--delay " + w.dsuf[2:] if w.dsuf else "",
    wildcard_constraints:
        task="adding|copy",
        split="train|val|test",
        T=r"\d+",
        dsuf=r"(_D\d+)?",
    input:
        recur=RECUR,
    shell:
        "{input.recur} simulate {wildcards.task} -n {params.n} -T {wildcards.T} {params.delay} "
        "--seed {params.seed} -o {output}"


def _bdata(run, split):
    r = BRUNS[run]
    dsuf = "_D{}".format(r["delay"]) if r["delay"] else ""
    return "{}/data/{}_T{}{}_{}.h5".format(XR, r["task"], r["T"], dsuf, split)


# ---- training, evaluation, diagnostics per run -----------------------------------------------


rule bptt_train:
    """One training run; --epochs 0 runs write the initialised model (for diagnostics)."""
    input:
        recur=RECUR,
        train=lambda w: _bdata(w.xp + "/" + w.xr, "train"),
        val=lambda w: _bdata(w.xp + "/" + w.xr, "val"),
    output:
        model=XR + "/{xp}/runs/{xr}/model.h5",
        log=XR + "/{xp}/runs/{xr}/train.jsonl",
        grad=XR + "/{xp}/runs/{xr}/grad.tsv",
    params:
        opts=lambda w: " ".join(shlex.quote(o) for o in BRUNS[w.xp + "/" + w.xr]["options"]),
    log:
        XR + "/{xp}/runs/{xr}/train.log",
    threads: 1
    shell:
        "{input.recur} train --data {input.train} --val-data {input.val} {params.opts} "
        "--log {output.log} --grad-log {output.grad} -o {output.model} 2> {log}"


rule bptt_eval:
    """Test-set loss (MSE for the adding problem, cross-entropy per step for copy)."""
    input:
        recur=RECUR,
        model=XR + "/{xp}/runs/{xr}/model.h5",
        test=lambda w: _bdata(w.xp + "/" + w.xr, "test"),
    output:
        XR + "/{xp}/runs/{xr}/test.tsv",
    shell:
        "{input.recur} eval -m {input.model} --data {input.test} -o {output}"


rule bptt_diagnose:
    """Gradient norms, Jacobian norms, Lyapunov exponents, truncation bias (recur diagnose)."""
    input:
        recur=RECUR,
        model=XR + "/{xp}/runs/{xr}/model.h5",
        test=lambda w: _bdata(w.xp + "/" + w.xr, "test"),
    output:
        XR + "/{xp}/runs/{xr}/diagnose.tsv",
    params:
        opts=lambda w: " ".join(BRUNS[w.xp + "/" + w.xr]["diagnose"] or []),
    shell:
        "{input.recur} diagnose -m {input.model} --data {input.test} {params.opts} -o {output}"


rule bptt_grad_stats:
    """Gradient-norm statistics before and after clipping, from the per-update log."""
    input:
        recur=RECUR,
        grad=XR + "/{xp}/runs/{xr}/grad.tsv",
    output:
        XR + "/{xp}/runs/{xr}/grad_stats.tsv",
    shell:
        "{input.recur} diagnose --train-log {input.grad} -o {output}"


rule bptt_padding_leak:
    """The padding lesson: the gradient leaked by an unmasked regulariser, against P."""
    input:
        recur=RECUR,
        model=_brun_dir(_PAD_MODEL) + "/model.h5",
        test=_bdata(_PAD_MODEL, "test"),
    output:
        XR + "/padding/padding_raw.tsv",
    params:
        P=",".join(str(p) for p in BPTT["padding"]["P"]),
        reg=BPTT["padding"]["act_reg"],
    shell:
        "{input.recur} diagnose -m {input.model} --data {input.test} --max-lag 1 "
        "--lyapunov-k 1 --tbptt 1 --padding {params.P} --act-reg {params.reg} -o {output}"


rule bptt_ode:
    """The forward-Euler view: stability of forward and backward passes against dt."""
    input:
        recur=RECUR,
    output:
        XR + "/ode/ode_raw.tsv",
    params:
        opts=" ".join(shlex.quote(str(o)) for o in BPTT["ode"]),
    shell:
        "{input.recur} diagnose euler {params.opts} -o {output}"


rule bptt_linear:
    """Timing of the linear-RNN reference: the O(T^2) sum over t and k against BPTT's O(T)."""
    input:
        recur=RECUR,
    output:
        XR + "/linear/linear_raw.tsv",
    params:
        opts=" ".join(shlex.quote(str(o)) for o in BPTT["linear"]),
    threads: 2  # alone on the machine, so that the timings are not disturbed
    shell:
        "{input.recur} diagnose linear {params.opts} -o {output}"


# ---- tables and figures per experiment -------------------------------------------------------


def _bfiles(exp, name, which=None):
    return [_brun_dir(r) + "/" + name for r in _bruns_of(exp) if which is None or which(r)]


def _bexp_inputs(w):
    exp = w.xp
    if exp in ("adding", "copy", "truncation", "clipping", "lyapunov"):
        trained = lambda r: "/init_" not in r
        ins = _bfiles(exp, "train.jsonl", trained) + _bfiles(exp, "test.tsv", trained)
        if exp == "lyapunov":
            ins += _bfiles(exp, "diagnose.tsv", lambda r: "/init_" in r)
        if exp == "truncation":
            ins += _bfiles(exp, "diagnose.tsv", lambda r: BRUNS[r]["diagnose"] is not None)
        if exp == "clipping":
            ins += _bfiles(exp, "grad_stats.tsv") + _bfiles(exp, "grad.tsv")
        return ins
    if exp == "vanishing":
        return _bfiles(exp, "diagnose.tsv")
    return ["{}/{}/{}_raw.tsv".format(XR, exp, exp)]


rule bptt_experiment:
    """The experiment's table and figure."""
    input:
        _bexp_inputs,
    output:
        tsv=XR + "/{xp}/{xp}.tsv",
        png=XR + "/{xp}/{xp}.png",
    params:
        script=script("experiments.py"),
        bptt=_BPTT_FILE,
    shell:
        "{PYTHON} {params.script} {wildcards.xp} --config {params.bptt} --tsv {output.tsv} "
        "--png {output.png} {input}"


rule bptt_summary:
    """Every experiment's result beside the published one."""
    input:
        expand(XR + "/{xp}/{xp}.tsv", xp=BPTT_EXPERIMENTS),
        expand(XR + "/{xp}/{xp}.png", xp=BPTT_EXPERIMENTS),
    output:
        XR + "/summary.tsv",
    params:
        script=script("experiments.py"),
        bptt=_BPTT_FILE,
    shell:
        "{PYTHON} {params.script} summary --config {params.bptt} --tsv {output} "
        "{input}"
