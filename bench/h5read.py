#!/usr/bin/python3
"""h5read.py - reading 10 years of hourly data for one point of a (time, lat, lon) file: recur's
reader against h5dump of the same hyperslab.

recur: bench/h5read.c, a process that runs recur_series_read() once (open, validation,
dimension scales, time decoding, the hyperslab read, unpacking and masking into doubles) and
exits; h5dump: `h5dump -d /t2m -s 0,5,9 -c 87600,1,1` with binary output to a file (-b LE -o)
and with its default text to /dev/null. Both are whole processes, timed the same way; median of
RUNS runs with a warm page cache, for a contiguous and a chunked+gzip layout
(bench/h5read_make.py). Prints a TSV table; ratio = h5dump time / recur time (above 1: recur
is faster).

Usage: /usr/bin/python3 bench/h5read.py [RUNS]   (from the top of the tree)
Needs hdf5-tools (h5dump), h5py, numpy, cc and pkg-config's hdf5.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 7


def median_time(cmd):
    times = []
    for _ in range(RUNS):
        t0 = time.monotonic()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def main():
    if not shutil.which("h5dump"):
        sys.exit("h5read.py: h5dump not found (apt-get install hdf5-tools)")
    tmp = tempfile.mkdtemp()
    try:
        exe = os.path.join(tmp, "h5read")
        pc = lambda *a: subprocess.run(["pkg-config", *a, "hdf5"], check=True,
                                       capture_output=True, text=True).stdout.split()
        subprocess.run(["cc", "-O2", "-std=c11", "-Iinclude", "-D_GNU_SOURCE", *pc("--cflags"),
                        "bench/h5read.c", "src/h5series.c", "src/h5var.c", "src/cftime.c",
                        "src/h5util.c", "src/outfile.c", "src/log.c", *pc("--libs"), "-lm",
                        "-o", exe], check=True)
        print("layout\trecur_s\th5dump_binary_s\th5dump_text_s\tratio_binary\tratio_text")
        for layout in ("contiguous", "chunked"):
            f = os.path.join(tmp, layout + ".h5")
            subprocess.run(["/usr/bin/python3", "bench/h5read_make.py", f, layout], check=True,
                           stdout=subprocess.DEVNULL)
            out = subprocess.run([exe, f, "t2m", "5", "9", "1"], check=True, capture_output=True,
                                 text=True).stdout.split()
            assert out[1] == "87600", out
            r = median_time([exe, f, "t2m", "5", "9", "1"])
            hs = ["h5dump", "-d", "/t2m", "-s", "0,5,9", "-c", "87600,1,1"]
            hb = median_time(hs + ["-b", "LE", "-o", os.path.join(tmp, "out.bin"), f])
            ht = median_time(hs + [f])
            print("%s\t%.4f\t%.4f\t%.4f\t%.2f\t%.2f" % (layout, r, hb, ht, hb / r, ht / r))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
