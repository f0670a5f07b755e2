#!/usr/bin/python3
"""make_fixtures.py - PyTorch reference fixtures for the BPTT engine (tests/check_reference.c):
outputs, states, losses and every gradient of nn.RNN/LSTM/GRU + nn.Linear on padded batches,
an Adam loss trajectory, truncated-BPTT windows, and a model file written from a state_dict.

Usage: /usr/bin/python3 tests/reference/make_fixtures.py [OUTDIR]  (default tests/fixtures).
Needs torch (1.13), h5py, numpy. Deterministic (torch.manual_seed). Writes ref_engine.h5,
ref_adam.h5, ref_tbptt.h5, ref_torch_model.h5 and ref_torch_model_io.h5; the datasets are
described in tests/reference/README.md.

Parameters and inputs are drawn in float32 (so the C float build reads them exactly); every
reference quantity is then computed in float64 and stored as float64.
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


class Net(torch.nn.Module):
    """DESIGN.md's Net (time-major here; the state_dict is the same as with batch_first)."""

    def __init__(self, cell, I, H, L, bi, out, batch_first=False):
        super().__init__()
        kw = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = CELLS[cell](I, H, L, batch_first=batch_first, bidirectional=bi, **kw)
        self.head = torch.nn.Linear(H * (2 if bi else 1), out)


def recur_layout(cell, I, H, L, bi, O):
    """(name, shape) in recur's flat-block order (include/recur/engine.h)."""
    G, D = GATES[cell], 2 if bi else 1
    out = []
    for l in range(L):
        inp = I if l == 0 else D * H
        for d in range(D):
            s = "_reverse" if d else ""
            out += [(f"rnn.weight_ih_l{l}{s}", (G * H, inp)),
                    (f"rnn.weight_hh_l{l}{s}", (G * H, H)),
                    (f"rnn.bias_ih_l{l}{s}", (G * H,)), (f"rnn.bias_hh_l{l}{s}", (G * H,))]
    out += [("head.weight", (O, D * H)), ("head.bias", (O,))]
    return out


def make_net(c):
    """Net with PyTorch's default initialisation drawn in float32, then cast to float64."""
    net = Net(c["cell"], c["I"], c["H"], c["L"], c["bi"], c["O"])
    names = [(k, tuple(v.shape)) for k, v in net.state_dict().items()]
    assert names == recur_layout(c["cell"], c["I"], c["H"], c["L"], c["bi"], c["O"]), names
    return net.double()


def flat_params(net):
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def flat_grads(net):
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                      for p in net.parameters()])


def make_batch(c, T, B, lengths, gen_targets=True):
    """x (T, B, I) with noise at the padded steps too (the engine must ignore it), mask, and
    labels or targets (noise at masked steps as well; -1 labels there)."""
    I, O = c["I"], c["O"]
    lengths = torch.tensor(lengths, dtype=torch.int64)
    mask = (torch.arange(T)[:, None] < lengths[None, :])  # (T, B) bool
    x = torch.randn(T, B, I).double()
    b = {"x": x, "mask": mask, "lengths": lengths}
    step = c["head"] == "step"
    if c["task"] == "classify":
        shape = (T, B) if step else (B,)
        lab = torch.randint(0, O, shape, dtype=torch.int64)
        if step:
            lab[~mask] = -1
            for (t, bb) in c.get("unlabelled", []):  # valid steps without a label
                assert mask[t, bb]
                lab[t, bb] = -1
        b["labels"] = lab
    else:
        shape = (T, B, O) if step else (B, O)
        if c["task"] == "multilabel":
            y = (torch.rand(shape) < 0.5).double()
        else:
            y = torch.randn(shape).double()
        b["targets"] = y
        if c.get("target_mask"):
            tm = torch.rand(shape) < 0.75
            b["target_mask"] = tm
    return b


def run_rnn(net, x, lengths, h0=None):
    """Packed run of net.rnn on the sequences of x (T, B, I) with lengths >= 1. Returns the
    padded output (T, B, D*H) (zeros at pads), h_n and c_n (L*D, B, H) (c_n None but LSTM)."""
    T = x.shape[0]
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    out_p, hn = net.rnn(packed, h0)
    out, _ = pad_packed_sequence(out_p, total_length=T)
    if isinstance(hn, tuple):
        return out, hn[0], hn[1]
    return out, hn, None


def layer0_output(net, c, x, lengths):
    """Output of layer 0 alone, from a 1-layer module holding layer 0's weights."""
    one = Net(c["cell"], c["I"], c["H"], 1, c["bi"], c["O"]).double()
    sd = {k: v for k, v in net.state_dict().items() if "_l0" in k or k.startswith("head.")}
    one.load_state_dict(sd)
    return run_rnn(one, x, lengths)[0]


def pooled(c, out, hn, mask, lengths):
    """Sequence-head feature (B, D*H)."""
    bi = c["bi"]
    if c["pool"] == "last":
        return torch.cat([hn[-2], hn[-1]], dim=1) if bi else hn[-1]
    if c["pool"] == "mean":
        return out.sum(0) / lengths[:, None].double()
    neg = torch.full_like(out, -float("inf"))
    return torch.where(mask[:, :, None], out, neg).max(0).values


def loss_terms(c, logits, b, valid):
    """Loss (mean over its terms) and the number of terms. logits (B, O) or (T, B, O);
    valid (B,) or (T, B) bool marks the rows that may hold terms."""
    task = c["task"]
    if task == "classify":
        lab = b["labels"]
        sel = valid & (lab >= 0)
        n = int(sel.sum())
        if n == 0:
            return None, 0
        return F.cross_entropy(logits[sel], lab[sel], reduction="sum") / n, n
    y = b["targets"]
    w = valid[..., None].expand_as(y)
    if "target_mask" in b:
        w = w & b["target_mask"]
    n = int(w.sum())
    if n == 0:
        return None, 0
    if task == "multilabel":
        e = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    else:
        e = (logits - y) ** 2
    return (e * w.double()).sum() / n, n


def full_case(c):
    """Full BPTT over a padded batch: everything check_reference.c compares."""
    net = make_net(c)
    T, B = c["T"], c["B"]
    b = make_batch(c, T, B, c["lengths"])
    x = b["x"].clone().requires_grad_(True)
    out, hn, cn = run_rnn(net, x, b["lengths"])
    if c["head"] == "seq":
        logits = net.head(pooled(c, out, hn, b["mask"], b["lengths"]))
        valid = torch.ones(B, dtype=torch.bool)
    else:
        logits = net.head(out) * b["mask"][:, :, None].double()
        valid = b["mask"]
    loss, n = loss_terms(c, logits, b, valid)
    net.zero_grad()
    loss.backward()
    dx = x.grad.detach()
    assert torch.all(dx[~b["mask"]] == 0)
    r = {"params": flat_params(net), "x": b["x"], "mask": b["mask"], "lengths": b["lengths"],
         "loss": loss.detach().reshape(1), "n_terms": torch.tensor([n]),
         "logits": logits.detach(), "h_n": hn.detach(), "grads": flat_grads(net), "dx": dx}
    if cn is not None:
        r["c_n"] = cn.detach()
    r[f"output_l{c['L'] - 1}"] = out.detach()
    if c["L"] == 2:
        with torch.no_grad():
            r["output_l0"] = layer0_output(net, c, b["x"], b["lengths"])
    for k in ("labels", "targets", "target_mask"):
        if k in b:
            r[k] = b[k]
    return r


def tbptt_case(c):
    """Truncated BPTT in windows of K steps at fixed parameters: the forward directions'
    state is carried detached, the reverse directions start from zero at every window's end;
    a step's loss term falls in its window, a sequence's in the window of its last valid step.
    One loss, term count, gradient block and dx per window."""
    net = make_net(c)
    T, B, K, H = c["T"], c["B"], c["K"], c["H"]
    D = 2 if c["bi"] else 1
    b = make_batch(c, T, B, c["lengths"])
    lengths = b["lengths"]
    carry_h = torch.zeros(c["L"] * D, B, H, dtype=torch.float64)
    carry_c = torch.zeros_like(carry_h)
    losses, nterms, grads, dxs = [], [], [], []
    for t0 in range(0, T, K):
        t1 = min(t0 + K, T)
        lw = (lengths - t0).clamp(0, t1 - t0)
        act = torch.nonzero(lw > 0).reshape(-1)
        xw = b["x"][t0:t1].clone().requires_grad_(True)
        net.zero_grad()
        h0 = carry_h[:, act].clone()
        c0 = carry_c[:, act].clone()
        if D == 2:
            h0[1::2] = 0
            c0[1::2] = 0
        hx = (h0, c0) if c["cell"] == "lstm" else h0
        out, hn, cn = run_rnn(net, xw[:, act], lw[act], hx)
        for l in range(c["L"]):  # carry the forward directions, detached
            carry_h[l * D, act] = hn[l * D].detach()
            if cn is not None:
                carry_c[l * D, act] = cn[l * D].detach()
        sub = {k: v for k, v in b.items()}
        if c["head"] == "step":
            mask_w = b["mask"][t0:t1][:, act]
            logits = net.head(out) * mask_w[:, :, None].double()
            for k in ("labels", "targets", "target_mask"):
                if k in b:
                    sub[k] = b[k][t0:t1][:, act]
            loss, n = loss_terms(c, logits, sub, mask_w)
        else:
            assert c["pool"] == "last"
            logits = net.head(pooled(c, out, hn, None, None))
            ends = ((lengths[act] - 1) >= t0) & ((lengths[act] - 1) < t1)
            for k in ("labels", "targets", "target_mask"):
                if k in b:
                    sub[k] = b[k][act]
            loss, n = loss_terms(c, logits, sub, ends)
        if loss is not None:
            loss.backward()
            g = flat_grads(net)
            dx = xw.grad.detach()
        else:
            g = torch.zeros_like(flat_params(net))
            dx = torch.zeros_like(xw)
        assert torch.all(dx[~b["mask"][t0:t1]] == 0)
        losses.append(loss.item() if loss is not None else 0.0)
        nterms.append(n)
        grads.append(g)
        dxs.append(dx.detach())
    r = {"params": flat_params(net), "x": b["x"], "mask": b["mask"], "lengths": lengths,
         "window_loss": torch.tensor(losses, dtype=torch.float64),
         "window_n_terms": torch.tensor(nterms), "window_grads": torch.stack(grads),
         "window_dx": torch.cat(dxs, dim=0)}
    for k in ("labels", "targets", "target_mask"):
        if k in b:
            r[k] = b[k]
    return r


def adam_case(c, steps, lr):
    """Losses of `steps` Adam updates (PyTorch defaults but lr) on one batch, full BPTT."""
    net = make_net(c)
    b = make_batch(c, c["T"], c["B"], c["lengths"])
    p0 = flat_params(net).clone()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        out, hn, _ = run_rnn(net, b["x"], b["lengths"])
        logits = net.head(pooled(c, out, hn, b["mask"], b["lengths"]))
        loss, _ = loss_terms(c, logits, b, torch.ones(c["B"], dtype=torch.bool))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"params": p0, "x": b["x"], "mask": b["mask"], "lengths": b["lengths"],
            "labels": b["labels"], "losses": torch.tensor(losses, dtype=torch.float64)}


def to_np(v):
    v = v.detach().numpy() if torch.is_tensor(v) else np.asarray(v)
    if v.dtype == np.bool_:
        return v.astype(np.uint8)
    if v.dtype == np.int64:
        return v.astype(np.int32)
    return v


def write_group(g, c, r):
    for k in ("cell", "head", "pool", "task"):
        g.attrs[k] = np.bytes_(c[k])
    for k in ("I", "H", "L", "O", "T", "B"):
        g.attrs[k] = np.int32(c[k])
    g.attrs["bidirectional"] = np.int32(1 if c["bi"] else 0)
    if "K" in c:
        g.attrs["K"] = np.int32(c["K"])
    for k, v in r.items():
        g.create_dataset(k, data=to_np(v))


def base(cell, arch, head, pool, task, **kw):
    L, bi = (1, False) if arch == "uni" else (2, True)
    c = {"cell": cell, "I": 3, "H": 5, "L": L, "bi": bi, "O": 3, "head": head, "pool": pool,
         "task": task, "T": 9, "B": 5, "lengths": [9, 4, 7, 1, 6]}
    c.update(kw)
    return c


def engine_cases():
    """(name, config). Every cell gets seq (last) and step heads in both architectures, and
    every task; pooling mean/max for the LSTM (both architectures), GRU and RNN."""
    C = [
        ("rnn_uni_seq_last_classify", base("rnn", "uni", "seq", "last", "classify")),
        ("rnn_uni_step_regress", base("rnn", "uni", "step", "last", "regress")),
        ("rnn_bi2_seq_last_multilabel", base("rnn", "bi2", "seq", "last", "multilabel",
                                             lengths=[3, 9, 9, 2, 5])),
        ("rnn_bi2_step_classify", base("rnn", "bi2", "step", "last", "classify",
                                       unlabelled=[(2, 0), (0, 4)])),
        ("rnn_uni_seq_max_regress", base("rnn", "uni", "seq", "max", "regress")),
        ("lstm_uni_seq_last_multilabel", base("lstm", "uni", "seq", "last", "multilabel")),
        ("lstm_uni_step_classify", base("lstm", "uni", "step", "last", "classify")),
        ("lstm_bi2_seq_last_regress", base("lstm", "bi2", "seq", "last", "regress",
                                           target_mask=True)),
        ("lstm_bi2_step_multilabel", base("lstm", "bi2", "step", "last", "multilabel")),
        ("lstm_uni_seq_mean_classify", base("lstm", "uni", "seq", "mean", "classify")),
        ("lstm_bi2_seq_mean_multilabel", base("lstm", "bi2", "seq", "mean", "multilabel")),
        ("lstm_uni_seq_max_regress", base("lstm", "uni", "seq", "max", "regress")),
        ("lstm_bi2_seq_max_classify", base("lstm", "bi2", "seq", "max", "classify")),
        ("lstm_bi2_seq_last_classify_full", base("lstm", "bi2", "seq", "last", "classify",
                                                 lengths=[9, 9, 9, 9, 9])),
        ("gru_uni_seq_last_regress", base("gru", "uni", "seq", "last", "regress")),
        ("gru_uni_step_multilabel", base("gru", "uni", "step", "last", "multilabel")),
        ("gru_bi2_seq_last_classify", base("gru", "bi2", "seq", "last", "classify")),
        ("gru_bi2_step_regress", base("gru", "bi2", "step", "last", "regress",
                                      target_mask=True)),
        ("gru_bi2_seq_mean_multilabel", base("gru", "bi2", "seq", "mean", "multilabel")),
    ]
    return C


def tbptt_cases():
    T, K = 12, 4
    return [
        ("lstm_uni_step_regress_k4", base("lstm", "uni", "step", "last", "regress", T=T, K=K,
                                          lengths=[12, 5, 9, 2, 11])),
        ("gru_bi2_step_classify_k4", base("gru", "bi2", "step", "last", "classify", T=T, K=K,
                                          lengths=[12, 5, 9, 2, 11])),
        # sequences end at steps 11, 2, 9, 1, 10: window [4, 8) holds no loss term
        ("rnn_uni_seq_last_classify_k4", base("rnn", "uni", "seq", "last", "classify", T=T,
                                              K=K, lengths=[12, 3, 10, 2, 11])),
    ]


def write_torch_model(outdir):
    """A model file written the way a PyTorch user would: h5py, straight from a state_dict
    (DESIGN.md's Net, batch_first=True, float32), and torch's outputs on a padded batch."""
    cfg = {"cell": "lstm", "I": 3, "H": 5, "L": 2, "bi": True, "O": 3, "head": "seq",
           "pool": "last", "task": "classify"}
    net = Net("lstm", 3, 5, 2, True, 3, batch_first=True)
    T, B, lengths = 9, 5, torch.tensor([9, 4, 7, 1, 6])
    x = torch.randn(B, T, 3)  # batch-first, as DESIGN.md's Net takes it
    path = os.path.join(outdir, "ref_torch_model.h5")
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "recur-model"
        f.attrs["format_version"] = 1
        f.attrs["recur_version"] = "0.1.0"
        f.attrs["command_line"] = "tests/reference/make_fixtures.py (torch state_dict)"
        g = f.create_group("config")
        g.attrs["task"] = "classify"
        g.attrs["cell"] = "lstm"
        g.attrs["input_size"] = 3
        g.attrs["hidden_size"] = 5
        g.attrs["num_layers"] = 2
        g.attrs["num_outputs"] = 3
        g.attrs["bidirectional"] = 1
        g.attrs["head"] = "seq"
        g.attrs["pool"] = "last"
        g.attrs["dropout"] = 0.0
        w = f.create_group("weights")
        for k, v in net.state_dict().items():
            w.create_dataset(k, data=v.numpy().astype(np.float32))
    net = net.double()
    with torch.no_grad():
        packed = pack_padded_sequence(x.double(), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, (hn, _) = net.rnn(packed)
        logits = net.head(torch.cat([hn[-2], hn[-1]], dim=1))
    mask = torch.arange(T)[:, None] < lengths[None, :]
    with h5py.File(os.path.join(outdir, "ref_torch_model_io.h5"), "w") as f:
        f.create_dataset("x", data=x.double().transpose(0, 1).contiguous().numpy())  # (T, B, I)
        f.create_dataset("mask", data=mask.numpy().astype(np.uint8))
        f.create_dataset("logits", data=logits.numpy())
        f.attrs["source"] = np.bytes_("torch %s, %s" % (torch.__version__, cfg))


def masked_loop(net, c, x, mask):
    """The engine's definition written out step by step: a masked step keeps the state and
    outputs 0; the reverse direction runs from T-1 down to 0. Returns the top output and h_n."""
    H, D, T = c["H"], 2 if c["bi"] else 1, x.shape[0]
    inp, hs = x, []
    sd = dict(net.rnn.named_parameters())
    for l in range(c["L"]):
        outs = []
        for d in range(D):
            s = f"_l{l}" + ("_reverse" if d else "")
            wi, wh = sd["weight_ih" + s], sd["weight_hh" + s]
            bi_, bh = sd["bias_ih" + s], sd["bias_hh" + s]
            h = torch.zeros(x.shape[1], H, dtype=torch.float64)
            cc = torch.zeros_like(h)
            o = torch.zeros(T, x.shape[1], H, dtype=torch.float64)
            for t in (range(T - 1, -1, -1) if d else range(T)):
                gi, gh = inp[t] @ wi.T + bi_, h @ wh.T + bh
                if c["cell"] == "rnn":
                    hn, cn = torch.tanh(gi + gh), cc
                elif c["cell"] == "lstm":
                    i, f, g, oo = (gi + gh).split(H, dim=1)
                    cn = torch.sigmoid(f) * cc + torch.sigmoid(i) * torch.tanh(g)
                    hn = torch.sigmoid(oo) * torch.tanh(cn)
                else:
                    ri, zi, ni = gi.split(H, dim=1)
                    rh, zh, nh = gh.split(H, dim=1)
                    r, z = torch.sigmoid(ri + rh), torch.sigmoid(zi + zh)
                    n = torch.tanh(ni + r * nh)
                    hn, cn = (1 - z) * n + z * h, cc
                m = mask[t][:, None]
                h, cc = torch.where(m, hn, h), torch.where(m, cn, cc)
                o[t] = torch.where(m, h, torch.zeros_like(h))
            outs.append(o)
            hs.append(h)
        inp = torch.cat(outs, dim=2)
    return inp, torch.stack(hs)


def self_check():
    """The packed PyTorch runs used above agree with the engine's step-by-step definition, and
    truncated BPTT with one window equals full BPTT."""
    for cell in CELLS:
        for arch in ("uni", "bi2"):
            c = base(cell, arch, "seq", "last", "classify")
            net = make_net(c)
            b = make_batch(c, c["T"], c["B"], c["lengths"])
            with torch.no_grad():
                out, hn, _ = run_rnn(net, b["x"], b["lengths"])
                out2, hn2 = masked_loop(net, c, b["x"], b["mask"])
            assert torch.allclose(out, out2, atol=1e-12) and torch.allclose(hn, hn2, atol=1e-12)
    for name, c in engine_cases() + tbptt_cases():
        if c["head"] == "seq" and c["pool"] != "last":
            continue
        c = dict(c, K=c["T"])
        torch.manual_seed(1)
        full = full_case(c)
        torch.manual_seed(1)
        tb = tbptt_case(c)
        assert torch.allclose(full["loss"], tb["window_loss"], atol=1e-12), name
        assert torch.allclose(full["grads"], tb["window_grads"][0], atol=1e-12), name
        assert torch.allclose(full["dx"], tb["window_dx"], atol=1e-12), name


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    os.makedirs(outdir, exist_ok=True)
    self_check()
    torch.manual_seed(20240601)
    ver = np.bytes_("torch " + torch.__version__)
    with h5py.File(os.path.join(outdir, "ref_engine.h5"), "w") as f:
        f.attrs["source"] = ver
        for name, c in engine_cases():
            write_group(f.create_group(name), c, full_case(c))
    with h5py.File(os.path.join(outdir, "ref_tbptt.h5"), "w") as f:
        f.attrs["source"] = ver
        for name, c in tbptt_cases():
            write_group(f.create_group(name), c, tbptt_case(c))
    with h5py.File(os.path.join(outdir, "ref_adam.h5"), "w") as f:
        f.attrs["source"] = ver
        c = base("lstm", "bi2", "seq", "last", "classify")
        g = f.create_group("lstm_bi2_seq_last_classify")
        write_group(g, c, adam_case(c, steps=10, lr=1e-2))
        g.attrs["lr"] = 1e-2
    write_torch_model(outdir)


if __name__ == "__main__":
    main()
