#!/usr/bin/python3
"""make_baseline_fixture.py - the reference for recur's logistic-regression baselines
(include/recur/baseline.h): the same penalised loss minimised by PyTorch's L-BFGS in float64 on
features computed here with numpy, independently of the C code.

Usage: /usr/bin/python3 tests/reference/make_baseline_fixture.py [OUTDIR]  (default tests/fixtures)
Needs python3-torch, python3-h5py and numpy. Deterministic (numpy seed 1). Writes
per case baseline_<case>_train.h5 and baseline_<case>_test.h5, the records as recur datasets
(x (N, T, 4) one-hot float32, mask, labels or targets), and in baseline_ref.h5 the dataset
<case>, the test probabilities (N, K) of the fitted model:

  kmer_classify   3 classes, records of 20..40 bases with N bases among them, each class
                  richer in one base; k = 2, penalty 0.01
  onehot_classify 3 classes, records of 12 bases, the class planted at positions 3..5;
                  penalty 0.01
  kmer_multilabel 2 labels (label j: the record is rich in base j), k = 1, penalty 0.01

The model (the C code's definition): features f = k-mer counts of runs of A/C/G/T (a k-mer
with an N is not counted) over the number counted, or the one-hot bases in order; each column
scaled by 1 / its root mean square over the training rows (1 when always 0); logits W (f s) + b;
loss = mean over the rows of the cross-entropy (softmax, classify) or of the summed binary
cross-entropies (multilabel) + penalty / 2 * ||W||^2 (b not penalised).
"""
import os
import sys

import h5py
import numpy as np
import torch

torch.set_default_dtype(torch.float64)
BASES = "ACGT"


def encode(seqs, T):
    N = len(seqs)
    x = np.zeros((N, T, 4), dtype=np.float32)
    mask = np.zeros((N, T), dtype=np.uint8)
    for n, s in enumerate(seqs):
        for t, ch in enumerate(s):
            mask[n, t] = 1
            if ch == "N":
                x[n, t, :] = 0.25
            else:
                x[n, t, BASES.index(ch)] = 1
    return x, mask


def kmer_features(seqs, k):
    F = 4 ** k
    out = np.zeros((len(seqs), F))
    for n, s in enumerate(seqs):
        code, run, total = 0, 0, 0
        for ch in s:
            if ch == "N":
                run = 0
                continue
            code = ((code << 2) | BASES.index(ch)) & (F - 1)
            run += 1
            if run >= k:
                out[n, code] += 1
                total += 1
        if total:
            out[n] /= total
    return out


def onehot_features(seqs):
    T = len(seqs[0])
    out = np.zeros((len(seqs), 4 * T))
    for n, s in enumerate(seqs):
        for t, ch in enumerate(s):
            if ch == "N":
                out[n, 4 * t:4 * t + 4] = 0.25
            else:
                out[n, 4 * t + BASES.index(ch)] = 1
    return out


def fit(f, y, K, l2, multilabel):
    """The penalised logistic regression, minimised by L-BFGS to a tiny gradient."""
    rms = np.sqrt((f ** 2).mean(axis=0))
    scale = np.where(rms > 0, 1 / np.where(rms > 0, rms, 1), 1)
    X = torch.tensor(f * scale)
    W = torch.zeros(K, f.shape[1], requires_grad=True)
    b = torch.zeros(K, requires_grad=True)
    Y = torch.tensor(y)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=5000, tolerance_grad=1e-12,
                            tolerance_change=1e-15, history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        z = X @ W.T + b
        if multilabel:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                z, Y.double(), reduction="sum") / len(f)
        else:
            loss = torch.nn.functional.cross_entropy(z, Y.long())
        loss = loss + 0.5 * l2 * (W ** 2).sum()
        loss.backward()
        return loss

    for _ in range(20):
        opt.step(closure)
    closure()
    g = torch.cat([W.grad.flatten(), b.grad])
    assert g.abs().max() < 1e-8, g.abs().max()
    return (W.detach().numpy() * scale), b.detach().numpy()


def predict(W, b, f, multilabel):
    z = f @ W.T + b
    if multilabel:
        return 1 / (1 + np.exp(-z))
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def rich_seq(rng, L, base, p_rich=0.45, p_n=0.03):
    probs = np.full(4, (1 - p_rich) / 3)
    probs[base] = p_rich
    s = [BASES[rng.choice(4, p=probs)] for _ in range(L)]
    for t in range(L):
        if rng.random() < p_n:
            s[t] = "N"
    return "".join(s)


def write_case(path, seqs, T, y, multilabel, K):
    x, mask = encode(seqs, T)
    with h5py.File(path, "w") as h:
        h.attrs["format"] = "recur-dataset"
        h.attrs["format_version"] = 1
        h.attrs["task"] = "multilabel" if multilabel else "classify"
        h.attrs["num_outputs"] = K
        h.create_dataset("x", data=x, compression="gzip")
        h.create_dataset("mask", data=mask, compression="gzip")
        if multilabel:
            h["targets"] = y.astype(np.float32)
        else:
            h["labels"] = y.astype(np.int32)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    rng = np.random.default_rng(1)
    cases = {}
    # k-mer, classify: variable lengths, N bases
    K = 3
    tr_y = rng.integers(0, K, 120)
    te_y = rng.integers(0, K, 40)
    tr = [rich_seq(rng, int(rng.integers(20, 41)), c) for c in tr_y]
    te = [rich_seq(rng, int(rng.integers(20, 41)), c) for c in te_y]
    W, b = fit(kmer_features(tr, 2), tr_y, K, 0.01, False)
    cases["kmer_classify"] = (tr, te, tr_y, te_y, 40, False, K, predict(W, b, kmer_features(te, 2),
                                                                         False))
    # one-hot, classify: fixed length 12, the class planted at 3..5
    def planted(c):
        s = list(rich_seq(rng, 12, int(rng.integers(0, 4)), p_rich=0.25, p_n=0.02))
        for t in range(3, 6):
            if rng.random() < 0.8:
                s[t] = BASES[c]
        return "".join(s)

    tr_y = rng.integers(0, K, 90)
    te_y = rng.integers(0, K, 30)
    tr = [planted(c) for c in tr_y]
    te = [planted(c) for c in te_y]
    W, b = fit(onehot_features(tr), tr_y, K, 0.01, False)
    cases["onehot_classify"] = (tr, te, tr_y, te_y, 12, False, K,
                                predict(W, b, onehot_features(te), False))
    # k-mer, multilabel: label j when rich in base j
    def two_labels(n):
        y = rng.integers(0, 2, (n, 2))
        seqs = []
        for r in range(n):
            probs = np.array([0.2, 0.2, 0.3, 0.3])
            probs[:2] += 0.25 * y[r]
            probs /= probs.sum()
            L = int(rng.integers(15, 31))
            seqs.append("".join(BASES[rng.choice(4, p=probs)] for _ in range(L)))
        return seqs, y

    tr, tr_y = two_labels(100)
    te, te_y = two_labels(30)
    W, b = fit(kmer_features(tr, 1), tr_y, 2, 0.01, True)
    cases["kmer_multilabel"] = (tr, te, tr_y, te_y, 30, True, 2,
                                predict(W, b, kmer_features(te, 1), True))
    path = os.path.join(out, "baseline_ref.h5")
    with h5py.File(path, "w") as f:
        for name, (tr, te, tr_y, te_y, T, ml, K, p) in cases.items():
            write_case(os.path.join(out, "baseline_%s_train.h5" % name), tr, T, tr_y, ml, K)
            write_case(os.path.join(out, "baseline_%s_test.h5" % name), te, T, te_y, ml, K)
            f[name] = p
    print("wrote", path, "and the baseline_*_{train,test}.h5 datasets")


if __name__ == "__main__":
    main()
