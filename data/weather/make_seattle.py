#!/usr/bin/python3
"""make_seattle.py - converts NOAA's daily Seattle weather 2012-2015, as shipped by Debian's
python3-vega-datasets package (vega_datasets/_data/seattle-weather.csv), into the netCDF-4-style
HDF5 file data/weather/seattle.h5 that recur's forecasting tests and demo read.

Usage:
    /usr/bin/python3 data/weather/make_seattle.py [CSV] [OUT]
CSV defaults to the installed package's copy; when the package is not installed:
    apt-get download python3-vega-datasets      # python3-vega-datasets_0.9+dfsg-1_all.deb
    dpkg-deb -x python3-vega-datasets_0.9+dfsg-1_all.deb x
    /usr/bin/python3 data/weather/make_seattle.py \
        x/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv
The CSV's SHA-256 is checked, so the output is the same file's conversion every time.

Layout (as a netCDF-4 file: HDF5 dimension scales, CF attributes):
    /time    int32 (1461)  days since 1970-01-01, calendar standard; dimension scale "time"
    /tmax    int16 (time)  daily maximum temperature, degC, scale_factor 0.1, _FillValue -32767
    /tmin    int16 (time)  daily minimum temperature, degC, scale_factor 0.1, _FillValue -32767
    /precip  int16 (time)  precipitation, mm, scale_factor 0.1, _FillValue -32767
    /wind    int16 (time)  average wind speed, m/s, scale_factor 0.1, _FillValue -32767
The values have one decimal in the CSV, so tenths as int16 store them exactly (as GHCN-Daily
does). The CSV's `weather` column (a word: rain, sun, ...) is not converted.
"""
import csv
import datetime
import hashlib
import sys

import h5py
import numpy as np

CSV = "/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv"
OUT = "data/weather/seattle.h5"
SHA256 = "62f0609f787158128aa2bd102967173a4953122dd4f872bf1d502cae1037df0b"
FILL = -32767
COLUMNS = [  # (CSV column, variable, long_name, units)
    ("temp_max", "tmax", "daily maximum temperature", "degC"),
    ("temp_min", "tmin", "daily minimum temperature", "degC"),
    ("precipitation", "precip", "daily precipitation", "mm"),
    ("wind", "wind", "daily average wind speed", "m s-1"),
]


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else CSV
    out = sys.argv[2] if len(sys.argv) > 2 else OUT
    raw = open(src, "rb").read()
    got = hashlib.sha256(raw).hexdigest()
    if got != SHA256:
        sys.exit("make_seattle.py: %s has SHA-256 %s, expected %s" % (src, got, SHA256))
    rows = list(csv.DictReader(raw.decode().splitlines()))
    epoch = datetime.date(1970, 1, 1)
    days = np.array([(datetime.datetime.strptime(r["date"], "%Y/%m/%d").date() - epoch).days
                     for r in rows], np.int32)
    if not np.all(np.diff(days) == 1):
        sys.exit("make_seattle.py: the dates are not consecutive days")
    with h5py.File(out, "w", libver="earliest") as f:
        f.attrs["_NCProperties"] = np.bytes_("version=2,netcdf=4.9.0,hdf5=1.10.8")
        f.attrs["Conventions"] = np.bytes_("CF-1.8")
        f.attrs["title"] = np.bytes_("Daily weather, Seattle, WA, 2012-01-01 to 2015-12-31")
        f.attrs["source"] = np.bytes_(
            "NOAA daily observations as shipped by Debian package python3-vega-datasets "
            "0.9+dfsg-1, vega_datasets/_data/seattle-weather.csv (sha256 %s)" % SHA256)
        f.attrs["license"] = np.bytes_("public domain (NOAA data, https://www.weather.gov/disclaimer)")
        f.attrs["history"] = np.bytes_("data/weather/make_seattle.py")
        t = f.create_dataset("time", data=days, track_times=False)
        t.make_scale("time")
        t.attrs["units"] = np.bytes_("days since 1970-01-01")
        t.attrs["calendar"] = np.bytes_("standard")
        t.attrs["standard_name"] = np.bytes_("time")
        t.attrs["_Netcdf4Dimid"] = np.int32(0)
        for col, name, long_name, units in COLUMNS:
            x = np.array([float(r[col]) for r in rows])
            packed = np.round(x * 10).astype(np.int16)
            assert np.all(np.abs(packed / 10.0 - x) < 1e-9), col
            d = f.create_dataset(name, data=packed, track_times=False)
            d.dims[0].attach_scale(t)
            d.attrs["scale_factor"] = np.float64(0.1)
            d.attrs["_FillValue"] = np.int16(FILL)
            d.attrs["long_name"] = np.bytes_(long_name)
            d.attrs["units"] = np.bytes_(units)
    print("make_seattle.py: wrote %s (%d days)" % (out, len(days)))


if __name__ == "__main__":
    main()
