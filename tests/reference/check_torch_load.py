#!/usr/bin/python3
"""check_torch_load.py - a recur model file loads into PyTorch and gives recur's outputs.

Usage: /usr/bin/python3 tests/reference/check_torch_load.py MODEL.h5 IO.h5

MODEL.h5 is a recur model file (DESIGN.md "Model file"). IO.h5 holds x (T, B, I), mask (T, B)
(right padding) and logits: (B, O) for the sequence head, (T, B, O) for the step head (0 at
padded steps), as recur computed them. The script checks the root attributes and /config,
builds DESIGN.md's Net (batch_first=True), loads /weights with load_state_dict(strict=True)
after checking every dataset is float32 with the state_dict's exact shape, runs the batch as a
packed sequence in float64 and compares: |recur - torch| <= 5e-5 (1 + |torch|).
Exit 0 when everything matches, 1 otherwise (one line per problem on stderr).
"""
import sys

import h5py
import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

TOL = 5e-5
CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


class Net(torch.nn.Module):
    """DESIGN.md's Net."""

    def __init__(self, cell, I, H, L, bi, out):
        super().__init__()
        kw = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = CELLS[cell](I, H, L, batch_first=True, bidirectional=bi, **kw)
        self.head = torch.nn.Linear(H * (2 if bi else 1), out)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def check(model_path, io_path):
    problems = []
    with h5py.File(model_path, "r") as f:
        if text(f.attrs.get("format", "")) != "recur-model":
            problems.append("root attribute format is not 'recur-model'")
        if int(f.attrs.get("format_version", -1)) != 1:
            problems.append("root attribute format_version is not 1")
        for k in ("recur_version", "command_line"):
            if k not in f.attrs:
                problems.append(f"root attribute {k} missing")
        a = f["config"].attrs
        cell, head, pool, task = (text(a[k]) for k in ("cell", "head", "pool", "task"))
        I, H, L, O = (int(a[k]) for k in ("input_size", "hidden_size", "num_layers",
                                           "num_outputs"))
        bi = bool(int(a["bidirectional"]))
        float(a["dropout"])
        net = Net(cell, I, H, L, bi, O)
        want = net.state_dict()
        got = {}
        for k, d in f["weights"].items():
            if k not in want:
                problems.append(f"/weights/{k}: not in the state_dict")
                continue
            if d.dtype != np.float32:
                problems.append(f"/weights/{k}: dtype {d.dtype}, want float32")
            if tuple(d.shape) != tuple(want[k].shape):
                problems.append(f"/weights/{k}: shape {d.shape}, want {tuple(want[k].shape)}")
            got[k] = torch.from_numpy(np.asarray(d[()], dtype=np.float32))
        for k in want:
            if k not in got:
                problems.append(f"/weights/{k} missing")
    if problems:
        return problems
    net.load_state_dict(got, strict=True)
    net = net.double()

    with h5py.File(io_path, "r") as f:
        x = torch.from_numpy(np.asarray(f["x"][()], dtype=np.float64))  # (T, B, I)
        mask = torch.from_numpy(np.asarray(f["mask"][()]) != 0)  # (T, B)
        recur = np.asarray(f["logits"][()], dtype=np.float64)
    T, B = mask.shape
    lengths = mask.sum(0)
    if not torch.equal(mask, torch.arange(T)[:, None] < lengths[None, :]) or lengths.min() < 1:
        return ["mask is not right padding of non-empty sequences"]
    with torch.no_grad():
        packed = pack_padded_sequence(x.transpose(0, 1), lengths, batch_first=True,
                                      enforce_sorted=False)
        out_p, hn = net.rnn(packed)
        hn = hn[0] if isinstance(hn, tuple) else hn
        out, _ = pad_packed_sequence(out_p, batch_first=True, total_length=T)  # (B, T, D*H)
        out = out.transpose(0, 1)  # (T, B, D*H), 0 at pads
        if head == "step":
            logits = net.head(out) * mask[:, :, None].double()
        elif pool == "last":
            logits = net.head(torch.cat([hn[-2], hn[-1]], 1) if bi else hn[-1])
        elif pool == "mean":
            logits = net.head(out.sum(0) / lengths[:, None].double())
        else:
            neg = torch.full_like(out, -float("inf"))
            logits = net.head(torch.where(mask[:, :, None], out, neg).max(0).values)
    torch_out = logits.numpy()
    if recur.shape != torch_out.shape:
        return [f"logits shape {recur.shape}, torch gives {torch_out.shape}"]
    err = np.abs(recur - torch_out) / (1.0 + np.abs(torch_out))
    worst = float(err.max())
    if not worst <= TOL:
        i = np.unravel_index(int(err.argmax()), err.shape)
        problems.append(f"logits differ: worst scaled error {worst:.3g} at {i}: "
                        f"recur {recur[i]:.9g}, torch {torch_out[i]:.9g}")
    print(f"{model_path}: {cell} L={L} bi={int(bi)} {head}/{pool} {task}: "
          f"worst scaled error {worst:.3g}")
    return problems


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        problems = check(sys.argv[1], sys.argv[2])
    except (OSError, KeyError, ValueError, RuntimeError) as err:
        problems = [f"{type(err).__name__}: {err}"]
    for p in problems:
        print(f"check_torch_load: {sys.argv[1]}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
