# common.smk - configuration loading and validation (pipelines/schema/config.schema.json), the
# sweep expanded into runs, recur's command-line options built from the configuration, and the
# lists of files each experiment and the report need. Only functions here; rules live in the
# other pipelines/*.smk files.

import itertools
import json
import os
import re
import shlex
import shutil
import sys

from snakemake.logging import logger
from snakemake.utils import validate, min_version

min_version("7.21")


def _refuse_managed_options(cfg):
    """A clearer message than the schema's for the options the workflow sets itself."""
    with open(os.path.join(workflow.current_basedir, "schema", "config.schema.json")) as f:
        managed = set(json.load(f)["definitions"]["managed"]["enum"])
    for exp, e in (cfg.get("experiments") or {}).items():
        if not isinstance(e, dict):
            continue
        sections = {s: e.get(s) for s in ("train", "eval", "predict", "diagnose", "sweep")}
        if isinstance(e.get("data"), dict):
            sections["data.options"] = e["data"].get("options")
        for section, options in sections.items():
            for key in options if isinstance(options, dict) else ():
                if key in managed and not (section == "sweep" and key == "seed"):
                    raise ValueError(
                        "configuration: experiments.{}.{}: '{}' is not set in the configuration: "
                        "inputs and outputs come from the data section, seeds from "
                        "sweep.seed, and threads, memory and time from the profile "
                        "(pipelines/profiles/)".format(exp, section, key))


_refuse_managed_options(config)
validate(config, "schema/config.schema.json")

# ---- Paths ------------------------------------------------------------------------------------

RESULTS = config["results"].rstrip("/")
EXPERIMENTS = config["experiments"]

# The plotting scripts run under the interpreter that runs Snakemake: Debian's /usr/bin/python3
# for Debian's snakemake, which has matplotlib, numpy and h5py from Debian packages.
PYTHON = sys.executable
SCRIPTS = os.path.join(workflow.basedir, "pipelines", "scripts")
CAPTIONS = os.path.join(workflow.basedir, "pipelines", "report")


def script(name):
    """Path of a script in pipelines/scripts/."""
    return os.path.join(SCRIPTS, name)


def _recur_binary(value):
    """The recur binary as a file Snakemake can track: a path as given (relative to the working
    directory), or a bare command name resolved on PATH."""
    if os.sep in value or os.path.exists(value):
        return value
    found = shutil.which(value)
    return found if found else value


RECUR = _recur_binary(config["recur"])
if not os.path.exists(RECUR):
    logger.warning("recur: {} does not exist yet; build it with `make` first".format(RECUR))

# ---- Runs -------------------------------------------------------------------------------------

# Short forms of the common sweep keys in run names: lstm_h32_s1 rather than cell-lstm_hidden-32_...
_SHORT = {"cell": "", "hidden": "h", "layers": "l", "seed": "s"}


def _value_text(v):
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _name_part(key, value):
    text = re.sub(r"[^A-Za-z0-9.+-]", "_", _value_text(value))
    if key in _SHORT:
        return _SHORT[key] + text
    return "{}-{}".format(key.replace("_", "-"), text)


def sweep_keys(exp):
    """The swept keys of experiment exp in configuration order, seed last."""
    sweep = EXPERIMENTS[exp].get("sweep") or {}
    return [k for k in sweep if k != "seed"] + ["seed"]


def group_keys(exp):
    """The swept keys whose runs are aggregated over seeds: every key but seed."""
    return sweep_keys(exp)[:-1]


def _expand_runs(exp):
    sweep = dict(EXPERIMENTS[exp].get("sweep") or {})
    sweep.setdefault("seed", [1])
    keys = sweep_keys(exp)
    runs = {}
    for values in itertools.product(*(sweep[k] for k in keys)):
        settings = dict(zip(keys, values))
        name = "_".join(p for p in (_name_part(k, settings[k]) for k in keys) if p)
        if name in runs:
            raise ValueError(
                "experiment {}: two runs would share the directory {} ({} and {}); "
                "give the sweep distinct values".format(exp, name, runs[name], settings)
            )
        runs[name] = settings
    return runs


RUNS = {exp: _expand_runs(exp) for exp in EXPERIMENTS}


def runs(exp):
    """Run directory names of experiment exp, in sweep order."""
    return list(RUNS[exp])


def run_settings(exp, run):
    """The swept values of one run: {key: value}."""
    return RUNS[exp][run]


def task(exp):
    return EXPERIMENTS[exp]["task"]


def _alternation(names):
    return "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True)) or "^$"


wildcard_constraints:
    exp=_alternation(EXPERIMENTS),
    run=_alternation(r for e in EXPERIMENTS for r in RUNS[e]),
    split="train|test",


# ---- Command-line options ---------------------------------------------------------------------

# Options whose value is a file the command reads: they become inputs of the rule too.
FILE_OPTIONS = {"ref", "labels", "init"}


def flags(options):
    """recur options from a {name: value} mapping: batch_size: 32 -> --batch-size 32; true -> the
    bare flag; false or null -> left out; a list -> comma-joined."""
    out = []
    for key, value in (options or {}).items():
        if value is None or value is False:
            continue
        name = "--{}".format(key.replace("_", "-"))
        if value is True:
            out.append(name)
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(_value_text(v) for v in value)
        out += [name, shlex.quote(_value_text(value))]
    return " ".join(out)


def option_files(options):
    return [str(v) for k, v in (options or {}).items() if k in FILE_OPTIONS and v]


def train_options(exp, run):
    """recur train options of one run: the experiment's, then the run's swept values."""
    opts = dict(EXPERIMENTS[exp].get("train") or {})
    opts.update(run_settings(exp, run))
    return opts


def _dna_inputs(exp, split):
    """(flags, files) of a DNA experiment's split: --fasta FILE:LABEL ... and the data options."""
    data = EXPERIMENTS[exp]["data"]
    out, files = [], []
    for item in data[split]:
        kind = next(k for k in ("fasta", "bed", "bam") if k in item)
        arg = "{}:{}".format(item[kind], item["label"]) if "label" in item else item[kind]
        out += ["--{}".format(kind), shlex.quote(arg)]
        files.append(item[kind])
    for key in ("ref", "labels"):
        if key in data:
            out += ["--{}".format(key), shlex.quote(data[key])]
            files.append(data[key])
    options = data.get("options") or {}
    if options:
        out.append(flags(options))
    return " ".join(out), files + option_files(options)


def _forecast_inputs(exp, split):
    """(flags, files) of a forecasting experiment: for training, the series (--h5, --vars,
    --target, ...) and the data options (encoding, splits); afterwards only the file and the
    split, since the model carries the variables and the encoding (eval, predict and encode
    would accept them restated, and refuse them when they differ from the model's)."""
    data = EXPERIMENTS[exp]["data"]
    if split != "train":
        return flags({"h5": data["h5"], "split": split}), [data["h5"]]
    opts = {"h5": data["h5"]}
    for key in ("dataset", "vars", "target"):
        if key in data:
            opts[key] = data[key]
    opts.update(data.get("options") or {})
    return flags(opts), [data["h5"]] + option_files(data.get("options"))


def data_args(exp, split):
    """recur options naming the data of a split ('train' or 'test') of experiment exp."""
    if task(exp) == "dna":
        return _dna_inputs(exp, split)[0]
    return _forecast_inputs(exp, split)[0]


def data_files(exp, split):
    """The input files behind data_args(exp, split)."""
    if task(exp) == "dna":
        return _dna_inputs(exp, split)[1]
    return _forecast_inputs(exp, split)[1]


# ---- Rule inputs and parameters (functions of the wildcards) ------------------------------------


def run_dir(w):
    return "{}/{}/{}".format(RESULTS, w.exp, w.run)


def train_input(w):
    opts = train_options(w.exp, w.run)
    return {"recur": RECUR, "data": data_files(w.exp, "train") + option_files(opts)}


def train_params(w):
    args = [data_args(w.exp, "train"), flags(train_options(w.exp, w.run))]
    return " ".join(a for a in args if a)


def test_input(w):
    return {
        "recur": RECUR,
        "model": "{}/model.h5".format(run_dir(w)),
        "data": data_files(w.exp, "test"),
    }


def eval_params(w):
    return " ".join(a for a in (data_args(w.exp, "test"), flags(EXPERIMENTS[w.exp].get("eval")))
                    if a)


def predict_params(w):
    return " ".join(
        a for a in (data_args(w.exp, "test"), flags(EXPERIMENTS[w.exp].get("predict"))) if a
    )


def diagnose_params(w):
    return flags(EXPERIMENTS[w.exp].get("diagnose"))


def data_summary_input(w):
    files = {"recur": RECUR, "script": script("data_summary.py")}
    if task(w.exp) == "dna":
        for split in ("train", "test"):
            files[split] = "{}/{}/data/{}.h5".format(RESULTS, w.exp, split)
    else:
        files["series"] = EXPERIMENTS[w.exp]["data"]["h5"]
    return files


def data_summary_params(w):
    if task(w.exp) == "dna":
        return " ".join(
            "--dataset {}={}".format(split, shlex.quote("{}/{}/data/{}.h5".format(RESULTS, w.exp,
                                                                                   split)))
            for split in ("train", "test")
        )
    data = EXPERIMENTS[w.exp]["data"]
    opts = {"series": data["h5"]}
    for key in ("dataset", "vars", "target"):
        if key in data:
            opts[key] = data[key]
    return flags(opts)


# ---- Targets -----------------------------------------------------------------------------------

RUN_FILES = {
    "dna": ["model.h5", "train.jsonl", "metrics.tsv", "predictions.tsv", "diagnose.tsv",
            "learning_curves.png", "roc.png", "pr.png", "confusion.png", "gradient_norms.png"],
    "forecast": ["model.h5", "train.jsonl", "metrics.tsv", "predictions.h5", "diagnose.tsv",
                 "learning_curves.png", "forecast.png", "error_horizon.png",
                 "gradient_norms.png"],
}
EXPERIMENT_FILES = ["data_summary.tsv", "runs.tsv", "summary.tsv", "summary.png"]


def run_files(exp, run, names=None):
    return ["{}/{}/{}/{}".format(RESULTS, exp, run, f) for f in (names or RUN_FILES[task(exp)])]


def experiment_files(exp):
    files = ["{}/{}/{}".format(RESULTS, exp, f) for f in EXPERIMENT_FILES]
    for run in runs(exp):
        files += run_files(exp, run)
    return files


def all_metrics(w):
    return ["{}/{}/{}/metrics.tsv".format(RESULTS, w.exp, run) for run in runs(w.exp)]


def sweep_table(exp):
    """--runs arguments of aggregate.py: RUN:KEY=VALUE,KEY=VALUE for every run."""
    out = []
    for run, settings in RUNS[exp].items():
        pairs = ",".join("{}={}".format(k, _value_text(v)) for k, v in settings.items())
        out.append(shlex.quote("{}:{}".format(run, pairs)))
    return " ".join(out)


def report_input(w=None):
    files = []
    for exp in EXPERIMENTS:
        files += experiment_files(exp)
    return files


def report_captions():
    return sorted(
        os.path.join(CAPTIONS, f) for f in os.listdir(CAPTIONS) if f.endswith(".rst")
    )


def report_params(w):
    """The study as report.py needs it (JSON, with the configuration as used: files and
    command-line overrides merged) and the captions' directory."""
    study = {
        "title": config.get("title") or "recur: {}".format(os.path.basename(RESULTS)),
        "results": RESULTS,
        "experiments": [
            {
                "name": exp,
                "task": task(exp),
                "description": EXPERIMENTS[exp].get("description", ""),
                "groups": group_keys(exp),
                "runs": [{"name": r, "settings": s} for r, s in RUNS[exp].items()],
                "run_files": [f for f in RUN_FILES[task(exp)] if f.endswith(".png")],
            }
            for exp in EXPERIMENTS
        ],
        "config": config,
        "config_files": list(workflow.configfiles),
    }
    return "--study {} --captions {}".format(
        shlex.quote(json.dumps(study)), shlex.quote(CAPTIONS)
    )


def all_targets():
    return report_input() + ["{}/report.html".format(RESULTS)]
