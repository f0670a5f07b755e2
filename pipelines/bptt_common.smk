# bptt_common.smk - the BPTT experiments' configuration (pipelines/config/bptt/*.yaml, checked
# against pipelines/schema/bptt.schema.json), the runs it declares and the helpers that name
# their files. Only functions and tables here; the rules are in pipelines/experiments.smk.

import yaml

_BPTT_FILE = config.get("bptt", os.path.join(workflow.basedir, "pipelines", "config", "bptt",
                                              "default.yaml"))
with open(_BPTT_FILE) as _f:
    BPTT = yaml.safe_load(_f)
validate(BPTT, "schema/bptt.schema.json")

XR = os.path.normpath(BPTT["results"])


def xpath(rel):
    """A path under the experiments' results directory."""
    return os.path.join(XR, rel)


def _bkey(exp, name):
    """The key of a run in BRUNS: experiment/run."""
    return os.path.join(exp, name)


def _bname(key):
    """The run's name of a BRUNS key."""
    return os.path.basename(key)
SEEDS = BPTT["seeds"]
_SPLIT_SEED = {"train": 1, "val": 2, "test": 3}
BPTT_EXPERIMENTS = ["adding", "copy", "vanishing", "lyapunov", "truncation", "clipping",
                    "padding", "ode", "linear"]


wildcard_constraints:
    xp="|".join(BPTT_EXPERIMENTS),
    xr=r"[^/]{1,200}",

_TASK_SEED = {"adding": 0, "copy": 5}


def _bopts(d):
    """recur command-line options from a dict, in order (true = a flag)."""
    out = []
    for k, v in d.items():
        if v is True:
            out.append("--{}".format(k))
        elif v is not False and v is not None:
            out += ["--{}".format(k), str(v)]
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
    BRUNS[_bkey(exp, name)] = {"task": task, "T": int(T), "delay": int(delay),
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
    return sorted(r for r in BRUNS if r.startswith(_bkey(exp, "")))


def _brun_dir(run):
    exp, name = os.path.split(run)
    return os.path.join(XR, exp, "runs", name)

def _bdata_seed(w):
    """The seed of a data file: distinct for every split, task, T and delay."""
    delay = int(w.dsuf[2:]) if w.dsuf else 0
    return sum((1000000 * _SPLIT_SEED[w.split], 1000 * _TASK_SEED[w.task], int(w.T),
                100000 * delay))


def _bdata_delay(w):
    """recur simulate's --delay option of a data file (_D<steps> in its name)."""
    return "--delay {}".format(w.dsuf[2:]) if w.dsuf else ""


def _bdata(run, split):
    r = BRUNS[run]
    dsuf = "_D{}".format(r["delay"]) if r["delay"] else ""
    return os.path.join(XR, "data", "{}_T{}{}_{}.h5".format(r["task"], r["T"], dsuf, split))

def _bfiles(exp, name, which=None):
    return [os.path.join(_brun_dir(r), name) for r in _bruns_of(exp) if which is None or which(r)]

def _bexp_inputs(w):
    exp = w.xp
    if exp in ("adding", "copy", "truncation", "clipping", "lyapunov"):
        trained = lambda r: not _bname(r).startswith("init_")
        ins = _bfiles(exp, "train.jsonl", trained) + _bfiles(exp, "test.tsv", trained)
        if exp == "lyapunov":
            ins += _bfiles(exp, "diagnose.tsv", lambda r: _bname(r).startswith("init_"))
        if exp == "truncation":
            ins += _bfiles(exp, "diagnose.tsv", lambda r: BRUNS[r]["diagnose"] is not None)
        if exp == "clipping":
            ins += _bfiles(exp, "grad_stats.tsv") + _bfiles(exp, "grad.tsv")
        return ins
    if exp == "vanishing":
        return _bfiles(exp, "diagnose.tsv")
    return ["{}/{}/{}_raw.tsv".format(XR, exp, exp)]
