#!/bin/sh
# run_slurm.sh - the workflow on a real SLURM cluster: starts a single-node cluster on this
# machine (start_cluster.sh), runs the quick study through the generic sbatch profile
# (pipelines/profiles/slurm-sbatch), checks that every job went through SLURM and that the
# outputs are there, then runs one MPI training job with srun (2 ranks, bin/recur-mpi) and checks
# its model. Needs root, munge, slurm-wlm and OpenMPI (`make deps-slurm`); `make test-slurm`
# runs it. Takes a few minutes on 2 cores.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
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
started=0
if ! sinfo -h -o %T 2>/dev/null | grep -q idle; then
    if ! sh tests/slurm/start_cluster.sh; then
        echo "run_slurm.sh: skipped: this machine cannot run the SLURM daemons (see above)"
        sh tests/slurm/stop_cluster.sh >/dev/null
        exit 0
    fi
    started=1
fi
tmp=$(mktemp -d "$top/build/slurm.XXXXXX") || exit 1
trap 'rm -rf "$tmp"; [ $started -eq 1 ] && sh "$top/tests/slurm/stop_cluster.sh"' EXIT
cp pipelines/config/quick.yaml "$tmp/"
ln -s "$top/data" "$tmp/data"
# the quick study, every job a SLURM batch job
snakemake -s "$top/Snakefile" --directory "$tmp" --config recur="$top/bin/recur" \
    --profile pipelines/profiles/slurm-sbatch --configfile "$tmp/quick.yaml" \
    >"$tmp/snakemake.log" 2>&1
check "the quick study through sbatch" '[ $? -eq 0 ]'
n_jobs=$(ls "$tmp"/.snakemake/slurm/*.out 2>/dev/null | wc -l)
check "the jobs ran as SLURM jobs ($n_jobs job logs)" '[ "$n_jobs" -gt 10 ]'
check "sacct-free: SLURM saw them (job ids in the log)" \
    'grep -q "Submitted job .* with external jobid" "$tmp/snakemake.log"'
check "the study's summary and report" \
    '[ -s "$tmp/results/quick/cpdna/summary.tsv" ] && [ -s "$tmp/results/quick/report.html" ]'
if command -v sacct >/dev/null 2>&1 && sacct -n -X >/dev/null 2>&1; then
    n_acct=$(sacct -n -X -a -S today -o JobName%40 | grep -c "recur-")
    check "the workflow's jobs are in sacct ($n_acct)" '[ "$n_acct" -ge "$n_jobs" ]'
else
    echo "run_slurm.sh: note: no accounting on this cluster (slurmdbd), sacct not checked"
fi

# one MPI training job: 2 ranks started by srun (PMIx), data parallel
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
    '[ "$(h5dump -g /weights -m %.9g "$tmp/mpi.h5" | tail -n +2)" = "$(h5dump -g /weights -m %.9g "$tmp/one.h5" | tail -n +2)" ]'
[ $fail -eq 0 ] && echo "run_slurm.sh: all checks passed"
exit $fail
