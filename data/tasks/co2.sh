#!/bin/sh
# co2.sh - weekly atmospheric CO2 at Mauna Loa, 1958-2001, with its real gaps (forecasting, one
# weekly series with missing values): data/real/co2/co2.nc (netCDF-4)
#
# Usage: sh data/tasks/co2.sh   (`make tasks` runs every task)
# Needs python3-netcdf4 (make deps-tasks). Source (md5-pinned): statsmodels' co2.csv in
# Debian's python3-statsmodels (Keeling & Whorf, SIO continuous air samples at Mauna Loa,
# weekly means; public domain). See data/README.md.
#
# Layout: co2(time) float64, ppm (mole fraction in dry air, micromol/mol), _FillValue -9999
# where the week has no value (59 of the 2284 weeks); time(time) days since 1970-01-01, every
# 7 days from 1958-03-29 to 2001-12-29. recur masks the missing targets out of the loss and
# the metrics and zeroes missing inputs (--missing-indicators adds a 0/1 channel).
TASK=co2
cd "$(dirname "$0")/../.." || exit 1
. data/tasks/common.sh
TASK_DEPS=data/tasks/cfseries.py
up_to_date
CSV=$(fetch python3-statsmodels \
    usr/lib/python3/dist-packages/statsmodels/datasets/co2/co2.csv \
    5abd47e6d4435255e0b3ab2c333502ba)
begin
run env PYTHONPATH=data/tasks "$PY" - "$CSV" "$NEW/co2.nc" <<'EOF'
import csv, datetime, sys
import numpy as np
import cfseries
src, out = sys.argv[1:3]
rows = list(csv.DictReader(open(src)))
dates = [datetime.datetime.strptime(r["date"], "%Y%m%d").date() for r in rows]
if len(rows) != 2284 or any((b - a).days != 7 for a, b in zip(dates, dates[1:])):
    sys.exit("co2.csv: expected 2284 weeks 7 days apart")
x = np.array([float(r["co2"]) if r["co2"] else np.nan for r in rows])
days = [(d - datetime.date(1970, 1, 1)).days for d in dates]
cfseries.write(out, "co2", days, x,
               {"units": "ppm", "long_name": "weekly mean CO2 mole fraction in dry air, ppm"},
               {"title": "Weekly mean atmospheric CO2 at Mauna Loa Observatory, 1958-03-29 to "
                         "2001-12-29",
                "source": "statsmodels/datasets/co2/co2.csv of Debian's python3-statsmodels "
                          "0.13.5+dfsg-7 (Keeling, C.D. and T.P. Whorf, 2004, SIO, CDIAC)",
                "license": "public domain", "history": "data/tasks/co2.sh"},
               fill_value=-9999.0)
EOF
finish
