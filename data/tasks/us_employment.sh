#!/bin/sh
# us_employment.sh - US employment by industry, monthly 2006-2015, a panel of 22 series
# (forecasting): data/real/us_employment/us_employment.nc (netCDF-4)
#
# Usage: sh data/tasks/us_employment.sh   (`make tasks` runs every task)
# Needs python3-netcdf4 (make deps-tasks). Source (md5-pinned): us-employment.csv of Debian's
# python3-vega-datasets (BLS Current Employment Statistics, seasonally adjusted, thousands of
# jobs, public domain). See data/README.md.
#
# Layout: employment(industry, time) float64, thousands of jobs; time(time) days since
# 1970-01-01 (the first day of each month, 2006-01 .. 2015-12, 120 months); industry(industry)
# 0..21, with the BLS supersector names in industry_name(industry) (recur names the series
# industry=0 .. industry=21; industries.tsv beside the file lists them). The csv's
# nonfarm_change column (the month-to-month difference of nonfarm) is not a series of its own
# and is left out. recur splits the time axis chronologically (--val-fraction,
# --test-fraction: see data/tasks/tasks.tsv).
TASK=us_employment
cd "$(dirname "$0")/../.." || exit 1
. data/tasks/common.sh
up_to_date
CSV=$(fetch python3-vega-datasets \
    usr/lib/python3/dist-packages/vega_datasets/_data/us-employment.csv \
    840c4fd9cd4a959686d3645ec2a90c6e)
begin
run "$PY" - "$CSV" "$NEW/us_employment.nc" <<'EOF'
import csv, datetime, sys
import netCDF4
import numpy as np
src, out = sys.argv[1:3]
rows = list(csv.DictReader(open(src)))
names = [c for c in rows[0] if c not in ("month", "nonfarm_change")]
days = [(datetime.date.fromisoformat(r["month"]) - datetime.date(1970, 1, 1)).days for r in rows]
months = [(d.year, d.month) for d in (datetime.date.fromisoformat(r["month"]) for r in rows)]
if len(rows) != 120 or len(names) != 22 or \
        months != [(2006 + i // 12, i % 12 + 1) for i in range(120)]:
    sys.exit("us-employment.csv: expected 120 consecutive months 2006-01..2015-12 of 22 series")
x = np.array([[float(r[n]) for r in rows] for n in names])
with netCDF4.Dataset(out, "w", format="NETCDF4") as nc:
    nc.Conventions = "CF-1.8"
    nc.title = "US employment by industry (BLS CES supersectors), monthly, 2006-01 to 2015-12"
    nc.source = ("us-employment.csv of Debian's python3-vega-datasets 0.9+dfsg-1 (vega-datasets; "
                 "U.S. Bureau of Labor Statistics, Current Employment Statistics)")
    nc.license = "public domain (U.S. government data)"
    nc.history = "data/tasks/us_employment.sh"
    nc.createDimension("industry", len(names))
    nc.createDimension("time", len(rows))
    t = nc.createVariable("time", "i4", ("time",))
    t.units = "days since 1970-01-01"
    t.calendar = "standard"
    t.standard_name = "time"
    t[:] = days
    i = nc.createVariable("industry", "i4", ("industry",))
    i.long_name = "industry index (see industry_name)"
    i[:] = np.arange(len(names))
    n = nc.createVariable("industry_name", str, ("industry",))
    n.long_name = "BLS supersector, as named in the source"
    for k, s in enumerate(names):
        n[k] = s
    v = nc.createVariable("employment", "f8", ("industry", "time"))
    v.units = "1000"
    v.long_name = "employees, thousands, seasonally adjusted"
    v[:] = x
with open(out.rsplit("/", 1)[0] + "/COUNTS.tsv", "w") as f:
    f.write("series\tsteps\tfirst\tlast\n%d\t%d\t%s\t%s\n"
            % (len(names), len(rows), rows[0]["month"], rows[-1]["month"]))
with open(out.rsplit("/", 1)[0] + "/industries.tsv", "w") as f:
    f.write("series\tindustry_name\n")
    for k, s in enumerate(names):
        f.write("industry=%d\t%s\n" % (k, s))
EOF
finish
