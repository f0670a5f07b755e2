#!/usr/bin/python3
"""make_optim_fixtures.py - reference trajectories of torch.optim (SGD, Adam, AdamW) with and
without torch.nn.utils.clip_grad_norm_, for tests/check_optim.c.

Usage: /usr/bin/python3 tests/reference/make_optim_fixtures.py [OUT]  (default
tests/fixtures/optim.h5). Needs torch (1.13), h5py, numpy.

The parameters are three tensors (3x4 weight, 5 bias, 6 vector) so that clipping uses the
global norm over several tensors; recur's flat block is their concatenation in that order.
All cases start from the same parameters and get the same gradients. Datasets (C cases,
S steps, N parameters), all in the root group to keep the file small:
  p0      (N,)       float32  initial parameters
  grads   (S, N)     float32  gradient given at each step (before clipping)
  norms   (C, S)     float64  total L2 norm before clipping, as clip_grad_norm_ returns it
  kind    (C,)       int32    0 = SGD, 1 = Adam, 2 = AdamW
  config  (C, 7)     float64  lr, momentum, weight_decay, beta1, beta2, eps, clip (0 = off)
  params  (C, S, N)  float32  parameters after each step
Root attribute `cases` names the cases in order.
"""
import sys

import h5py
import numpy as np
import torch

SHAPES = [(3, 4), (5,), (6,)]
N = sum(int(np.prod(s)) for s in SHAPES)
STEPS = 5
# Per-step gradient scales: with N = 23 and unit normals the norm is about 4.8 * scale, so a
# threshold of 1.0 leaves the 0.1-scaled step alone and clips every other one.
SCALES = [1.0, 0.1, 2.0, 0.5, 3.0]
CLIP = 1.0

# name, optimizer, lr, momentum, weight_decay, beta1, beta2, eps, clip
CASES = [
    ("sgd", "sgd", 0.1, 0.0, 0.01, 0.9, 0.999, 1e-8, 0.0),
    ("sgd_clip", "sgd", 0.1, 0.0, 0.01, 0.9, 0.999, 1e-8, CLIP),
    ("sgd_mom", "sgd", 0.1, 0.9, 0.01, 0.9, 0.999, 1e-8, 0.0),
    ("sgd_mom_clip", "sgd", 0.1, 0.9, 0.01, 0.9, 0.999, 1e-8, CLIP),
    ("adam", "adam", 0.05, 0.0, 0.0, 0.9, 0.999, 1e-8, 0.0),
    ("adam_clip", "adam", 0.05, 0.0, 0.0, 0.9, 0.999, 1e-8, CLIP),
    # Non-default betas and eps, so that a constant hard-wired in C would show.
    ("adam_wd", "adam", 0.05, 0.0, 0.01, 0.8, 0.99, 1e-6, 0.0),
    ("adam_wd_clip", "adam", 0.05, 0.0, 0.01, 0.8, 0.99, 1e-6, CLIP),
    ("adamw", "adamw", 0.05, 0.0, 0.05, 0.9, 0.999, 1e-8, 0.0),
    ("adamw_clip", "adamw", 0.05, 0.0, 0.05, 0.9, 0.999, 1e-8, CLIP),
]


def make_optimizer(kind, params, lr, momentum, wd, b1, b2, eps):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, dampening=0.0,
                               weight_decay=wd, nesterov=False, foreach=False)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd,
                                amsgrad=False, foreach=False)
    return torch.optim.AdamW(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd,
                             amsgrad=False, foreach=False)


def split(flat):
    out, k = [], 0
    for s in SHAPES:
        n = int(np.prod(s))
        out.append(torch.from_numpy(flat[k:k + n].copy()).reshape(s))
        k += n
    return out


def flatten(tensors):
    return np.concatenate([t.detach().numpy().ravel() for t in tensors]).astype(np.float32)


def run(case, p0, grads):
    _, kind, lr, momentum, wd, b1, b2, eps, clip = case
    params = [torch.nn.Parameter(t) for t in split(p0)]
    opt = make_optimizer(kind, params, lr, momentum, wd, b1, b2, eps)
    traj, norms = [], []
    for g in grads:
        for p, gt in zip(params, split(g)):
            p.grad = gt.clone()
        # max_norm = inf reports the norm and scales by clamp(inf, max=1) = 1, i.e. not at all.
        total = torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf"))
        norms.append(float(total))
        opt.step()
        traj.append(flatten(params))
    return np.stack(traj), np.array(norms, dtype=np.float64)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/optim.h5"
    torch.manual_seed(0)
    rng = np.random.default_rng(20240513)
    p0 = rng.uniform(-0.5, 0.5, N).astype(np.float32)
    grads = np.stack([(s * rng.standard_normal(N)).astype(np.float32) for s in SCALES])
    kinds = {"sgd": 0, "adam": 1, "adamw": 2}
    trajs, norms = [], []
    for case in CASES:
        traj, nrm = run(case, p0, grads)
        trajs.append(traj)
        norms.append(nrm)
        clipped = int(sum(n > case[8] for n in nrm)) if case[8] > 0 else 0
        print(f"{case[0]}: norms {np.round(nrm, 3).tolist()} clipped {clipped}/{STEPS}")
    with h5py.File(out, "w") as f:
        f.attrs["torch_version"] = str(torch.__version__)
        f.attrs["script"] = "tests/reference/make_optim_fixtures.py"
        f.attrs["cases"] = ",".join(c[0] for c in CASES)
        f.create_dataset("p0", data=p0)
        f.create_dataset("grads", data=grads)
        f.create_dataset("norms", data=np.stack(norms))
        f.create_dataset("kind", data=np.array([kinds[c[1]] for c in CASES], dtype=np.int32))
        f.create_dataset("config", data=np.array([c[2:] for c in CASES], dtype=np.float64))
        f.create_dataset("params", data=np.stack(trajs))


if __name__ == "__main__":
    main()
