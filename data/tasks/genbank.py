"""genbank.py - what the DNA task scripts of data/tasks/ share (Debian's /usr/bin/python3,
standard library only): a GenBank flat-file reader, reverse complement, the split of a genome by
position, and FASTA output. Imported by the Python inside data/tasks/*.sh (PYTHONPATH=data/tasks).
"""
import gzip
import re
import sys

SPLITS = ("train", "val", "test")
RNA_KEYS = ("tRNA", "rRNA", "ncRNA", "tmRNA", "misc_RNA")
GENIC_KEYS = ("gene", "CDS") + RNA_KEYS
_COMP = str.maketrans("ACGTN", "TGCAN")


def fail(msg):
    """One line on stderr (the task script's last line), exit 1."""
    sys.exit(msg)


def rc(s):
    return s.translate(_COMP)[::-1]


class Feature:
    """key; segments [(start, end)] 0-based half-open in genome order; strand '+' or '-';
    partial (< or >), joined (join/order), pseudo; qualifiers as {name: first value}."""

    def __init__(self, key, loc, quals):
        self.key = key
        self.loc = loc
        self.strand = "-" if "complement" in loc else "+"
        self.segments = [(int(a) - 1, int(b)) for a, b in re.findall(r"<?(\d+)\.\.>?(\d+)", loc)]
        if not self.segments:  # a single base
            self.segments = [(int(a) - 1, int(a)) for a in re.findall(r"(\d+)", loc)[:1]]
        self.partial = "<" in loc or ">" in loc
        self.joined = "join" in loc or "order" in loc
        self.quals = quals
        self.pseudo = "pseudo" in quals

    @property
    def start(self):
        return min(a for a, _ in self.segments)

    @property
    def end(self):
        return max(b for _, b in self.segments)


# The length of the E. coli K-12 record (NC_000913.2) the E. coli tasks read.
ECOLI_BP = 4639675


def read(path, length=None):
    """(accession.version, sequence in upper case, [Feature]) of a (gzipped) GenBank file with
    one record; checks the sequence is ACGT only and, when given, its length."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        text = f.read()
    if "\nORIGIN" not in text or "\nFEATURES" not in text:
        fail("%s: not a GenBank record with FEATURES and ORIGIN" % path)
    head, origin = text.split("\nORIGIN", 1)
    origin = origin.split("\n//", 1)[0]
    seq = "".join(re.findall("[A-Za-z]+", "".join(l[10:] for l in origin.split("\n")[1:]))).upper()
    m = re.search(r"\nVERSION\s+(\S+)", head)
    acc = m.group(1) if m else re.search(r"^LOCUS\s+(\S+)", head).group(1)
    if length is not None and len(seq) != length:
        fail("%s: sequence of %d bases, expected %d" % (path, len(seq), length))
    feats, cur = [], None
    for line in head[head.index("\nFEATURES"):].split("\n")[1:]:
        if len(line) > 5 and line[5] != " ":
            cur = [line[5:21].strip(), line[21:].strip(), [], False]
            feats.append(cur)
        elif cur and line.startswith(" " * 21):
            body = line[21:].strip()
            if body.startswith("/"):
                cur[3] = True
                cur[2].append(body)
            elif not cur[3]:
                cur[1] += body
            else:
                cur[2][-1] += " " + body
    out = []
    for key, loc, quals, _ in feats:
        q = {}
        for s in quals:
            name, _, val = s[1:].partition("=")
            q.setdefault(name, val.strip('"'))
        out.append(Feature(key, loc, q))
    return acc, seq, out


def bounds(length, train=0.70, val=0.15):
    """The split boundaries by position: train [0, b1), val [b1, b2), test [b2, length)."""
    return int(length * train), int(length * (train + val))


def split_of(lo, hi, b):
    """The split holding the interval [lo, hi), or None when it crosses a boundary."""
    b1, b2 = b
    if hi <= b1:
        return "train"
    if lo >= b1 and hi <= b2:
        return "val"
    if lo >= b2:
        return "test"
    return None


def coverage(length, feats, keys):
    """bytearray: how many features with a key in keys cover each base (capped at 255)."""
    cov = bytearray(length)
    for f in feats:
        if f.key not in keys:
            continue
        for a, b in f.segments:
            for i in range(max(a, 0), min(b, length)):
                if cov[i] < 255:
                    cov[i] += 1
    return cov


def runs(flag, pred):
    """Maximal [start, end) runs of positions i where pred(flag[i])."""
    i, n = 0, len(flag)
    while i < n:
        if pred(flag[i]):
            j = i
            while j < n and pred(flag[j]):
                j += 1
            yield i, j
            i = j
        else:
            i += 1


def dedup(records):
    """Drops every record whose sequence was seen before, in the given order (put train first,
    then val, then test, so that no val or test record repeats a training one). records are
    tuples whose last item is the sequence. Returns (kept, dropped count)."""
    seen, kept = set(), []
    for r in records:
        if r[-1] in seen:
            continue
        seen.add(r[-1])
        kept.append(r)
    return kept, len(records) - len(kept)


def screen(records, k=32):
    """Drops every val or test record that shares a k-mer (on either strand) with a record of
    an earlier split (train before val before test): repeats such as IS elements, REP
    sequences or rRNA operon flanks would otherwise put near-copies of training sequences in
    the held-out splits. records are tuples (split index, ..., sequence), sorted by split.
    Returns (kept, dropped per split index)."""
    seen, kept, dropped, cur, pending = set(), [], [0, 0, 0], None, set()
    for r in records:
        if r[0] != cur:
            seen |= pending
            pending, cur = set(), r[0]
        s = r[-1]
        kmers = {t[i:i + k] for t in (s, rc(s)) for i in range(len(t) - k + 1)}
        if r[0] > 0 and not kmers.isdisjoint(seen):
            dropped[r[0]] += 1
            continue
        pending |= kmers
        kept.append(r)
    return kept, dropped


def write_fasta(path, records):
    """records: (name, description, sequence); one line per sequence."""
    with open(path, "w") as f:
        for name, desc, s in records:
            f.write(">%s%s\n%s\n" % (name, " " + desc if desc else "", s))
