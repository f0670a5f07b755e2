#!/usr/bin/python3
"""experiments.py - tables, figures and the summary of the BPTT experiments
(pipelines/experiments.smk).

    experiments.py EXPERIMENT --config BPTT.yaml --tsv OUT.tsv --png OUT.png INPUT...
    experiments.py summary --config BPTT.yaml --tsv summary.tsv EXPERIMENT_TSV_AND_PNG...

Inputs are the files of the experiment's runs, <results>/<exp>/runs/<run>/<file> (train.jsonl,
test.tsv, diagnose.tsv, grad.tsv, grad_stats.tsv), or its one raw table (<exp>_raw.tsv). Every
table starts with '#' provenance lines. The summary reads the experiments' tables only, and
sets each measured number beside the published one with the source and whether they agree.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

ADDING_BASELINE = 1.0 / 6.0  # E[(U1 + U2 - 1)^2] = 2 * Var(U) = 1/6: predicting the mean, 1
COLORS = {"lstm": "tab:blue", "gru": "tab:green", "rnn": "tab:red"}
HERE = os.path.dirname(os.path.abspath(__file__))


def copy_baseline(T):
    """Cross-entropy per step of the memoryless strategy (Arjovsky et al. 2016)."""
    return 10 * math.log(8) / (T + 20)


# ---- reading ------------------------------------------------------------------------------------


def run_of(path):
    """(experiment, run, file) of <results>/<exp>/runs/<run>/<file>."""
    parts = path.split(os.sep)
    i = len(parts) - 1 - parts[::-1].index("runs")
    return parts[i - 1], parts[i + 1], parts[-1]


def by_run(paths):
    """{run: {file name: path}}."""
    out = {}
    for p in paths:
        if "runs" not in p.split(os.sep):
            continue
        _, run, name = run_of(p)
        out.setdefault(run, {})[name] = p
    return out


def read_tsv(path):
    """Rows of a TSV with '#' lines and a header, as dicts of strings."""
    with open(path) as f:
        lines = [ln.rstrip("\n") for ln in f if not ln.startswith("#") and ln.strip()]
    if not lines:
        return []
    head = lines[0].split("\t")
    return [dict(zip(head, ln.split("\t"))) for ln in lines[1:]]


def read_log(path):
    with open(path) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def metric(test_tsv, name):
    for r in read_tsv(test_tsv):
        if r["metric"] == name and r["class"] == "all":
            return float(r["value"])
    raise SystemExit("experiments.py: {}: no metric {}".format(test_tsv, name))


def diag(path, kind, layer="0", direction="forward"):
    """{index: value} of one kind of a diagnose table."""
    out = {}
    for r in read_tsv(path):
        if r["kind"] == kind and r["layer"] in (layer, "all") and r["direction"] in (
                direction, "all"):
            out[r["index"]] = float(r["value"])
    return out


def seed_of(run):
    return int(re.search(r"_s(\d+)$", run).group(1))


def num(v):
    return float("nan") if v is None else float(v)


# ---- writing ------------------------------------------------------------------------------------


def write_table(path, cols, rows, notes=()):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("# recur experiments.py: {}\n".format(" ".join(sys.argv[1:3])))
        for n in notes:
            f.write("# {}\n".format(n))
        f.write("\t".join(cols) + "\n")
        for r in rows:
            f.write("\t".join(fmt(r[c]) for c in cols) + "\n")
    os.replace(tmp, path)


def fmt(v):
    if isinstance(v, float):
        return "nan" if math.isnan(v) else "{:.6g}".format(v)
    return str(v)


def save(fig, path):
    fig.tight_layout()
    fig.savefig(path + ".tmp.png", dpi=110)
    plt.close(fig)
    os.replace(path + ".tmp.png", path)


def curves(ax, runs, key="val_loss"):
    """Validation loss per epoch, one line per run, coloured by cell."""
    for run, files in sorted(runs.items()):
        log = read_log(files["train.jsonl"])
        cell = run.split("_")[0]
        y = [num(e.get(key)) for e in log]
        ax.plot(range(1, len(y) + 1), y, color=COLORS.get(cell, "k"),
                ls="-" if seed_of(run) % 2 else "--", lw=1, label="{} s{}".format(cell,
                                                                                 seed_of(run)))


# ---- experiments --------------------------------------------------------------------------------


def trained_rows(runs, score):
    rows = []
    for run, files in sorted(runs.items()):
        log = read_log(files["train.jsonl"])
        m = re.match(r"(\w+?)_T(\d+)_s(\d+)$", run)
        vl = [num(e.get("val_loss")) for e in log]
        rows.append({"cell": m.group(1), "T": int(m.group(2)), "seed": int(m.group(3)),
                     "test": score(files["test.tsv"]), "epochs": len(log),
                     "best_epoch": int(np.nanargmin(vl)) + 1 if vl else 0,
                     "updates": sum(int(e.get("updates") or 0) for e in log),
                     "seconds": sum(num(e.get("seconds")) for e in log)})
    return rows


def exp_adding(a, cfg):
    runs = by_run(a.inputs)
    rows = trained_rows(runs, lambda p: metric(p, "mse"))
    for r in rows:
        r["test_mse"] = r.pop("test")
        r["baseline"] = ADDING_BASELINE
    cols = ["T", "cell", "seed", "test_mse", "baseline", "best_epoch", "epochs", "updates",
            "seconds"]
    rows.sort(key=lambda r: (r["T"], r["cell"], r["seed"]))
    write_table(a.tsv, cols, rows, ["adding problem: test MSE of the best validation epoch; "
                                    "baseline = MSE of the constant prediction 1 = 1/6"])
    Ts = sorted({r["T"] for r in rows})
    fig, axes = plt.subplots(1, len(Ts), figsize=(4.2 * len(Ts), 3.4), squeeze=False)
    for ax, T in zip(axes[0], Ts):
        curves(ax, {k: v for k, v in runs.items() if "_T{}_".format(T) in k})
        ax.axhline(ADDING_BASELINE, color="grey", ls=":", label="baseline 1/6")
        ax.axhline(0.01, color="grey", ls="-.", lw=0.8, label="0.01")
        ax.set_yscale("log")
        ax.set_title("adding, T = {}".format(T))
        ax.set_xlabel("epoch")
    axes[0][0].set_ylabel("validation MSE")
    axes[0][-1].legend(fontsize=7)
    save(fig, a.png)


def exp_copy(a, cfg):
    runs = by_run(a.inputs)
    rows = trained_rows(runs, lambda p: metric(p, "loss"))
    for r in rows:
        r["test_ce"] = r.pop("test")
        r["baseline"] = copy_baseline(r["T"])
        r["ratio"] = r["test_ce"] / r["baseline"]
        run = "{}_T{}_s{}".format(r["cell"], r["T"], r["seed"])
        r["test_accuracy"] = metric(runs[run]["test.tsv"], "accuracy")
    cols = ["T", "cell", "seed", "test_ce", "baseline", "ratio", "test_accuracy", "best_epoch",
            "epochs", "updates", "seconds"]
    rows.sort(key=lambda r: (r["T"], r["cell"], r["seed"]))
    write_table(a.tsv, cols, rows, ["copy memory: test cross-entropy per step; baseline = "
                                    "10 log 8 / (T + 20), the memoryless strategy"])
    Ts = sorted({r["T"] for r in rows})
    fig, axes = plt.subplots(1, len(Ts), figsize=(4.2 * len(Ts), 3.4), squeeze=False)
    for ax, T in zip(axes[0], Ts):
        curves(ax, {k: v for k, v in runs.items() if "_T{}_".format(T) in k})
        ax.axhline(copy_baseline(T), color="grey", ls=":", label="baseline")
        ax.set_yscale("log")
        ax.set_title("copy memory, T = {}".format(T))
        ax.set_xlabel("epoch")
    axes[0][0].set_ylabel("validation cross-entropy per step")
    axes[0][-1].legend(fontsize=7)
    save(fig, a.png)


def decay_rate(lags, norms):
    """Least-squares slope of log(norm) against lag: the log growth per step."""
    x = np.array(lags, float)
    y = np.log(np.maximum(np.array(norms, float), 1e-300))
    ok = np.isfinite(y)
    return float(np.polyfit(x[ok], y[ok], 1)[0]) if ok.sum() >= 2 else float("nan")


def exp_vanishing(a, cfg):
    runs = by_run(a.inputs)
    rows, series = [], {}
    for run, files in sorted(runs.items()):
        model = re.sub(r"_s\d+$", "", run)
        jn = diag(files["diagnose.tsv"], "jacobian_norm")
        gn = diag(files["diagnose.tsv"], "grad_norm")
        lags = sorted(int(k) for k in jn)
        norms = [jn[str(k)] for k in lags]
        rate = decay_rate(lags, norms)
        lam = diag(files["diagnose.tsv"], "lyapunov").get("1", float("nan"))
        rows.append({"model": model, "seed": seed_of(run), "log_norm_per_step": rate,
                     "lyapunov_1": lam, "norm_lag_1": norms[0], "norm_lag_max": norms[-1],
                     "lag_max": lags[-1],
                     "grad_norm_ratio": (gn[min(gn, key=int)] / gn[max(gn, key=int)]
                                         if gn and gn[max(gn, key=int)] > 0 else float("nan"))})
        series.setdefault(model, []).append((lags, norms,
                                             [gn[k] for k in sorted(gn, key=int)]))
    cols = ["model", "seed", "log_norm_per_step", "lyapunov_1", "norm_lag_1", "norm_lag_max",
            "lag_max", "grad_norm_ratio"]
    write_table(a.tsv, cols, rows, [
        "untrained models (recur train --epochs 0) on adding data: spectral norm of the "
        "Jacobian product over lag steps (geometric mean over sequences), its fitted log "
        "growth per step, the largest Lyapunov exponent, and ||dL/dh_0|| / ||dL/dh_T||"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    cmap = plt.get_cmap("viridis")
    names = sorted(series)
    for i, model in enumerate(names):
        c = cmap(i / max(1, len(names) - 1))
        for j, (lags, norms, gn) in enumerate(series[model]):
            axes[0].plot(lags, norms, color=c, lw=1, label=model if j == 0 else None)
            axes[1].plot(range(len(gn)), gn, color=c, lw=1, label=model if j == 0 else None)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("lag t - k")
    axes[0].set_ylabel("|| d s_t / d s_k ||")
    axes[0].set_title("Jacobian products against the lag")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("step t")
    axes[1].set_ylabel("|| dL / dh_t ||")
    axes[1].set_title("gradient reaching each step")
    axes[0].legend(fontsize=6, ncol=2)
    save(fig, a.png)


def exp_lyapunov(a, cfg):
    runs = by_run(a.inputs)
    rows = []
    for run, files in sorted(runs.items()):
        if run.startswith("init_"):
            continue
        m = re.match(r"rho([0-9.]+)_s(\d+)$", run)
        init = runs["init_" + run]["diagnose.tsv"]
        ly = diag(init, "lyapunov")
        rows.append({"radius": float(m.group(1)), "seed": int(m.group(2)),
                     "lyapunov_1": ly.get("1", float("nan")),
                     "lyapunov_2": ly.get("2", float("nan")),
                     "test_mse": metric(files["test.tsv"], "mse"),
                     "baseline": ADDING_BASELINE})
    rows.sort(key=lambda r: (r["radius"], r["seed"]))
    write_table(a.tsv, ["radius", "seed", "lyapunov_1", "lyapunov_2", "test_mse", "baseline"],
                rows, ["tanh RNN, recurrent matrix rescaled to the spectral radius at "
                       "initialisation: Lyapunov exponents per step of the initial model on "
                       "adding data, and the test MSE after training (adding, T = {})".format(
                           cfg["lyapunov"]["T"])])
    fig, ax = plt.subplots(figsize=(5.5, 4))
    x = [r["lyapunov_1"] for r in rows]
    y = [r["test_mse"] for r in rows]
    sc = ax.scatter(x, y, c=[math.log(r["radius"]) for r in rows], cmap="coolwarm")
    for r in rows:
        ax.annotate("{:g}".format(r["radius"]), (r["lyapunov_1"], r["test_mse"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.axvline(0, color="grey", ls=":")
    ax.axhline(ADDING_BASELINE, color="grey", ls="--", lw=0.8, label="baseline 1/6")
    ax.set_yscale("log")
    ax.set_xlabel("largest Lyapunov exponent at initialisation (per step)")
    ax.set_ylabel("test MSE after training")
    ax.set_title("trainability against the edge of chaos")
    fig.colorbar(sc, label="log spectral radius")
    ax.legend(fontsize=7)
    save(fig, a.png)


def truncation_floor(T, delay, K):
    """The test MSE left when the gradient reaches only the last window of TBPTT(K, K).

    The loss is at the last of L = T + delay steps; windows of K start at step 0, so the last
    one holds Lw = L - K floor((L - 1) / K) steps. A marked number the gradient never sees costs
    its variance 1/12: the first marker is uniform on [0, T/2), the second on [T/2, T), and
    each is seen with the probability that it falls in [L - Lw, L)."""
    L = T + delay
    if K >= L:
        return 0.0
    Lw = L - K * ((L - 1) // K)
    lo = L - Lw
    half = T // 2

    def seen(a, b):  # share of [a, b) inside [lo, L)
        return max(0, min(b, L) - max(a, lo)) / (b - a)

    return (1 / 12) * ((1 - seen(0, half)) + (1 - seen(half, T)))


def exp_truncation(a, cfg):
    runs = by_run(a.inputs)
    tc = cfg["truncation"]
    T, dT, dD = tc["T"], tc["delayed"]["T"], tc["delayed"]["delay"]
    bias, train = [], []
    for run, files in sorted(runs.items()):
        m = re.match(r"(delayed_)?K(\d+)_s(\d+)$", run)
        delayed, K, seed = bool(m.group(1)), int(m.group(2)), int(m.group(3))
        if "diagnose.tsv" in files:
            cos = diag(files["diagnose.tsv"], "tbptt_cosine")
            rel = diag(files["diagnose.tsv"], "tbptt_relerr")
            for k in sorted(cos, key=int):
                bias.append({"part": "bias", "T": T, "delay": 0, "K": int(k), "seed": seed,
                             "cosine": cos[k], "relerr": rel[k], "test_mse": float("nan"),
                             "predicted_floor": float("nan")})
        t, d = (dT, dD) if delayed else (T, 0)
        train.append({"part": "train_delayed" if delayed else "train", "T": t, "delay": d,
                      "K": K, "seed": seed, "cosine": float("nan"), "relerr": float("nan"),
                      "test_mse": metric(files["test.tsv"], "mse"),
                      "predicted_floor": truncation_floor(t, d, K)})
    rows = sorted(bias, key=lambda r: (r["K"], r["seed"])) + sorted(
        train, key=lambda r: (r["part"], r["K"], r["seed"]))
    write_table(a.tsv, ["part", "T", "delay", "K", "seed", "cosine", "relerr", "test_mse",
                        "predicted_floor"], rows,
                ["bias: truncated-BPTT gradient with windows of K against the full gradient of "
                 "a {} trained on adding T = {} by full BPTT".format(
                     tc.get("train", {}).get("cell", "lstm").upper(), T),
                 "train: models trained with windows of K (K >= the length: full BPTT) on adding "
                 "T = {}; train_delayed: on adding T = {} followed by {} unmarked steps, so that "
                 "both markers lie more than {} steps before the loss".format(T, dT, dD, dD),
                 "predicted_floor: the MSE left when the gradient reaches only the last window "
                 "(windows start at step 0; an unseen marked number costs its variance 1/12)"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for seed in sorted({r["seed"] for r in bias}):
        b = [r for r in bias if r["seed"] == seed]
        axes[0].plot([r["K"] for r in b], [r["relerr"] for r in b], "o-",
                     label="relative error, seed {}".format(seed))
        axes[0].plot([r["K"] for r in b], [1 - r["cosine"] for r in b], "s--",
                     label="1 - cosine, seed {}".format(seed))
    axes[0].axvline(T, color="grey", ls=":")
    axes[0].set_ylim(bottom=0)
    axes[0].set_xlabel("window K")
    axes[0].set_title("bias of the truncated gradient (T = {})".format(T))
    axes[0].legend(fontsize=7)
    for part, mk in (("train", "o"), ("train_delayed", "s")):
        for seed in sorted({r["seed"] for r in train if r["part"] == part}):
            t = sorted([r for r in train if r["part"] == part and r["seed"] == seed],
                       key=lambda r: r["K"])
            axes[1].plot([r["K"] for r in t], [r["test_mse"] for r in t], mk + "-",
                         label="{}, seed {}".format(
                             "markers anywhere" if part == "train" else
                             "markers > {} steps back".format(dD), seed))
        t = sorted({r["K"]: r for r in train if r["part"] == part and
                    r["predicted_floor"] > 0}.values(), key=lambda r: r["K"])
        axes[1].plot([r["K"] for r in t], [r["predicted_floor"] for r in t], "k:", lw=0.8)
    axes[1].axhline(ADDING_BASELINE, color="grey", ls="--", lw=0.8, label="baseline 1/6")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("window K")
    axes[1].set_title("training with windows of K (dotted: predicted floor)")
    axes[1].legend(fontsize=6)
    save(fig, a.png)


def exp_clipping(a, cfg):
    runs = by_run(a.inputs)
    rows = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for run, files in sorted(runs.items()):
        m = re.match(r"clip([0-9.]+)_s(\d+)$", run)
        clip, seed = float(m.group(1)), int(m.group(2))
        st = {(r["kind"], r["index"]): float(r["value"])
              for r in read_tsv(files["grad_stats.tsv"])}
        log = read_log(files["train.jsonl"])
        rows.append({"clip": clip, "seed": seed, "test_mse": metric(files["test.tsv"], "mse"),
                     "updates": int(st[("updates", "all")]),
                     "skipped": int(st[("skipped", "all")]),
                     "clipped": int(st[("clipped", "all")]),
                     "norm_before_median": st[("grad_norm_before_median", "all")],
                     "norm_before_p90": st[("grad_norm_before_p90", "all")],
                     "norm_before_max": st[("grad_norm_before_max", "all")],
                     "norm_after_max": st[("grad_norm_after_max", "all")],
                     "final_train_loss": num(log[-1].get("loss")) if log else float("nan")})
        g = read_tsv(files["grad.tsv"])
        lab = "clip {:g}, seed {}".format(clip, seed) if clip > 0 else "no clipping, seed {}".format(seed)
        axes[0].plot([int(r["update"]) for r in g], [float(r["grad_norm"]) for r in g], lw=0.5,
                     label=lab)
        axes[1].plot([int(r["update"]) for r in g], [float(r["loss"]) for r in g], lw=0.5,
                     label=lab)
    rows.sort(key=lambda r: (r["clip"], r["seed"]))
    write_table(a.tsv, ["clip", "seed", "test_mse", "updates", "skipped", "clipped",
                        "norm_before_median", "norm_before_p90", "norm_before_max",
                        "norm_after_max", "final_train_loss"], rows,
                ["exploding regime: tanh RNN, recurrent spectral radius {}, {}; gradient-norm "
                 "statistics before and after clipping from the per-update log (recur diagnose "
                 "--train-log)".format(cfg["clipping"]["train"].get("spectral-radius"),
                                       cfg["clipping"]["train"].get("optimizer", "adam"))])
    axes[0].set_yscale("log")
    axes[0].set_xlabel("update")
    axes[0].set_ylabel("gradient norm before clipping")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("update")
    axes[1].set_ylabel("training loss")
    axes[0].legend(fontsize=7)
    save(fig, a.png)


def exp_padding(a, cfg):
    raw = a.inputs[0]
    m = diag(raw, "padding_leak_masked", "all", "all")
    u = diag(raw, "padding_leak_unmasked", "all", "all")
    rows = [{"P": int(p), "masked": m[p], "unmasked": u[p]} for p in sorted(m, key=int)]
    write_table(a.tsv, ["P", "masked", "unmasked"], rows, [
        "relative error of the gradient of loss + activation regulariser (lambda {}) with P "
        "padded steps appended, against each sequence run alone (recur diagnose --padding)".format(
            cfg["padding"]["act_reg"])])
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot([r["P"] for r in rows], [max(r["masked"], 1e-12) for r in rows], "o-",
            label="regulariser masked (correct)")
    ax.plot([r["P"] for r in rows], [max(r["unmasked"], 1e-12) for r in rows], "s-",
            label="regulariser over padded steps (bug)")
    ax.set_yscale("log")
    ax.set_xlabel("padded steps P appended to every sequence")
    ax.set_ylabel("relative gradient error")
    ax.set_title("the padding lesson")
    ax.legend(fontsize=8)
    save(fig, a.png)


def exp_raw(a, cfg, plot_script):
    """ode and linear: the command's long table as it is, and its own plot script."""
    raw = a.inputs[0]
    rows = read_tsv(raw)
    cols = list(rows[0].keys()) if rows else ["kind", "layer", "direction", "index", "value"]
    with open(raw) as f:
        notes = [ln[1:].strip() for ln in f if ln.startswith("#")]
    write_table(a.tsv, cols, rows, notes)
    subprocess.run([sys.executable, os.path.join(HERE, plot_script), raw, a.png], check=True)


def fitted_slope(rows, kind):
    pts = [(float(r["index"]), float(r["value"])) for r in rows if r["kind"] == kind
           and float(r["value"]) > 0]
    if len(pts) < 2:
        return float("nan")
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


# ---- summary ------------------------------------------------------------------------------------


def summary(a, cfg):
    tabs = {}
    for p in a.inputs:
        if p.endswith(".tsv"):
            tabs[os.path.basename(p)[:-4]] = read_tsv(p)
    out = []

    def add(exp, setting, measure, value, published, source, agrees):
        out.append({"experiment": exp, "setting": setting, "measure": measure, "value": value,
                    "published": published, "source": source,
                    "agrees": "yes" if agrees is True else "no" if agrees is False else "-"})

    LE = "Le, Jaitly & Hinton 2015 (arXiv:1504.00941), Fig. 2"
    ARJ = "Arjovsky, Shah & Bengio 2016 (ICML, arXiv:1511.06464), Figs. 1-2"
    for T in sorted({int(r["T"]) for r in tabs["adding"]}):
        for cell in ("lstm", "gru", "rnn"):
            v = [float(r["test_mse"]) for r in tabs["adding"] if int(r["T"]) == T and
                 r["cell"] == cell]
            if not v:
                continue
            s = "T={} {} ({} seeds)".format(T, cell, len(v))
            if cell == "rnn":
                pub, src = "stays at the baseline 0.167 for T >= 150", LE
                ok = (min(v) > 0.1) if T >= 150 else None
            elif T <= 200:
                pub = "solved: MSE near 0 (< 0.01)" if cell == "lstm" else \
                    "gated like the LSTM; expected to solve (not in these papers)"
                src = LE + "; " + ARJ if cell == "lstm" else "-"
                ok = max(v) < 0.01
            else:
                pub, src, ok = "solved, more slowly than at T = 200", ARJ, None
            add("adding", s, "test MSE, worst seed", max(v), pub, src, ok)
    for T in sorted({int(r["T"]) for r in tabs["copy"]}):
        for cell in ("lstm", "gru", "rnn"):
            v = [float(r["test_ce"]) for r in tabs["copy"] if int(r["T"]) == T and
                 r["cell"] == cell]
            if not v:
                continue
            b = copy_baseline(T)
            if cell == "gru":
                pub, src, ok = "not in these papers", "-", None
            else:
                pub = ("LSTM and tanh RNN stay at the memoryless baseline 10 log 8/(T+20) = "
                       "{:.4f} (ratio 1)".format(b))
                src, ok = ARJ, min(v) / b > 0.9
            add("copy", "T={} {} ({} seeds)".format(T, cell, len(v)),
                "test cross-entropy / baseline, best seed", min(v) / b, pub, src, ok)
    for r in tabs["vanishing"]:
        if r["seed"] != str(cfg["seeds"][0]):
            continue
        rate = float(r["log_norm_per_step"])
        m = re.match(r"rnn_rho([0-9.]+)$", r["model"])
        if m:
            rho = float(m.group(1))
            pub = ("vanishes (sufficient: largest singular value < 1 for tanh)" if rho < 1 else
                   "can explode only if the spectral radius > 1 (necessary, not sufficient)")
            ok = rate < 0 if rho < 1 else None
            add("vanishing", r["model"], "fitted log Jacobian norm per step of lag", rate, pub,
                "Pascanu, Mikolov & Bengio 2013 (ICML), Sec. 3; Bengio et al. 1994", ok)
        else:
            add("vanishing", r["model"], "fitted log Jacobian norm per step of lag", rate,
                "forget-gate bias 1 keeps gradients longer than 0", "Gers et al. 2000; "
                "Jozefowicz, Zaremba & Sutskever 2015", None)
    for cell in ("lstm", "gru"):
        v = {r["model"]: float(r["log_norm_per_step"]) for r in tabs["vanishing"]
             if r["seed"] == str(cfg["seeds"][0])}
        if "{}_fb0".format(cell) in v and "{}_fb1".format(cell) in v:
            add("vanishing", "{} forget bias 1 vs 0".format(cell),
                "difference of log norm per step", v["{}_fb1".format(cell)] -
                v["{}_fb0".format(cell)], "> 0: slower decay with bias 1",
                "Jozefowicz et al. 2015", v["{}_fb1".format(cell)] > v["{}_fb0".format(cell)])
    ly = tabs["lyapunov"]
    if ly:
        best = min(ly, key=lambda r: float(r["test_mse"]))
        add("lyapunov", "tanh RNN, best of {} radii x seeds (radius {})".format(
            len(ly), best["radius"]),
            "largest Lyapunov exponent of the best-trained model's initialisation",
            float(best["lyapunov_1"]),
            "most trainable near the edge of chaos (exponent near 0)",
            "Bertschinger & Natschlager 2004; Pascanu et al. 2013",
            abs(float(best["lyapunov_1"])) < 0.1)
        chaotic = [r for r in ly if float(r["lyapunov_1"]) > 0.1]
        if chaotic:
            add("lyapunov", "tanh RNN, chaotic initialisations (exponent > 0.1)",
                "best test MSE", min(float(r["test_mse"]) for r in chaotic),
                "not trainable: exploding gradients", "Pascanu et al. 2013",
                min(float(r["test_mse"]) for r in chaotic) > 0.1)
    tr = tabs["truncation"]
    T = cfg["truncation"]["T"]
    full = [r for r in tr if r["part"] == "bias" and int(r["K"]) >= T]
    if full:
        add("truncation", "K >= T = {}".format(T), "relative error of the truncated gradient",
            max(float(r["relerr"]) for r in full), "0 exactly (K >= T is full BPTT)",
            "definition (Williams & Peng 1990)", max(float(r["relerr"]) for r in full) == 0.0)
    for r in tr:
        if r["part"].startswith("train") and int(r["K"]) < int(r["T"]) + int(r["delay"]) and \
                r["seed"] == str(cfg["seeds"][0]):
            floor = float(r["predicted_floor"])
            delayed = r["part"] == "train_delayed"
            add("truncation", "train with K={} on adding T={}{}".format(
                r["K"], r["T"], " + {} unmarked steps".format(r["delay"]) if delayed else ""),
                "test MSE", float(r["test_mse"]),
                "stays at the baseline 1/6: the gradient never reaches a marker" if delayed else
                "{:.3f} if only what the last window's gradient sees could be learned "
                "(weights are shared by all steps)".format(floor),
                "truncation bias (this table)",
                float(r["test_mse"]) > 0.8 * floor if delayed else None)
    cl = tabs["clipping"]
    PMB = "Pascanu, Mikolov & Bengio 2013 (ICML), Sec. 3.2 and 5"
    for r in cl:
        on = float(r["clip"]) > 0
        skipped, updates = int(r["skipped"]), int(r["updates"])
        add("clipping", "clip {} seed {}".format(r["clip"], r["seed"]),
            "updates skipped as non-finite (of {})".format(updates + skipped), float(skipped),
            "with clipping: stable (none)" if on else
            "without: exploding gradients throw training off (diverges)", PMB,
            skipped == 0 if on else skipped > 0)
        add("clipping", "clip {} seed {}".format(r["clip"], r["seed"]), "test MSE",
            float(r["test_mse"]), "-", "-", None)
    pad = tabs["padding"]
    if pad:
        add("padding", "masked regulariser, P up to {}".format(max(int(r["P"]) for r in pad)),
            "largest relative gradient error", max(float(r["masked"]) for r in pad),
            "0 (float rounding): padding must not change the gradient", "-",
            max(float(r["masked"]) for r in pad) < 1e-4)
        add("padding", "unmasked regulariser, P = {}".format(max(int(r["P"]) for r in pad)),
            "relative gradient error", max(float(r["unmasked"]) for r in pad),
            "> 0: leaks from padded steps into real ones", "-",
            max(float(r["unmasked"]) for r in pad) > 1e-3)
    lin = tabs.get("linear", [])
    for kind in sorted({r["kind"] for r in lin if r["kind"].startswith("time_")}):
        add("linear", kind, "fitted log-log slope of time against T", fitted_slope(lin, kind),
            "2 for the explicit double sum, 1 for BPTT", "-", None)
    rel = [float(r["value"]) for r in lin if r["kind"] == "max_rel_diff"]
    if rel:
        add("linear", "all T", "largest |sum - BPTT| / largest |gradient| element",
            max(rel), "equal (<= 1e-10 in double)", "-", max(rel) <= 1e-10)
    diffs = [float(r["value"]) for r in lin if r["kind"] == "max_abs_diff"]
    if diffs:
        add("linear", "all T (absolute)", "largest |sum - BPTT| of the gradients", max(diffs),
            "rounding only: grows with the gradient's size, i.e. with T", "-", None)
    ode = tabs.get("ode", [])
    EUL = "linear stability of forward Euler: |1 + dt lambda| <= 1"
    for model in sorted({r["layer"] for r in ode}):
        kinds = {}
        for r in ode:
            if r["layer"] == model:
                kinds.setdefault(r["kind"], {})[float(r["index"])] = float(r["value"])

        def first_unstable(kind):
            d = kinds.get(kind, {})
            bad = [dt for dt in sorted(d) if d[dt] > 0]
            return bad[0] if bad else float("nan")

        for kind, what in (("lyap_time", "forward (largest Lyapunov exponent > 0)"),
                           ("grad_ratio_time", "backward (gradient norm grows)"),
                           ("predicted_time", "linear prediction at h = 0")):
            pub = EUL
            src = "linear stability theory; Chang et al. 2019 (AntisymmetricRNN, ICLR)"
            if model == "antisym0":
                pub = "unstable at every dt without diffusion (eigenvalues on the imaginary axis)"
            add("ode", "{}: {}".format(model, what), "smallest unstable dt",
                first_unstable(kind), pub, src, None)
        lt, gt = kinds.get("lyap_time", {}), kinds.get("grad_ratio_time", {})
        common = [dt for dt in lt if dt in gt]
        if common:
            add("ode", "{}: forward against backward".format(model),
                "largest |Lyapunov exponent - gradient log growth| per unit time",
                max(abs(lt[dt] - gt[dt]) for dt in common),
                "equal in the limit: BPTT multiplies the transposed Jacobians", "-", None)
    write_table(a.tsv, ["experiment", "setting", "measure", "value", "published", "source",
                        "agrees"], out, ["every experiment's result beside the published one; "
                                         "agrees: yes/no where a test is stated, - otherwise"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("experiment")
    p.add_argument("--config", required=True)
    p.add_argument("--tsv", required=True)
    p.add_argument("--png")
    p.add_argument("inputs", nargs="*")
    a = p.parse_intermixed_args()
    with open(a.config) as f:
        cfg = yaml.safe_load(f)
    e = a.experiment
    if e == "summary":
        summary(a, cfg)
    elif e == "ode":
        exp_raw(a, cfg, "exp_euler.py")
    elif e == "linear":
        exp_raw(a, cfg, "exp_linear.py")
    else:
        globals()["exp_" + e](a, cfg)


if __name__ == "__main__":
    main()
