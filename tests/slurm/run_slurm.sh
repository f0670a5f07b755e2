#!/bin/sh
# run_slurm.sh - the workflow on a real SLURM cluster: starts a single-node cluster on this
# machine (start_cluster.sh), runs the quick study through both SLURM profiles - the generic
# sbatch one (pipelines/profiles/slurm-sbatch) and Snakemake 7's own executor
# (pipelines/profiles/slurm, --slurm) - checks that every job went through SLURM and completed
# there (sacct), that the outputs are there and that both profiles trained the same models,
# then runs one MPI training job with srun (2 ranks, bin/recur-mpi) and checks its model. Stops
# the cluster it started at the end, also on failure or interruption. Needs root, munge,
# slurm-wlm and OpenMPI (`make deps-slurm`); `make test-slurm` runs it. Takes about 5 minutes on
# 2 cores; each workflow run is stopped after LIMIT seconds (default 600) so a hang fails.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
limit=${LIMIT:-600}
fail=0
check() { # description, condition (shell expression)
    if eval "$2"; then echo "run_slurm.sh: ok: $1"; else
        echo "run_slurm.sh: FAILED: $1"
        fail=1
    fi
}
[ -x bin/recur ] && [ -x bin/recur-mpi ] || { echo "run_slurm.sh: build first" >&2; exit 1; }
if [ "$(id -u)" != 0 ] || ! command -v slurmd >/dev/null 2>&1; then
    echo "run_slurm.sh: skipped: needs root and slurm-wlm (make deps-slurm) to run the daemons"
    exit 0
fi
# Snakemake 7.21's --slurm executor reads $USER to guess or check the SLURM account (KeyError
# without it); containers, CI runners and cron do not always set it.
USER=${USER:-$(id -un)}
export USER
mkdir -p build
tmp=$(mktemp -d "$top/build/slurm.XXXXXX") || exit 1
started=0
child=""
# Whatever happens, stop the cluster this script started; keep the files of a failed run.
cleanup() {
    status=$?
    if [ -n "$child" ]; then # interrupted during a workflow run: stop it and cancel its jobs
        kill -INT "$child" 2>/dev/null
        wait "$child"
        left=$(slurm_ids "$dir/snakemake.log")
        [ -n "$left" ] && scancel $(echo "$left" | tr , ' ') 2>/dev/null
    fi
    if [ $status -eq 0 ] && [ $fail -eq 0 ]; then rm -rf "$tmp"; else
        echo "run_slurm.sh: the failed run's files are kept in $tmp"
    fi
    if [ $started -eq 1 ]; then sh "$top/tests/slurm/stop_cluster.sh"; fi
    exit $status
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM # dash does not run the EXIT trap when a signal ends it
if ! sinfo -h -o %T 2>/dev/null | grep -q idle; then
    if ! sh tests/slurm/start_cluster.sh; then
        echo "run_slurm.sh: skipped: this machine cannot run the SLURM daemons (see above)"
        sh tests/slurm/stop_cluster.sh >/dev/null
        rm -rf "$tmp"
        exit 0
    fi
    started=1
fi
since=$(date +%Y-%m-%dT%H:%M:%S) # sacct from here on: this run's jobs only

# weights MODEL: a model's weights as text without the file name (float32: %.9g prints them exactly)
weights() { h5dump -g /weights -m %.9g "$1" | tail -n +2; }

# slurm_ids LOG: the SLURM job ids a Snakemake log names, comma-separated (the generic
# --cluster's "Submitted job 3 with external jobid '7'." and --slurm's "Job 3 has been submitted
# with SLURM jobid 7 (log: ...)")
slurm_ids() {
    sed -n -e "s/.* with external jobid '\([0-9][0-9]*\)'.*/\1/p" \
        -e 's/.* submitted with SLURM jobid \([0-9][0-9]*\) .*/\1/p' "$1" | paste -s -d, -
}

# study PROFILE DIR: the quick study in DIR (a fresh working directory) through
# pipelines/profiles/PROFILE, at most $limit seconds (then SIGINT). Sets rc (124 when it was
# stopped) and seconds. After a failure its jobs still in the queue are cancelled: Snakemake
# 7.21 does not always do it when interrupted, and they would hold the node.
study() {
    mkdir -p "$2" && cp pipelines/config/quick.yaml "$2/" && ln -s "$top/data" "$2/data"
    t0=$(date +%s)
    dir=$2
    # in the background, so that a signal to this script interrupts the wait (and cleanup stops
    # the run), whereas dash would run the trap only once a foreground command has finished
    timeout -s INT -k 60 "$limit" snakemake -s "$top/Snakefile" --directory "$2" \
        --config recur="$top/bin/recur" --profile "pipelines/profiles/$1" \
        --configfile "$2/quick.yaml" >"$2/snakemake.log" 2>&1 &
    child=$!
    wait $child
    rc=$?
    child=""
    seconds=$(($(date +%s) - t0))
    if [ $rc -ne 0 ]; then
        [ $rc -eq 124 ] && echo "run_slurm.sh: $1: stopped after $limit s"
        tail -n 30 "$2/snakemake.log"
        left=$(slurm_ids "$2/snakemake.log")
        [ -n "$left" ] && scancel $(echo "$left" | tr , ' ') 2>/dev/null
    fi
}

# 1. the quick study through the generic sbatch profile, every job a SLURM batch job
a=$tmp/sbatch
study slurm-sbatch "$a"
check "the quick study through the slurm-sbatch profile ($seconds s)" '[ $rc -eq 0 ]'
n_jobs=$(ls "$a"/.snakemake/slurm/*.out 2>/dev/null | wc -l)
check "the jobs ran as SLURM jobs ($n_jobs job logs)" '[ "$n_jobs" -gt 10 ]'
check "sacct-free: SLURM saw them (job ids in the log)" \
    'grep -q "Submitted job .* with external jobid" "$a/snakemake.log"'
check "the study's summary and report" \
    '[ -s "$a/results/quick/cpdna/summary.tsv" ] && [ -s "$a/results/quick/report.html" ]'
accounting=0
if command -v sacct >/dev/null 2>&1 && sacct -n -X >/dev/null 2>&1; then
    accounting=1
    n_acct=$(sacct -n -X -a -S "$since" -o JobName%40 | grep -c "recur-")
    check "the workflow's jobs are in sacct ($n_acct)" '[ "$n_acct" -eq "$n_jobs" ]'
else
    echo "run_slurm.sh: note: no accounting on this cluster (slurmdbd), sacct not checked"
fi

# 2. the same study through Snakemake's own SLURM executor (profile slurm), which submits each
# job with sbatch and follows it with sacct
b=$tmp/executor
study slurm "$b"
check "the quick study through the slurm profile (--slurm, $seconds s)" '[ $rc -eq 0 ]'
ids=$(slurm_ids "$b/snakemake.log")
n_sub=$(echo "$ids" | tr ',' '\n' | grep -c .)
check "the executor submitted as many jobs as the sbatch profile ($n_sub, $n_jobs)" \
    '[ "$n_sub" -eq "$n_jobs" ]'
if [ $accounting -eq 1 ] && [ -n "$ids" ]; then
    sacct -n -X -P -S "$since" -j "$ids" -o JobID,JobName,State,AllocCPUS,ReqMem \
        >"$b/sacct.txt" 2>&1
    n_done=$(grep -c "|COMPLETED|" "$b/sacct.txt")
    check "sacct: all $n_sub of its jobs COMPLETED ($n_done)" \
        '[ "$n_done" -eq "$n_sub" ] && [ "$(wc -l <"$b/sacct.txt")" -eq "$n_sub" ]'
    check "sacct: no job FAILED, TIMEOUT, OUT_OF_MEMORY or CANCELLED" \
        '! grep -E "FAIL|TIMEOUT|OUT_OF_ME|CANCEL" "$b/sacct.txt"'
    # set-threads and set-resources of the profile reach sbatch: training gets 2 CPUs, 4000 MB
    n_train=$(grep -c "|snakejob_train_" "$b/sacct.txt")
    n_model=$(find "$b/results" -name model.h5 | wc -l)
    check "sacct: $n_train training jobs, one per model ($n_model)" \
        '[ "$n_train" -gt 0 ] && [ "$n_train" -eq "$n_model" ]'
    n_sized=$(grep "|snakejob_train_" "$b/sacct.txt" | grep -c "|COMPLETED|2|4000M")
    check "sacct: each training job had 2 CPUs and 4000 MB (the profile's resources)" \
        '[ "$n_sized" -eq "$n_train" ]'
fi
check "the executor's job logs (.snakemake/slurm_logs)" \
    '[ "$(find "$b/.snakemake/slurm_logs" -name "*.log" | wc -l)" -eq "$n_sub" ]'
check "the same result files through both profiles" \
    '[ "$(cd "$a" && find results -type f | sort)" = "$(cd "$b" && find results -type f | sort)" ]'
check "the study's summaries and report" '[ -s "$b/results/quick/cpdna/summary.tsv" ] &&
    [ -s "$b/results/quick/seattle/summary.tsv" ] && [ -s "$b/results/quick/report.html" ]'
# recur gives bit-identical weights for the same seed: both profiles trained the same models
same=0
for m in $(cd "$a" && find results -name model.h5 | sort); do
    [ -s "$b/$m" ] && [ "$(weights "$a/$m")" = "$(weights "$b/$m")" ] && same=$((same + 1))
done
n_a=$(cd "$a" && find results -name model.h5 | wc -l)
check "its models equal the sbatch profile's, bit for bit ($same of $n_a)" \
    '[ "$same" -gt 0 ] && [ "$same" -eq "$n_a" ]'

# 3. one MPI training job: 2 ranks started by srun (PMIx), data parallel
bin/recur simulate adding -n 512 -T 30 --seed 2 -o "$tmp/add.h5"
jid=$(sbatch --parsable --ntasks=2 --cpus-per-task=1 --output="$tmp/mpi-%j.out" \
    --wrap "srun --mpi=pmix $top/bin/recur-mpi train --data $tmp/add.h5 -o $tmp/mpi.h5 \
--cell lstm --hidden 8 --epochs 2 --batch-size 64 --seed 3 --deterministic-reduce")
check "sbatch accepted the MPI job" '[ -n "$jid" ]'
for i in $(seq 1 120); do
    squeue -h -j "$jid" 2>/dev/null | grep -q . || break
    sleep 1
done
check "the MPI job wrote its model" '[ -s "$tmp/mpi.h5" ]'
check "two ranks ran (rank 0 reported 2 ranks)" 'grep -q "2 ranks" "$tmp"/mpi-*.out'
# the same training in one process gives the same weights (deterministic reduction)
bin/recur train --data "$tmp/add.h5" -o "$tmp/one.h5" --cell lstm --hidden 8 --epochs 2 \
    --batch-size 64 --seed 3 --deterministic-reduce -q
check "2 ranks under srun = 1 process, bit for bit" \
    '[ "$(weights "$tmp/mpi.h5")" = "$(weights "$tmp/one.h5")" ]'
[ $fail -eq 0 ] && echo "run_slurm.sh: all checks passed"
exit $fail
