#!/bin/sh
# elnino.sh - monthly sea surface temperature of the Nino 1+2 region, 1950-2010 (forecasting, one
# monthly series): data/real/elnino/elnino.nc (netCDF-4)
#
# Usage: sh data/tasks/elnino.sh   (`make tasks` runs every task)
# Needs python3-netcdf4 (make deps-tasks). Source (md5-pinned): statsmodels' elnino.csv in
# Debian's python3-statsmodels (NOAA ERSST.V3B, Nino 1+2: 0-10 S, 90-80 W; public domain).
# See data/README.md.
#
# Layout: sst(time) float64, degC; time(time) days since 1970-01-01, the first day of each
# month, 1950-01 .. 2010-12 (732 months, none missing). recur splits the time axis
# chronologically (--val-fraction, --test-fraction: see data/tasks/tasks.tsv).
TASK=elnino
cd "$(dirname "$0")/../.." || exit 1
. data/tasks/common.sh
TASK_DEPS=data/tasks/cfseries.py
up_to_date
CSV=$(fetch python3-statsmodels \
    usr/lib/python3/dist-packages/statsmodels/datasets/elnino/elnino.csv \
    286f807bb727bdd332c5efc802e28dec)
begin
run env PYTHONPATH=data/tasks "$PY" - "$CSV" "$NEW/elnino.nc" <<'EOF'
import csv, datetime, sys
import numpy as np
import cfseries
src, out = sys.argv[1:3]
rows = list(csv.reader(open(src)))
head, rows = rows[0], rows[1:]
years = [int(r[0]) for r in rows]
if head[1:] != ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                "DEC"] or years != list(range(1950, 2011)):
    sys.exit("elnino.csv: expected the years 1950..2010 by 12 months")
x = np.array([float(v) for r in rows for v in r[1:]])
days = [(datetime.date(y, m, 1) - datetime.date(1970, 1, 1)).days
        for y in years for m in range(1, 13)]
cfseries.write(out, "sst", days, x,
               {"units": "degC", "standard_name": "sea_surface_temperature",
                "long_name": "monthly mean sea surface temperature, Nino 1+2 region"},
               {"title": "Monthly mean sea surface temperature, Nino 1+2 (0-10S, 90-80W), "
                         "1950-2010",
                "source": "statsmodels/datasets/elnino/elnino.csv of Debian's "
                          "python3-statsmodels 0.13.5+dfsg-7 (NOAA NWS Climate Prediction "
                          "Center, ERSST.V3B, Nino 1+2)",
                "license": "public domain (NOAA data)", "history": "data/tasks/elnino.sh"})
EOF
finish
