#!/bin/sh
# cli_workflow.sh - tests of the Snakemake workflow (Snakefile, pipelines/): `snakemake --lint`
# finds nothing but the conda lint (recur runs from Debian packages, not conda); the schema
# refuses a resource or an unknown key in a configuration; every configuration and every
# profile passes a dry run; then the `quick` configuration runs end to end in a scratch
# directory and leaves every table, prediction, model and figure, with 2 seeds x 2 hidden sizes
# giving exactly 4 runs and one aggregate table; every output records the recur version and
# its command line; a second run has nothing to do; and editing one hyperparameter of one
# experiment reruns that experiment's runs and the summaries only.
#
# Usage: RECUR=bin/recur sh tests/cli_workflow.sh   (from the top of the source tree)
# Needs Debian's snakemake and python3-matplotlib (make deps). About a minute on 2 cores.
RECUR=${RECUR:-bin/recur}
PY=/usr/bin/python3
top=$(pwd)
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
start=$(date +%s)

failed() { # message [file to show]
    fail=$((fail + 1))
    echo "cli_workflow.sh: FAILED: $1"
    if [ -n "$2" ] && [ -f "$2" ]; then tail -n 25 "$2" | sed 's/^/    /'; fi
}

if ! command -v snakemake >/dev/null 2>&1; then
    echo "cli_workflow.sh: snakemake is not installed (make deps installs Debian's)"
    exit 1
fi
if ! $PY -c "import matplotlib, h5py, docutils" 2>/dev/null; then
    echo "cli_workflow.sh: $PY lacks matplotlib, h5py or docutils (make deps installs them)"
    exit 1
fi
if [ ! -x "$RECUR" ]; then
    echo "cli_workflow.sh: $RECUR is not an executable (run make first)"
    exit 1
fi
case $RECUR in /*) recur_abs=$RECUR ;; *) recur_abs=$top/$RECUR ;; esac

# A scratch working directory that sees the shipped data; the workflow runs the binary under
# test (--config recur=...).
ln -s "$top/data" "$tmp/data"
cp pipelines/config/*.yaml "$tmp/"
sm() { # snakemake in the scratch directory with the given arguments
    snakemake -s "$top/Snakefile" --directory "$tmp" --config recur="$recur_abs" "$@"
}

# ---- lint: only the conda/container lint is accepted --------------------------------------
snakemake -s "$top/Snakefile" --lint json --configfile pipelines/config/quick.yaml \
    >"$tmp/lint.json" 2>"$tmp/lint.err"
if ! $PY - "$tmp/lint.json" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
lints = json.loads(text[text.index("{"):])
bad = []
for group in ("snakefiles", "rules"):
    for item in lints.get(group, []):
        for lint in item["lints"]:
            if not lint["title"].startswith("Specify a conda environment or container"):
                bad.append("{}: {}".format(item["for"], lint["title"]))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
then failed "snakemake --lint found problems" "$tmp/lint.err"; fi

# ---- the schema refuses resources and unknown keys ----------------------------------------
sed 's/^      epochs: 3$/      epochs: 3\n      threads: 4/' "$tmp/quick.yaml" >"$tmp/bad1.yaml"
grep -q "threads: 4" "$tmp/bad1.yaml" || failed "could not make the threads configuration"
if sm -n --configfile "$tmp/bad1.yaml" >"$tmp/bad.out" 2>&1; then
    failed "a configuration with threads in train was accepted" "$tmp/bad.out"
elif ! grep -qi "threads" "$tmp/bad.out"; then
    failed "the error for threads in train does not name it" "$tmp/bad.out"
fi
sed 's/^    sweep:$/    swep:/' "$tmp/quick.yaml" >"$tmp/bad2.yaml"
if sm -n --configfile "$tmp/bad2.yaml" >"$tmp/bad.out" 2>&1; then
    failed "a configuration with an unknown key (swep) was accepted" "$tmp/bad.out"
fi

# ---- dry runs: every configuration, every profile -----------------------------------------
for c in pipelines/config/*.yaml; do
    if ! sm -n --configfile "$tmp/$(basename "$c")" >"$tmp/dry.out" 2>&1; then
        failed "dry run of $c" "$tmp/dry.out"
    fi
done
for p in pipelines/profiles/*/; do
    if ! sm -n --profile "$top/$p" --configfile "$tmp/quick.yaml" >"$tmp/dry.out" 2>&1; then
        failed "dry run with the profile $p" "$tmp/dry.out"
    fi
done

# ---- the quick configuration end to end -----------------------------------------------------
if ! sm --cores 2 --configfile "$tmp/quick.yaml" >"$tmp/run1.out" 2>&1; then
    failed "snakemake --configfile quick.yaml" "$tmp/run1.out"
    echo "cli_workflow.sh: $fail failed"
    exit 1
fi
R=$tmp/results/quick
for f in report.html cpdna/data_summary.tsv cpdna/runs.tsv cpdna/summary.tsv cpdna/summary.png \
    seattle/data_summary.tsv seattle/runs.tsv seattle/summary.tsv seattle/summary.png; do
    [ -s "$R/$f" ] || failed "missing $f"
done
for run in h4_s1 h4_s2 h8_s1 h8_s2; do
    for f in model.h5 train.jsonl metrics.tsv predictions.tsv diagnose.tsv learning_curves.png \
        roc.png pr.png confusion.png gradient_norms.png logs/train.log benchmarks/train.tsv; do
        [ -s "$R/cpdna/$run/$f" ] || failed "missing cpdna/$run/$f"
    done
done
for run in s1 s2; do
    for f in model.h5 train.jsonl metrics.tsv predictions.h5 diagnose.tsv learning_curves.png \
        forecast.png error_horizon.png gradient_norms.png; do
        [ -s "$R/seattle/$run/$f" ] || failed "missing seattle/$run/$f"
    done
done
# 2 hidden sizes x 2 seeds: exactly 4 run directories and one aggregate table with 2
# configurations of 2 seeds each.
nruns=$(find "$R/cpdna" -mindepth 2 -maxdepth 2 -name model.h5 | wc -l)
[ "$nruns" -eq 4 ] || failed "cpdna has $nruns runs, not 4"
[ "$(find "$R/cpdna" -name summary.tsv | wc -l)" -eq 1 ] || failed "not one summary.tsv"
acc=$(awk -F'\t' '!/^#/ && $2 == "all" && $3 == "accuracy" {print $1 ":" $4}' \
    "$R/cpdna/summary.tsv" | tr '\n' ' ')
[ "$acc" = "4:2 8:2 " ] || failed "summary.tsv accuracy rows are '$acc', not '4:2 8:2 '"

# Provenance: the TSVs' first line is '# recur VERSION: COMMAND'; the models and the forecasts
# carry recur_version and command_line; the figures carry them in their PNG text chunks.
version=$("$RECUR" --version | head -n 1)
for f in $(find "$R" -name '*.tsv' ! -path '*/benchmarks/*'); do
    head -n 1 "$f" | grep -q "^# $version: ." || failed "no provenance line in ${f#$R/}" "$f"
done
if ! $PY - "$R" "$version" >"$tmp/prov.out" 2>&1 <<'EOF'
import glob, sys
import h5py
from PIL import Image
root, version = sys.argv[1], sys.argv[2]
bad = []
for f in glob.glob(root + "/**/*.png", recursive=True):
    t = Image.open(f).text
    if t.get("recur_version") != version or "command_line" not in t:
        bad.append(f)
for f in (glob.glob(root + "/*/*/model.h5") + glob.glob(root + "/*/*/predictions.h5")):
    with h5py.File(f, "r") as h:
        if "command_line" not in h.attrs:
            bad.append(f)
if "command line of this report" not in open(root + "/report.html").read():
    bad.append("report.html")
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
then failed "outputs without the recur version or the command line" "$tmp/prov.out"; fi

# ---- a second run has nothing to do -----------------------------------------------------------
sm --cores 2 --configfile "$tmp/quick.yaml" >"$tmp/run2.out" 2>&1 ||
    failed "second snakemake run" "$tmp/run2.out"
grep -q "Nothing to be done" "$tmp/run2.out" ||
    failed "the second run did something" "$tmp/run2.out"

# ---- one hyperparameter of one experiment changes: only what depends on it reruns ------------
# cpdna's training epochs 3 -> 2 (the first 'epochs: 3' in quick.yaml is cpdna's).
sed '0,/^      epochs: 3$/s//      epochs: 2/' "$tmp/quick.yaml" >"$tmp/quick2.yaml"
cmp -s "$tmp/quick.yaml" "$tmp/quick2.yaml" && failed "could not edit the epochs"
touch -r "$R/seattle/s1/model.h5" "$tmp/seattle.stamp"
touch -r "$R/cpdna/h4_s1/model.h5" "$tmp/cpdna.stamp"
sm -n --configfile "$tmp/quick2.yaml" >"$tmp/dry2.out" 2>&1 || failed "dry run after the edit"
jobs=$(grep -c "^rule \|^localrule " "$tmp/dry2.out")
trains=$(grep -c "^rule train:" "$tmp/dry2.out")
others=$(grep "wildcards:" "$tmp/dry2.out" | grep -vc "exp=cpdna")
[ "$trains" -eq 4 ] || failed "the edit would retrain $trains models, not cpdna's 4" "$tmp/dry2.out"
[ "$others" -eq 0 ] || failed "the edit would rerun $others jobs of another experiment" \
    "$tmp/dry2.out"
grep -q "^rule encode_split:\|^localrule data_summary:" "$tmp/dry2.out" &&
    failed "the edit would prepare the data again" "$tmp/dry2.out"
sm --cores 2 --configfile "$tmp/quick2.yaml" >"$tmp/run3.out" 2>&1 ||
    failed "run after the edit" "$tmp/run3.out"
[ "$R/seattle/s1/model.h5" -nt "$tmp/seattle.stamp" ] && failed "seattle was retrained"
[ "$R/cpdna/h4_s1/model.h5" -nt "$tmp/cpdna.stamp" ] || failed "cpdna was not retrained"
log=$R/cpdna/h4_s1/train.jsonl
grep -q '"epoch":2' "$log" && grep -q '"epoch":3' "$log" && failed "cpdna's log still has 3 epochs"

echo "cli_workflow.sh: $jobs jobs after the edit; $(($(date +%s) - start)) s"
if [ $fail -ne 0 ]; then
    echo "cli_workflow.sh: $fail failed"
    exit 1
fi
echo "cli_workflow.sh: all passed"
