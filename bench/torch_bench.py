#!/usr/bin/python3
"""torch_bench.py - the training step `recur bench` times, in PyTorch (1.13): forward through
nn.RNN/LSTM/GRU and a linear head, the task's loss, backward, one optimizer update (one per
window with --tbptt), on a random batch of full-length sequences; or with --inference the
forward pass alone under torch.no_grad() (windows of K steps with --tbptt K, the state carried).
Prints the same TSV columns as `recur bench`.

Usage: /usr/bin/python3 bench/torch_bench.py [--cell lstm] [--hidden 128] [-T 200] [-B 64] ...
(the options and defaults of `recur bench`; see --help).
"""
import argparse
import statistics
import sys
import time

import torch


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm")
    p.add_argument("--input", type=int, default=4)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--outputs", type=int, default=2)
    p.add_argument("--head", choices=["seq", "step"], default="seq")
    p.add_argument("--pool", choices=["last", "mean", "max"], default="last")
    p.add_argument("--task", choices=["classify", "multilabel", "regress", "forecast"],
                   default="classify")
    p.add_argument("-T", type=int, default=200, dest="T")
    p.add_argument("-B", type=int, default=64, dest="B")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("-@", "--threads", type=int, default=1, dest="threads")
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default="adam")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--tbptt", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--inference", action="store_true", help="time the forward pass alone")
    p.add_argument("--shard-rows", type=int, default=None, help="ignored (recur's option)")
    p.add_argument("--openblas", action="store_true", help="ignored (recur's option)")
    a = p.parse_args(argv)
    if a.task == "forecast":
        a.task = "regress"
    if min(a.input, a.hidden, a.layers, a.outputs, a.T, a.B, a.steps, a.threads) < 1:
        p.error("sizes, --steps and --threads must be positive")
    if a.tbptt and a.head == "seq" and a.pool != "last":
        p.error("--tbptt with --pool mean|max is not implemented here")
    if a.tbptt and a.head == "seq" and a.bidirectional:
        p.error("--tbptt with a bidirectional sequence head is not implemented here")
    return a


class Net(torch.nn.Module):
    """DESIGN.md's Net, time-major."""

    def __init__(self, a):
        super().__init__()
        rnn = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[a.cell]
        self.rnn = rnn(a.input, a.hidden, a.layers, bidirectional=a.bidirectional)
        self.head = torch.nn.Linear(a.hidden * (2 if a.bidirectional else 1), a.outputs)


def make_batch(a):
    """Inputs U(-1, 1) (T, B, I) and targets of the task, as recur's synthetic batch."""
    x = torch.rand(a.T, a.B, a.input) * 2 - 1
    rows = (a.T, a.B) if a.head == "step" else (a.B,)
    if a.task == "classify":
        y = torch.randint(0, a.outputs, rows)
    elif a.task == "multilabel":
        y = torch.randint(0, 2, rows + (a.outputs,)).float()
    else:
        y = torch.randn(rows + (a.outputs,))
    return x, y


def make_optimizer(a, params):
    if a.optimizer == "sgd":
        return torch.optim.SGD(params, lr=0.01 if a.lr is None else a.lr)
    if a.optimizer == "adam":
        return torch.optim.Adam(params, lr=1e-3 if a.lr is None else a.lr)
    return torch.optim.AdamW(params, lr=1e-3 if a.lr is None else a.lr)


def loss_of(a, out, y):
    if a.task == "classify":
        return torch.nn.functional.cross_entropy(out.reshape(-1, a.outputs), y.reshape(-1))
    if a.task == "multilabel":
        return torch.nn.functional.binary_cross_entropy_with_logits(out, y)
    return torch.nn.functional.mse_loss(out, y)


def pooled(a, seq, state):
    """Sequence-head features: last = cat(h_n[-2], h_n[-1]) for full-length sequences."""
    if a.pool == "mean":
        return seq.mean(0)
    if a.pool == "max":
        return seq.max(0).values
    h_n = state[0] if isinstance(state, tuple) else state
    return torch.cat([h_n[-2], h_n[-1]], 1) if a.bidirectional else h_n[-1]


def detach_carry(a, state):
    """Carry the forward directions' state to the next window, detached; reverse directions
    start from zero at the end of every window (as recur's engine)."""
    def fix(s):
        s = s.detach().clone()
        if a.bidirectional:
            s[1::2] = 0
        return s
    if state is None:
        return None
    return tuple(fix(s) for s in state) if isinstance(state, tuple) else fix(state)


def train_step(a, net, opt, x, y):
    """One batch as recur's trainer does it: full BPTT and one update, or with --tbptt K one
    update per window of K steps that holds loss terms (TBPTT(K, K)), state carried detached."""
    K = a.tbptt if 0 < a.tbptt < a.T else a.T
    state = None
    for t0 in range(0, a.T, K):
        t1 = min(a.T, t0 + K)
        if a.head == "seq" and t1 < a.T:
            with torch.no_grad():  # no loss term in this window: forward only
                _, state = net.rnn(x[t0:t1], state)
            state = detach_carry(a, state)
            continue
        opt.zero_grad()
        seq, new_state = net.rnn(x[t0:t1], state)
        if a.head == "seq":
            loss = loss_of(a, net.head(pooled(a, seq, new_state)), y)
        else:
            loss = loss_of(a, net.head(seq), y[t0:t1])
        loss.backward()
        opt.step()
        state = detach_carry(a, new_state)


def infer_step(a, net, x):
    """The forward pass of recur bench --inference: outputs of the head, no loss."""
    K = a.tbptt if 0 < a.tbptt < a.T else a.T
    state = None
    with torch.no_grad():
        for t0 in range(0, a.T, K):
            seq, state = net.rnn(x[t0:t0 + K], state)
            out = net.head(seq) if a.head == "step" else None
        if a.head == "seq":
            out = net.head(pooled(a, seq, state))
    return out


def main(argv):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net = Net(a)
    opt = make_optimizer(a, net.parameters())
    x, y = make_batch(a)
    times = []
    for s in range(a.warmup + a.steps):
        t = time.perf_counter()
        if a.inference:
            infer_step(a, net, x)
        else:
            train_step(a, net, opt, x, y)
        if s >= a.warmup:
            times.append((time.perf_counter() - t) * 1e3)
    med = statistics.median(times)
    cols = ["cell", "input", "hidden", "layers", "bidirectional", "head", "pool", "task",
            "outputs", "T", "B", "tbptt", "optimizer", "threads", "steps", "median_ms",
            "steps_per_s", "timesteps_per_s", "shards", "kernels", "mode"]
    vals = [a.cell, a.input, a.hidden, a.layers, int(a.bidirectional), a.head, a.pool, a.task,
            a.outputs, a.T, a.B, a.tbptt, a.optimizer, a.threads, a.steps, "%.3f" % med,
            "%.3f" % (1e3 / med), "%.0f" % (a.T * a.B * 1e3 / med), 1, "torch",
            "inference" if a.inference else "train"]
    print("# torch %s: %s" % (torch.__version__, " ".join(sys.argv)))
    print("\t".join(cols))
    print("\t".join(str(v) for v in vals))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
