"""cfseries.py - one series written as netCDF-4 in the CF layout recur reads (a (time) variable,
time in days since 1970-01-01) with its COUNTS.tsv line, for the single-series forecasting tasks
(co2.sh, elnino.sh). Needs python3-netcdf4 and numpy."""
import datetime
import os

import netCDF4
import numpy as np

EPOCH = datetime.date(1970, 1, 1)


def write(out, name, days, x, var_attrs, global_attrs, fill_value=None):
    """Writes x (float64, NaN where missing) at times days (ints, days since EPOCH) as variable
    name of the netCDF-4 file out, with the attributes given in order, and out's directory's
    COUNTS.tsv: series, steps, missing, first and last date."""
    with netCDF4.Dataset(out, "w", format="NETCDF4") as nc:
        nc.Conventions = "CF-1.8"
        for k, v in global_attrs.items():
            setattr(nc, k, v)
        nc.createDimension("time", len(days))
        t = nc.createVariable("time", "i4", ("time",))
        t.units = "days since 1970-01-01"
        t.calendar = "standard"
        t.standard_name = "time"
        t[:] = days
        v = nc.createVariable(name, "f8", ("time",), fill_value=fill_value)
        for k, a in var_attrs.items():
            setattr(v, k, a)
        v[:] = np.ma.masked_invalid(x) if fill_value is not None else x
    first, last = (EPOCH + datetime.timedelta(days=int(d)) for d in (days[0], days[-1]))
    with open(os.path.join(os.path.dirname(out), "COUNTS.tsv"), "w") as f:
        f.write("series\tsteps\tmissing\tfirst\tlast\n1\t%d\t%d\t%s\t%s\n"
                % (len(days), int(np.isnan(x).sum()), first, last))
