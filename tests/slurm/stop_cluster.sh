#!/bin/sh
# stop_cluster.sh - stops the single-node SLURM cluster start_cluster.sh started (slurmd,
# slurmctld, munged) and forgets its jobs.
pkill -x slurmd 2>/dev/null
pkill -x slurmctld 2>/dev/null
pkill -x slurmdbd 2>/dev/null
sleep 1
mysqladmin shutdown 2>/dev/null
pkill -x munged 2>/dev/null
rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
echo "stop_cluster.sh: SLURM stopped"
