#!/bin/sh
# stop_cluster.sh - stops the single-node SLURM cluster start_cluster.sh started (slurmd,
# slurmctld, slurmdbd, MariaDB, munged) and forgets its jobs: those still queued or running are
# cancelled first, so that no job script outlives the daemons.
if pgrep -x slurmctld >/dev/null; then
    jobs=$(squeue -h -o %i 2>/dev/null)
    if [ -n "$jobs" ]; then
        scancel $jobs 2>/dev/null
        for i in 1 2 3 4 5 6 7 8 9 10; do
            squeue -h -o %i 2>/dev/null | grep -q . || break
            sleep 1
        done
    fi
fi
pkill -x slurmd 2>/dev/null
pkill -x slurmctld 2>/dev/null
pkill -x slurmdbd 2>/dev/null
sleep 1
mysqladmin shutdown 2>/dev/null
pkill -x munged 2>/dev/null
rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
echo "stop_cluster.sh: SLURM stopped"
