#!/usr/bin/python3
"""make_series_fixtures.py - writes the HDF5 / netCDF-4-style fixtures of the series reader
(tests/fixtures/series/) and, beside them, what the reader must return for each, computed here
with numpy straight from the raw arrays that were written (expected.h5).

Files look like netCDF-4 files: each coordinate is an HDF5 dimension scale (h5py's dims API,
i.e. H5DSset_scale / H5DSattach_scale: CLASS, NAME, REFERENCE_LIST, DIMENSION_LIST), with the
_Netcdf4Dimid attributes and the root _NCProperties that netCDF-C writes, and a dimension
without a coordinate variable carries netCDF's placeholder NAME.

Usage: /usr/bin/python3 tests/reference/make_series_fixtures.py [OUTDIR]
(default tests/fixtures/series). Needs python3-h5py and python3-numpy. Deterministic: the same
bytes' worth of values on every run (seeded numpy generator).
"""
import os
import sys

import h5py
import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/series"
NC_PROPS = "version=2,netcdf=4.9.0,hdf5=1.10.8"
NC_PLACEHOLDER = "This is a netCDF dimension but not a netCDF variable."
rng = np.random.default_rng(20261128)
expected = []  # (name, attrs, arrays)


def nc_file(path):
    f = h5py.File(path, "w", libver="earliest")
    f.attrs["_NCProperties"] = np.bytes_(NC_PROPS)
    return f


def coord(f, name, values, dimid, **attrs):
    """A coordinate variable: a dimension scale named like its dimension."""
    d = f.create_dataset(name, data=values)
    d.make_scale(name)
    d.attrs["_Netcdf4Dimid"] = np.int32(dimid)
    for k, v in attrs.items():
        d.attrs[k] = np.bytes_(v) if isinstance(v, str) else v
    return d


def bare_dim(f, name, n, dimid):
    """A dimension without a coordinate variable, as netCDF-4 writes it."""
    d = f.create_dataset(name, shape=(n,), dtype="f4")
    d.make_scale("%s%10d" % (NC_PLACEHOLDER, n))
    d.attrs["_Netcdf4Dimid"] = np.int32(dimid)
    return d


def var(f, name, data, dims, **attrs):
    d = f.create_dataset(name, data=data)
    for i, s in enumerate(dims):
        d.dims[i].attach_scale(f[s])
    for k, v in attrs.items():
        d.attrs[k] = np.bytes_(v) if isinstance(v, str) else v
    return d


def unpack(raw, scale=1.0, offset=0.0, fills=(), vmin=-np.inf, vmax=np.inf, packed_range=True):
    """CF rules, written out: missing = NaN, a fill or missing value, or outside the valid range
    (compared packed); the rest raw * scale + offset, in float64."""
    r = raw.astype(np.float64)
    x = r * scale + offset
    miss = np.isnan(r)
    for v in fills:
        miss |= r == v
    cmp = r if packed_range else x
    miss |= (cmp < vmin) | (cmp > vmax)
    x[miss] = np.nan
    return x


def days(y, m, d):
    return (np.datetime64("%04d-%02d-%02d" % (y, m, d)) - np.datetime64("1970-01-01")).astype(
        np.int64)


def expect(name, file, values, time, epoch, var_names, series_names, vars=None, dataset=None,
           select="", time_dim="", date_only=True):
    """One case: the options to read `file` with and the (S, T, V) result."""
    a = {"file": file, "select": select, "time_dim": time_dim, "vars": vars or "",
         "dataset": dataset or ""}
    arrays = {"values": values, "mask": (~np.isnan(values)).astype(np.uint8),
              "time": np.asarray(time, np.float64)}
    if epoch is not None:
        arrays["epoch"] = np.asarray(epoch, np.float64)
    arrays["var_names"] = var_names
    arrays["series_names"] = series_names
    expected.append((name, a, arrays))


# ---- packed: int16 with scale/offset, _FillValue, missing_value, valid_range --------------------
def make_packed():
    path = os.path.join(OUT, "packed.h5")
    T = 12
    t = np.arange(T, dtype=np.int32) + 3  # days since 2000-01-01: 2000-01-04 ..
    raw_t2m = rng.integers(-2000, 2000, T).astype(np.int16)
    raw_t2m[2] = -32767  # _FillValue
    raw_t2m[5] = -32768  # missing_value
    raw_t2m[7] = 31000   # outside valid_range (packed)
    raw_pr = rng.integers(0, 250, T).astype(np.uint8)
    raw_pr[4] = 255      # _FillValue of the uint8 variable
    raw_pr[9] = 201      # above valid_max 200 (packed, same class)
    raw_rh = rng.uniform(20, 100, T).astype(np.float32)
    raw_rh[1] = np.nan   # NaN gap
    raw_rh[10] = 101.5   # above valid_max given in float: physical units
    with nc_file(path) as f:
        coord(f, "time", t, 0, units="days since 2000-01-01", calendar="standard",
              standard_name="time")
        var(f, "t2m", raw_t2m, ["time"], scale_factor=np.float32(0.01),
            add_offset=np.float32(273.15), _FillValue=np.int16(-32767),
            missing_value=np.int16(-32768), valid_range=np.array([-30000, 30000], np.int16),
            units="K")
        var(f, "pr", raw_pr, ["time"], scale_factor=np.float64(0.1),
            _FillValue=np.uint8(255), valid_max=np.uint8(200), units="mm")
        var(f, "rh", raw_rh, ["time"], valid_min=np.float32(0), valid_max=np.float32(100),
            units="%")
    t2m = unpack(raw_t2m, np.float32(0.01), np.float32(273.15), (-32767, -32768), -30000, 30000)
    pr = unpack(raw_pr, 0.1, 0.0, (255,), -np.inf, 200)
    rh = unpack(raw_rh, 1.0, 0.0, (), 0.0, 100.0)
    ep = (days(2000, 1, 1) + t.astype(np.int64)) * 86400
    vals = np.stack([t2m, pr, rh], axis=-1)[None]
    expect("packed_all", "packed.h5", vals, t, ep, ["t2m", "pr", "rh"], [""],
           vars="t2m,pr,rh")
    expect("packed_rh_first", "packed.h5", vals[:, :, [2, 0]], t, ep, ["rh", "t2m"], [""],
           vars="rh,t2m")


# ---- station panel: (station, time) and (time, station); time second; hours since ------------
def make_stations():
    path = os.path.join(OUT, "stations.h5")
    S, T = 3, 9
    t = np.arange(T, dtype=np.float64) * 6.0  # hours since 2001-02-03 04:00:00
    tas = rng.normal(280, 5, (S, T)).astype(np.float32)
    tas[1, 3] = np.nan
    tas[2, 0] = -999.0  # _FillValue
    pr_ts = rng.gamma(1.0, 2.0, (T, S)).astype(np.float64)  # stored (time, station)
    pr_ts[5, 2] = np.nan
    with nc_file(path) as f:
        coord(f, "time", t, 1, units="hours since 2001-02-03 04:00:00", calendar="gregorian")
        coord(f, "station", np.array([101, 205, 307], np.int32), 0, long_name="station id")
        var(f, "tas", tas, ["station", "time"], _FillValue=np.float32(-999.0), units="K")
        var(f, "pr", pr_ts, ["time", "station"], units="mm")
    tas_x = unpack(tas, fills=(-999.0,))
    pr_x = unpack(pr_ts).T  # (station, time)
    origin = (days(2001, 2, 3) * 86400 + 4 * 3600)
    ep = origin + t * 3600
    vals = np.stack([tas_x, pr_x], axis=-1)  # (S, T, 2)
    names = ["station=101", "station=205", "station=307"]
    expect("stations_panel", "stations.h5", vals, t, ep, ["tas", "pr"], names, vars="tas,pr",
           date_only=False)
    expect("stations_select", "stations.h5", vals[1:2], t, ep, ["tas", "pr"], [""],
           vars="tas,pr", select="station=1")
    # a selected dimension is not part of the series names (it is the same for every series)
    expect("stations_nearest", "stations.h5", vals[2:3, :, ::-1], t, ep, ["pr", "tas"],
           [""], vars="pr,tas", select="station=~300")


# ---- grid: (time, lat, lon), descending latitude, packed int16 ---------------------------------
def make_grid():
    path = os.path.join(OUT, "grid.h5")
    T, NY, NX = 7, 4, 3
    lat = np.array([60.0, 50.0, 40.0, 30.0], np.float32)  # descending, as ERA5
    lon = np.array([0.0, 10.0, 20.0], np.float32)
    t = np.arange(T, dtype=np.int64) * 86400 + 10 * 86400  # seconds since 1990-01-01
    raw = rng.integers(-1000, 1000, (T, NY, NX)).astype(np.int16)
    raw[3, 1, 2] = -32767
    with nc_file(path) as f:
        coord(f, "time", t, 0, units="seconds since 1990-01-01T00:00:00Z", axis="T")
        coord(f, "latitude", lat, 1, units="degrees_north")
        coord(f, "longitude", lon, 2, units="degrees_east")
        var(f, "t2m", raw, ["time", "latitude", "longitude"], scale_factor=np.float64(0.05),
            add_offset=np.float64(280.0), _FillValue=np.int16(-32767), units="K")
    x = unpack(raw, 0.05, 280.0, (-32767,))  # (T, NY, NX)
    ep = days(1990, 1, 1) * 86400 + t
    # lat=~47 is nearest to 50 (index 1); lon index 2 = 20 E
    expect("grid_point", "grid.h5", x[:, 1, 2][None, :, None], t, ep, ["t2m"],
           [""], vars="t2m", select="latitude=~47,longitude=2")
    # panel over latitude (descending order kept) at longitude 10
    vals = np.transpose(x[:, :, 1], (1, 0))[:, :, None]
    expect("grid_lat_panel", "grid.h5", vals, t, ep, ["t2m"],
           ["latitude=%g" % v for v in lat], vars="t2m", select="longitude=~9")
    # whole grid: series in (lat, lon) order
    vals = np.transpose(x, (1, 2, 0)).reshape(NY * NX, T)[:, :, None]
    names = ["latitude=%g,longitude=%g" % (a, b) for a in lat for b in lon]
    expect("grid_panel", "grid.h5", vals, t, ep, ["t2m"], names, vars="t2m")


# ---- netCDF dimension without a coordinate variable; no time units -----------------------------
def make_bare():
    path = os.path.join(OUT, "bare.h5")
    T, N = 6, 2
    data = rng.normal(0, 1, (N, T)).astype(np.float64)
    data[0, 2] = np.nan
    with nc_file(path) as f:
        bare_dim(f, "site", N, 0)
        bare_dim(f, "step", T, 1)
        var(f, "y", data, ["site", "step"])
    expect("bare_panel", "bare.h5", unpack(data)[:, :, None], np.arange(T), None, ["y"],
           ["site=0", "site=1"], vars="y", time_dim="step")


# ---- plain 2-D (time, feature) dataset, time scale attached, column names ----------------------
def make_plain():
    path = os.path.join(OUT, "plain.h5")
    T, F = 10, 3
    x = rng.normal(0, 1, (T, F))
    x[4, 1] = np.nan
    with h5py.File(path, "w") as f:
        g = f.create_group("obs")
        tt = g.create_dataset("time", data=np.arange(T, dtype=np.float64) * 0.5)
        tt.make_scale("time")
        tt.attrs["units"] = "days since 2020-02-28 12:00"
        d = g.create_dataset("x", data=x)
        d.dims[0].attach_scale(tt)
        d.attrs["columns"] = np.array([b"a", b"b", b"c"], dtype="S1")
        f.create_dataset("bare", data=x[:, 0].astype(np.float32))
    ep = days(2020, 2, 28) * 86400 + 12 * 3600 + np.arange(T) * 0.5 * 86400
    expect("plain_columns", "plain.h5", x[None], np.arange(T) * 0.5, ep, ["a", "b", "c"], [""],
           dataset="/obs/x", date_only=False)
    expect("plain_1d", "plain.h5", x[None, :, :1].astype(np.float32).astype(np.float64),
           np.arange(T), None, ["c0"], [""], dataset="bare")


# ---- a panel for training: (station, time), packed int16, NaN-free gaps by _FillValue ----------
def make_panel():
    path = os.path.join(OUT, "panel.h5")
    S, T = 4, 160
    day = np.arange(T)
    base = np.array([10.0, 14.0, 6.0, 12.0])[:, None]
    amp = np.array([8.0, 5.0, 10.0, 7.0])[:, None]
    temp = base + amp * np.sin(2 * np.pi * (day[None, :] - 100) / 365.25)
    # an AR(1) anomaly shared in part by the stations, so that yesterday helps
    e = np.zeros((S, T))
    for t in range(1, T):
        e[:, t] = 0.7 * e[:, t - 1] + rng.normal(0, 1.5, S)
    raw = np.round((temp + e) * 10).astype(np.int16)
    raw[1, 40:45] = -32767   # a gap of five days at station 1
    raw[3, ::17] = -32767    # scattered missing days at station 3
    with nc_file(path) as f:
        coord(f, "station", np.array([11, 22, 33, 44], np.int32), 0)
        coord(f, "time", day.astype(np.int32), 1, units="days since 2019-01-01",
              calendar="proleptic_gregorian")
        var(f, "temp", raw, ["station", "time"], scale_factor=np.float32(0.1),
            _FillValue=np.int16(-32767), units="degC")


# ---- malformed inputs ---------------------------------------------------------------------------
def make_bad():
    T = 8
    t = np.arange(T, dtype=np.int32)
    with open(os.path.join(OUT, "bad_not_hdf5.h5"), "w") as f:
        f.write("time,tmax\n0,1.5\n1,2.5\n")
    src = open(os.path.join(OUT, "packed.h5"), "rb").read()
    with open(os.path.join(OUT, "bad_truncated.h5"), "wb") as f:
        f.write(src[: len(src) * 2 // 3])
    with nc_file(os.path.join(OUT, "bad_rank.h5")) as f:
        f.create_dataset("v", data=np.zeros((2,) * 9, np.float32))
    with nc_file(os.path.join(OUT, "bad_zero.h5")) as f:
        f.create_dataset("v", shape=(0,), dtype="f4")
    with nc_file(os.path.join(OUT, "bad_absurd.h5")) as f:
        # chunked and never written: a tiny file declaring 2^40 values
        f.create_dataset("v", shape=(1 << 40,), maxshape=(None,), chunks=(1024,), dtype="f4")
    with nc_file(os.path.join(OUT, "bad_types.h5")) as f:
        coord(f, "time", np.arange(3, dtype=np.int32), 0, units="days since 2000-01-01")
        var(f, "name", np.array([b"a", b"b", b"c"]), ["time"])
        cmp = np.zeros(3, dtype=[("a", "f4"), ("b", "i4")])
        var(f, "pair", cmp, ["time"])
        var(f, "v", np.arange(3, dtype=np.int16), ["time"], scale_factor="0.1")
        var(f, "w", np.arange(3, dtype=np.int16), ["time"],
            valid_range=np.array([5, 1], np.int16))
    with nc_file(os.path.join(OUT, "bad_coord.h5")) as f:
        coord(f, "time", t[:5], 0, units="days since 2000-01-01")
        d = f.create_dataset("v", data=np.arange(T, dtype=np.float32))
        d.dims[0].attach_scale(f["time"])
    with nc_file(os.path.join(OUT, "bad_time.h5")) as f:
        tt = t.copy()
        tt[5] = tt[4]
        coord(f, "time", tt, 0, units="days since 2000-01-01")
        var(f, "v", np.arange(T, dtype=np.float32), ["time"])
    with nc_file(os.path.join(OUT, "bad_mismatch.h5")) as f:
        coord(f, "time", t, 0, units="days since 2000-01-01")
        coord(f, "other", t[:3], 1)
        var(f, "a", np.zeros(T, np.float32), ["time"])
        var(f, "b", np.zeros(3, np.float32), ["other"])
    # a target with no valid value in the test split (NaN from 70 % on), for forecasting tests
    n = 60
    with nc_file(os.path.join(OUT, "no_valid_target.h5")) as f:
        coord(f, "time", np.arange(n, dtype=np.int32), 0, units="days since 2010-01-01")
        y = np.sin(np.arange(n) / 3.0).astype(np.float32)
        y[int(0.7 * n):] = np.nan
        var(f, "y", y, ["time"], units="1")
        var(f, "x", np.cos(np.arange(n) / 3.0).astype(np.float32), ["time"], units="1")


def write_expected():
    with h5py.File(os.path.join(OUT, "expected.h5"), "w") as f:
        f.attrs["source"] = np.bytes_("tests/reference/make_series_fixtures.py, h5py %s, numpy %s"
                                      % (h5py.__version__, np.__version__))
        for name, a, arrays in expected:
            g = f.create_group(name)
            for k, v in a.items():
                g.attrs[k] = np.bytes_(v)
            for k, v in arrays.items():
                if k in ("var_names", "series_names"):
                    g.create_dataset(k, data=np.array([s.encode() for s in v], dtype=h5py.string_dtype()))
                else:
                    g.create_dataset(k, data=v)


def main():
    os.makedirs(OUT, exist_ok=True)
    make_packed()
    make_stations()
    make_grid()
    make_bare()
    make_plain()
    make_panel()
    make_bad()
    write_expected()
    print("wrote %d expected cases to %s" % (len(expected), OUT))


if __name__ == "__main__":
    main()
