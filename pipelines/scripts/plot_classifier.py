#!/usr/bin/python3
"""plot_classifier.py - a DNA classifier's test-set figures: ROC and precision-recall curves
(one-vs-rest, from the probabilities of `recur predict`) and the confusion matrix (the counts of
`recur eval`). The true classes come from the test set encoded with the model's classes
(`recur encode -m MODEL`, names matched to the predictions' record names).

Usage: plot_classifier.py --recur RECUR --predictions P.tsv --metrics M.tsv --truth TEST.h5
                          --roc ROC.png --pr PR.png --confusion CM.png [--title T]
"""
import argparse
import re

import h5py
import numpy as np

import provenance
import matplotlib.pyplot as plt


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def load_truth(path):
    """(classes, {row name: 0/1 vector over the classes}) of an encoded dataset."""
    with h5py.File(path, "r") as f:
        classes = [text(c) for c in f["classes"][:]]
        names = [text(n) for n in f["names"][:]]
        if "labels" in f:
            labels = f["labels"][:]
            if labels.ndim != 1:
                raise SystemExit("{}: per-step labels; a sequence classifier's test set was "
                                 "expected".format(path))
            onehot = np.zeros((len(names), len(classes)))
            for i, c in enumerate(labels):
                if c >= 0:
                    onehot[i, c] = 1
            present = labels >= 0
        else:
            onehot = np.asarray(f["targets"][:], dtype=float)
            present = np.ones(len(names), bool)
            if "target_mask" in f:
                present = np.asarray(f["target_mask"][:]).all(axis=1)
    truth = {}
    for i, n in enumerate(names):
        if present[i]:
            truth.setdefault(n, onehot[i])
            # a window 'record:start-end' stands for its record too (predictions are per record)
            m = re.match(r"^(.*):\d+-\d+$", n)
            if m:
                truth.setdefault("\0" + m.group(1), onehot[i])
    return classes, truth


def roc_curve(y, s):
    """False and true positive rates at every distinct threshold, from (0, 0) to (1, 1)."""
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each tied score
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    P, N = y.sum(), len(y) - y.sum()
    tpr = np.r_[0, tp / P] if P else np.r_[0, tp * 0]
    fpr = np.r_[0, fp / N] if N else np.r_[0, fp * 0]
    return fpr, tpr


def pr_curve(y, s):
    """Recall and precision at every distinct threshold, and the average precision
    (sum over thresholds of the recall step times the precision, as sklearn)."""
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[last]
    predicted = last + 1
    precision = tp / predicted
    recall = tp / y.sum()
    ap = float(np.sum(np.diff(np.r_[0, recall]) * precision))
    return np.r_[0, recall], np.r_[precision[0], precision], ap


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for k in ("recur", "predictions", "metrics", "truth", "roc", "pr", "confusion"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--title", default="")
    a = ap.parse_args()

    pprov, header, rows = provenance.read_tsv(a.predictions)
    mprov, _, metrics = provenance.tsv_dicts(a.metrics)
    classes, truth = load_truth(a.truth)
    pcols = ["p_" + c for c in classes]
    missing = [c for c in pcols if c not in header]
    if missing:
        raise SystemExit("{}: no column {} (the model's classes are {})".format(
            a.predictions, ", ".join(missing), ", ".join(classes)))
    idx = [header.index(c) for c in pcols]
    y, p, unmatched = [], [], 0
    for r in rows:
        name = r[0]
        t = truth.get(name)
        if t is None:
            t = truth.get("\0" + name)
        if t is None:
            unmatched += 1
            continue
        y.append(t)
        p.append([provenance.number(r[i]) for i in idx])
    if not y:
        raise SystemExit("{}: no record name matches the test set {}".format(a.predictions,
                                                                          a.truth))
    y, p = np.array(y), np.array(p)
    n = len(y)
    sources = (provenance.source_lines(pprov, a.predictions)
               + provenance.source_lines(mprov, a.metrics) + [a.truth])
    note = "{} test records".format(n) + (", {} unmatched".format(unmatched) if unmatched else "")
    K = len(classes)
    # With two exclusive classes the second ROC curve mirrors the first: draw one.
    exclusive = bool(np.all(y.sum(axis=1) == 1))
    roc_classes = [0] if (K == 2 and exclusive) else list(range(K))

    fig, ax = plt.subplots(figsize=(4.6, 4.3))
    for k in roc_classes:
        if 0 < y[:, k].sum() < n:
            fpr, tpr = roc_curve(y[:, k], p[:, k])
            auc = float(np.trapz(tpr, fpr))
            ax.plot(fpr, tpr, label="{} vs rest (AUROC {:.3f})".format(classes[k], auc))
    ax.plot([0, 1], [0, 1], ":", color="0.5", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC  {}\n{}".format(a.title, note), fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    provenance.save_png(fig, a.roc, a.recur, sources)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.6, 4.3))
    for k in range(K):
        pos = y[:, k].sum()
        if 0 < pos < n:
            rec, prec, avg = pr_curve(y[:, k], p[:, k])
            line, = ax.step(rec, prec, where="post",
                            label="{} (AP {:.3f})".format(classes[k], avg))
            ax.axhline(pos / n, color=line.get_color(), ls=":", lw=0.8)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title("precision-recall  {}\n{}; dotted: share of the class".format(a.title, note),
                 fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    provenance.save_png(fig, a.pr, a.recur, sources)
    plt.close(fig)

    # Confusion counts from recur eval (rows 'confusion', class 'true=A,pred=B'); a multilabel
    # model has per-label tp/fp/fn/tn instead.
    cm = np.zeros((K, K))
    have = False
    for m in metrics:
        if m.get("metric") == "confusion":
            g = re.match(r"^true=(.*),pred=(.*)$", m.get("class", ""))
            if g and g.group(1) in classes and g.group(2) in classes:
                cm[classes.index(g.group(1)), classes.index(g.group(2))] = \
                    provenance.number(m["value"])
                have = True
    if have:
        fig, ax = plt.subplots(figsize=(1.2 * K + 3.2, 1.1 * K + 2.6))
        share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(K):
            for j in range(K):
                ax.text(j, i, "{:.0f}\n{:.0%}".format(cm[i, j], share[i, j]), ha="center",
                        va="center", fontsize=9, color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks(range(K), classes, rotation=30, ha="right")
        ax.set_yticks(range(K), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title("confusion (counts, share of the true class)\n{}".format(a.title),
                     fontsize=9)
    else:
        per = {}
        for m in metrics:
            if m.get("metric") in ("tp", "fp", "fn", "tn") and m.get("class") in classes:
                per.setdefault(m["class"], {})[m["metric"]] = provenance.number(m["value"])
        labs = [c for c in classes if c in per]
        if not labs:
            raise SystemExit("{}: no confusion counts".format(a.metrics))
        fig, axes = plt.subplots(1, len(labs), figsize=(2.6 * len(labs) + 0.6, 3.0),
                                 squeeze=False)
        for ax, c in zip(axes[0], labs):
            m2 = np.array([[per[c].get("tp", 0), per[c].get("fn", 0)],
                           [per[c].get("fp", 0), per[c].get("tn", 0)]])
            ax.imshow(m2 / max(m2.sum(), 1), cmap="Blues", vmin=0, vmax=1)
            for i in range(2):
                for j in range(2):
                    ax.text(j, i, "{:.0f}".format(m2[i, j]), ha="center", va="center")
            ax.set_xticks([0, 1], ["predicted", "not"])
            ax.set_yticks([0, 1], ["true", "not"])
            ax.set_title(c, fontsize=9)
        fig.suptitle("confusion per label  {}".format(a.title), fontsize=9)
    fig.tight_layout()
    provenance.save_png(fig, a.confusion, a.recur, sources)
    plt.close(fig)


if __name__ == "__main__":
    main()
