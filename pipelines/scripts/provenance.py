"""provenance.py - what the workflow's scripts share: the recur version and the command line
recorded in every output (TSV '#' lines in recur's own format, PNG text chunks), long-format TSV
reading, atomic writes, and matplotlib on the Agg backend."""
import os
import shlex
import subprocess
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")


def recur_version(recur):
    """First line of `recur --version`, e.g. 'recur 0.1.0'."""
    out = subprocess.run([recur, "--version"], check=True, capture_output=True, text=True)
    return out.stdout.splitlines()[0].strip()


def command_line():
    """This script's command line, as it can be run again."""
    return " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)


def tsv_provenance(recur):
    """The '#' line recur puts first in its own TSV outputs: '# recur X.Y.Z: COMMAND'."""
    return "# {}: {}\n".format(recur_version(recur), command_line())


def read_tsv(path):
    """(provenance lines, header, rows) of a TSV whose '#' lines come first."""
    prov, header, rows = [], None, []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if header is None and line.startswith("#"):
                prov.append(line)
            elif header is None:
                header = line.split("\t")
            elif line:
                rows.append(line.split("\t"))
    if header is None:
        raise SystemExit("{}: no header line".format(path))
    return prov, header, rows


def tsv_dicts(path):
    prov, header, rows = read_tsv(path)
    return prov, header, [dict(zip(header, r)) for r in rows]


def number(text):
    """float of a TSV field; nan for 'nan', 'NA', '' and other non-numbers."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


class atomic_output:
    """Writes PATH through a temporary file in the same directory, renamed on success."""

    def __init__(self, path, suffix=""):
        self.path = path
        self.suffix = suffix

    def __enter__(self):
        d = os.path.dirname(os.path.abspath(self.path))
        fd, self.tmp = tempfile.mkstemp(dir=d, prefix=".tmp.", suffix=self.suffix)
        os.close(fd)
        return self.tmp

    def __exit__(self, kind, value, tb):
        if kind is None:
            umask = os.umask(0)  # mkstemp makes the file 0600; give it the usual mode
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)
            os.replace(self.tmp, self.path)
        elif os.path.exists(self.tmp):
            os.unlink(self.tmp)
        return False


def write_tsv(path, recur, header, rows, notes=()):
    """TSV with recur's provenance line, optional further '#' notes, a header and the rows."""
    with atomic_output(path) as tmp, open(tmp, "w") as f:
        f.write(tsv_provenance(recur))
        for n in notes:
            f.write("# {}\n".format(n))
        f.write("\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")


def save_png(fig, path, recur, sources=()):
    """Saves fig as PNG with the recur version, this command line and the provenance lines of
    the files it was drawn from in the PNG's text chunks (read them with
    `python3 -c "from PIL import Image; print(Image.open('f.png').text)"`)."""
    version = recur_version(recur)
    meta = {
        "Software": "{} (figure by matplotlib {})".format(version, matplotlib.__version__),
        "recur_version": version,
        "command_line": command_line(),
    }
    if sources:
        meta["Source"] = "\n".join(sources)
    with atomic_output(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata=meta)


def source_lines(prov, path):
    """Provenance lines of an input file, for a figure's Source chunk: 'PATH: # recur ...'."""
    return ["{}: {}".format(path, p) for p in prov] or [path]


def model_provenance(path):
    """'PATH: recur X: COMMAND' from a model file's recur_version and command_line attributes."""
    import h5py

    with h5py.File(path, "r") as f:
        attrs = {k: f.attrs[k] for k in ("recur_version", "command_line") if k in f.attrs}
    text = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in attrs.items()}
    return ["{}: recur {}: {}".format(path, text.get("recur_version", "?"),
                                      text.get("command_line", "?"))]
