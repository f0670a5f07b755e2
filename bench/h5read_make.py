#!/usr/bin/python3
"""h5read_make.py - writes the benchmark file of bench/h5read.sh: 10 years of hourly 2-m
temperature on a 16 x 16 grid, (time, lat, lon) as ERA5's netCDF-4 files hold it (dimension
scales, descending latitude, packed int16 with scale_factor/add_offset/_FillValue, hours since
1900-01-01), in one of two layouts:
    contiguous   no chunking
    chunked      chunks (720, 8, 8) (30 days of a quarter of the grid), gzip level 1
Usage: /usr/bin/python3 bench/h5read_make.py OUT.h5 contiguous|chunked
"""
import sys

import h5py
import numpy as np

out, layout = sys.argv[1], sys.argv[2]
T, NY, NX = 87600, 16, 16
rng = np.random.default_rng(7)
hours = np.arange(T, dtype=np.int64) + 1_000_000  # hours since 1900-01-01 (from 2014-01-29)
lat = np.linspace(60.0, 45.0, NY).astype(np.float32)
lon = np.linspace(-10.0, 5.0, NX).astype(np.float32)
with h5py.File(out, "w", libver="earliest") as f:
    t = f.create_dataset("time", data=hours.astype(np.int32))
    t.make_scale("time")
    t.attrs["units"] = np.bytes_("hours since 1900-01-01 00:00:00.0")
    t.attrs["calendar"] = np.bytes_("gregorian")
    for name, v in (("latitude", lat), ("longitude", lon)):
        d = f.create_dataset(name, data=v)
        d.make_scale(name)
    kw = {"chunks": (720, 8, 8), "compression": "gzip", "compression_opts": 1} \
        if layout == "chunked" else {}
    d = f.create_dataset("t2m", shape=(T, NY, NX), dtype="i2", **kw)
    day = 2 * np.pi * np.arange(T) / 24.0
    year = 2 * np.pi * np.arange(T) / 8766.0
    base = 280 + 8 * np.sin(year) + 3 * np.sin(day)
    step = 8760
    for t0 in range(0, T, step):
        n = min(step, T - t0)
        x = base[t0:t0 + n, None, None] + rng.normal(0, 1, (n, NY, NX))
        d[t0:t0 + n] = np.round((x - 280.0) / 0.002).astype(np.int16)
    d.attrs["scale_factor"] = np.float64(0.002)
    d.attrs["add_offset"] = np.float64(280.0)
    d.attrs["_FillValue"] = np.int16(-32767)
    d.attrs["units"] = np.bytes_("K")
    for i, s in enumerate(("time", "latitude", "longitude")):
        d.dims[i].attach_scale(f[s])
print("h5read_make.py: wrote %s (%s)" % (out, layout))
