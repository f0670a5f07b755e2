#!/usr/bin/python3
"""make_dna_fixtures.py - PyTorch reference fixtures for the DNA commands (tests/check_dna.c):
(a) a classifier written from the state_dict of DESIGN.md's Net into recur's model format, DNA
records as FASTA, as BED intervals on a reference FASTA and as SAM reads (converted to an indexed
BAM by the test), and torch's class probabilities for them: as given, averaged over both
strands, tiled into windows of 16 bases (window probabilities averaged per record) and
truncated to 16 bases; (b) one SGD step on labelled FASTA records from an initial model file, and
the weights torch gets.

Usage: /usr/bin/python3 tests/reference/make_dna_fixtures.py [OUTDIR]  (default tests/fixtures).
Needs torch (1.13), h5py, numpy. Deterministic (seeded). Writes dna_model.h5, dna_model_rc.h5,
dna_records.fa, dna_ref.fa, dna_records.bed, dna_reads.sam, dna_expected.tsv, dna_sgd_init.h5,
dna_sgd_pos.fa, dna_sgd_neg.fa and dna_sgd_expected.h5:

  dna_model.h5        Net('gru', 4, 6, 2, bidirectional, 3), classes alpha, beta, gamma (h5py)
  dna_model_rc.h5     the same with /config dna_revcomp = 1 (as if trained with --revcomp)
  dna_ref.fa          two random contigs (chrA 400, chrB 250 bases; lowercase stretches, N, R, Y)
  dna_records.bed     14 intervals on them (both strands), named rec01..rec14
  dna_records.fa      the same 14 records as FASTA ('-' intervals reverse-complemented)
  dna_reads.sam       the same 14 records as mapped reads (odd ones on the reverse strand, SEQ
                      stored reverse-complemented), plus 5 reads the default filters drop
  dna_expected.tsv    torch's probabilities per record: p (as given), p_rc (mean with the
                      reverse complement), p_win16 (mean over windows of 16 bases), p_trunc16
                      (the first 16 bases)
  dna_sgd_init.h5     Net('lstm', 4, 5, 1, bidirectional, 2), classes pos, neg
  dna_sgd_pos.fa, dna_sgd_neg.fa   7 and 5 records (3..20 bases; lowercase, N, R, Y)
  dna_sgd_expected.h5 /weights after one torch.optim.SGD(lr=0.1) step on all 12 records as
                      one batch (mean cross-entropy), float64

The one-hot encoding is written here from DESIGN.md, not from recur: channels A, C, G, T;
lowercase = uppercase; N and every other IUPAC code 0.25 in all four channels.
"""
import os
import random
import sys

import h5py
import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence

CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
COMP = str.maketrans("ACGTRYKMSWBDHVNacgtrykmswbdhvn", "TGCAYRMKSWVHDBNtgcayrmkswvhdbn")


class Net(torch.nn.Module):
    """DESIGN.md's Net."""

    def __init__(self, cell, I, H, L, bi, out):
        super().__init__()
        self.rnn = CELLS[cell](I, H, L, batch_first=True, bidirectional=bi)
        self.head = torch.nn.Linear(H * (2 if bi else 1), out)


def revcomp(s):
    return s.translate(COMP)[::-1]


def onehot(s):
    """(len, 4) float64: DESIGN.md's encoding."""
    x = np.zeros((len(s), 4))
    for t, c in enumerate(s.upper()):
        if c in "ACGT":
            x[t, "ACGT".index(c)] = 1.0
        elif c == "U":
            x[t, 3] = 1.0
        else:
            assert c in "NRYKMSWBDHV", c
            x[t, :] = 0.25
    return x


def logits(net, seqs):
    """Head outputs for sequences of any lengths: packed, pool last (cat(h_n[-2], h_n[-1]) when
    bidirectional), in float64."""
    B, T = len(seqs), max(len(s) for s in seqs)
    x = torch.zeros(B, T, 4, dtype=torch.float64)
    for b, s in enumerate(seqs):
        x[b, :len(s)] = torch.from_numpy(onehot(s))
    lengths = torch.tensor([len(s) for s in seqs])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    _, hn = net.rnn(packed)
    if isinstance(hn, tuple):
        hn = hn[0]
    h = torch.cat([hn[-2], hn[-1]], dim=1) if net.rnn.bidirectional else hn[-1]
    return net.head(h)


def write_model(path, net, cell, I, H, L, bi, O, classes, numbers=None):
    """A model file as a PyTorch user writes it with h5py (float32 state_dict)."""
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "recur-model"
        f.attrs["format_version"] = 1
        f.attrs["recur_version"] = "0.1.0"
        f.attrs["command_line"] = "tests/reference/make_dna_fixtures.py (torch state_dict)"
        g = f.create_group("config")
        g.attrs["task"] = "classify"
        g.attrs["cell"] = cell
        g.attrs["input_size"] = I
        g.attrs["hidden_size"] = H
        g.attrs["num_layers"] = L
        g.attrs["num_outputs"] = O
        g.attrs["bidirectional"] = 1 if bi else 0
        g.attrs["head"] = "seq"
        g.attrs["pool"] = "last"
        g.attrs["dropout"] = 0.0
        g.attrs["classes"] = classes  # list of str: variable-length UTF-8 strings
        for k, v in (numbers or {}).items():
            g.attrs[k] = np.array(v, dtype=np.float64)
        w = f.create_group("weights")
        for k, v in net.state_dict().items():
            w.create_dataset(k, data=v.detach().float().numpy())


def random_ref(rng, n):
    """Random bases with a few soft-masked (lowercase) stretches and ambiguity codes."""
    s = [rng.choice("ACGT") for _ in range(n)]
    for _ in range(n // 40):
        i = rng.randrange(n)
        s[i] = rng.choice("NNRY")
    for _ in range(n // 100):
        i = rng.randrange(n - 12)
        for j in range(i, i + rng.randrange(3, 12)):
            s[j] = s[j].lower()
    return "".join(s)


def fasta(path, recs, width=None):
    with open(path, "w") as f:
        for name, s in recs:
            f.write(">%s\n" % name)
            if width:
                for i in range(0, len(s), width):
                    f.write(s[i:i + width] + "\n")
            else:
                f.write(s + "\n")


def predict_fixture(out):
    """(a): a GRU classifier (2 layers, bidirectional) and 14 records from three sources."""
    torch.manual_seed(11)
    rng = random.Random(11)
    cell, I, H, L, bi, O = "gru", 4, 6, 2, True, 3
    classes = ["alpha", "beta", "gamma"]
    net = Net(cell, I, H, L, bi, O)  # float32 initialisation, as stored
    write_model(os.path.join(out, "dna_model.h5"), net, cell, I, H, L, bi, O, classes)
    write_model(os.path.join(out, "dna_model_rc.h5"), net, cell, I, H, L, bi, O, classes,
                {"dna_revcomp": [1.0]})
    net = net.double()

    ref = {"chrA": random_ref(rng, 400), "chrB": random_ref(rng, 250)}
    fasta(os.path.join(out, "dna_ref.fa"), ref.items(), width=60)
    # Intervals: name, contig, start (0-based), end, strand. Lengths 1..40, both strands.
    lengths = [23, 1, 40, 7, 16, 17, 33, 2, 31, 12, 38, 5, 19, 29]
    recs, bed = [], []
    pos = {"chrA": 3, "chrB": 5}
    for i, n in enumerate(lengths):
        chrom = "chrA" if i % 3 else "chrB"
        start = pos[chrom]
        pos[chrom] += n + rng.randrange(0, 9)
        strand = "-" if i % 2 else "+"
        name = "rec%02d" % (i + 1)
        s = ref[chrom][start:start + n]
        recs.append((name, revcomp(s) if strand == "-" else s))
        bed.append((chrom, start, start + n, name, strand))
    fasta(os.path.join(out, "dna_records.fa"), recs, width=13)
    with open(os.path.join(out, "dna_records.bed"), "w") as f:
        for chrom, a, b, name, strand in sorted(bed):
            f.write("%s\t%d\t%d\t%s\t0\t%s\n" % (chrom, a, b, name, strand))
    # SAM: every record as a mapped read (reverse-strand reads stored reverse-complemented, as
    # aligners do), plus reads the default filters drop (unmapped, secondary, QC fail,
    # duplicate, supplementary), sorted by position for the index.
    reads = []
    for k, (name, s) in enumerate(recs):
        rev = k % 2 == 1
        seq = revcomp(s).upper() if rev else s.upper()
        reads.append(("chrA", 10 + 7 * k, name, 16 if rev else 0, seq))
    junk = [("unmapped_read", 4), ("secondary_read", 256), ("qcfail_read", 512),
            ("duplicate_read", 1024), ("supplementary_read", 2048)]
    for k, (name, flag) in enumerate(junk):
        reads.append(("chrA", 12 + 9 * k, name, flag, "ACGTACGTAC"))
    reads.sort(key=lambda r: r[1])
    with open(os.path.join(out, "dna_reads.sam"), "w") as f:
        f.write("@HD\tVN:1.6\tSO:coordinate\n")
        for chrom, s in ref.items():
            f.write("@SQ\tSN:%s\tLN:%d\n" % (chrom, len(s)))
        for chrom, p, name, flag, seq in reads:
            unmapped = flag & 4
            f.write("%s\t%d\t%s\t%d\t%d\t%s\t*\t0\t0\t%s\t*\n"
                    % (name, flag, chrom, p, 0 if unmapped else 60,
                       "*" if unmapped else "%dM" % len(seq), seq))

    seqs = [s for _, s in recs]
    with torch.no_grad():
        p = torch.softmax(logits(net, seqs), dim=1)
        prc = torch.softmax(logits(net, [revcomp(s) for s in seqs]), dim=1)
        p_rc = 0.5 * (p + prc)
        W = 16
        p_win = []
        for s in seqs:
            wins = [s[i:i + W] for i in range(0, len(s), W)]
            p_win.append(torch.softmax(logits(net, wins), dim=1).mean(0))
        p_win = torch.stack(p_win)
        p_trunc = torch.softmax(logits(net, [s[:W] for s in seqs]), dim=1)
    with open(os.path.join(out, "dna_expected.tsv"), "w") as f:
        cols = ["p", "p_rc", "p_win16", "p_trunc16"]
        f.write("name\t" + "\t".join("%s_%s" % (c, k) for c in cols for k in classes) + "\n")
        for i, (name, _) in enumerate(recs):
            vals = [v for t in (p, p_rc, p_win, p_trunc) for v in t[i].tolist()]
            f.write(name + "\t" + "\t".join("%.17g" % v for v in vals) + "\n")


def sgd_fixture(out):
    """(b): one SGD step (lr 0.1, no momentum, no weight decay, no clipping) on the whole input as
    one batch, from an LSTM (1 layer, bidirectional) classifier; classes pos, neg."""
    torch.manual_seed(5)
    rng = random.Random(5)
    cell, I, H, L, bi, O = "lstm", 4, 5, 1, True, 2
    classes = ["pos", "neg"]
    net = Net(cell, I, H, L, bi, O)
    write_model(os.path.join(out, "dna_sgd_init.h5"), net, cell, I, H, L, bi, O, classes)
    pos = [("p%d" % i, "".join(rng.choice("ACGTacgtN") for _ in range(rng.randrange(3, 21))))
           for i in range(7)]
    neg = [("n%d" % i, "".join(rng.choice("ACGTRY") for _ in range(rng.randrange(3, 21))))
           for i in range(5)]
    fasta(os.path.join(out, "dna_sgd_pos.fa"), pos)
    fasta(os.path.join(out, "dna_sgd_neg.fa"), neg)
    net = net.double()
    seqs = [s for _, s in pos + neg]
    y = torch.tensor([0] * len(pos) + [1] * len(neg))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(logits(net, seqs), y)
    loss.backward()
    opt.step()
    with h5py.File(os.path.join(out, "dna_sgd_expected.h5"), "w") as f:
        f.attrs["source"] = np.bytes_("torch %s: one SGD step, lr 0.1, loss before %.17g"
                                      % (torch.__version__, loss.item()))
        w = f.create_group("weights")
        for k, v in net.state_dict().items():
            w.create_dataset(k, data=v.numpy())  # float64


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    os.makedirs(out, exist_ok=True)
    predict_fixture(out)
    sgd_fixture(out)


if __name__ == "__main__":
    main()
