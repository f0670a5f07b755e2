#!/bin/sh
# start_cluster.sh - a real single-node SLURM cluster on this machine, for the workflow's
# SLURM test: Debian's munge and slurm-wlm, configured for localhost (all CPUs, one
# partition "debug") and started. Needs root. Idempotent: a running cluster is left as it is.
# Packages: munge slurm-wlm (slurmctld, slurmd, client tools), and for accounting (sacct)
# slurmdbd with mariadb-server, installed by `make deps-slurm`.
set -eu
host=$(hostname)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
conf=/etc/slurm/slurm.conf

if sinfo -h -o %T 2>/dev/null | grep -q idle; then
    echo "start_cluster.sh: SLURM already running on $host"
    exit 0
fi

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
# Accounting (sacct) when slurmdbd and MariaDB are installed: a database on localhost
ACCOUNTING=""
if command -v slurmdbd >/dev/null 2>&1 && command -v mysqld_safe >/dev/null 2>&1; then
    ACCOUNTING="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux"
fi
cat >"$conf" <<CONF
# written by recur's tests/slurm/start_cluster.sh: one node, localhost
ClusterName=recur
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
MpiDefault=none
$ACCOUNTING
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

# munge: a key, then the daemon (as root with --force: there is no munge service manager here)
[ -s /etc/munge/munge.key ] || mungekey --create >/dev/null 2>&1 || \
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || munged --force
munge -n | unmunge >/dev/null

if [ -n "$ACCOUNTING" ]; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    if ! mysql -e "select 1" >/dev/null 2>&1; then
        nohup mysqld_safe >/var/log/slurm/mysqld.log 2>&1 &
        for i in $(seq 1 30); do mysql -e "select 1" >/dev/null 2>&1 && break; sleep 1; done
    fi
    # A fresh database when slurmdbd starts: stop_cluster.sh clears slurmctld's state, so job
    # ids start again at 1, and `sacct -j ID` (how Snakemake's --slurm executor follows a job;
    # over all time) would answer with an earlier run's job of the same id, COMPLETED, until
    # the new job reaches the database - Snakemake would take a job just submitted for done.
    pgrep -x slurmdbd >/dev/null || mysql -e "DROP DATABASE IF EXISTS slurm_acct_db;"
    mysql -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
        CREATE OR REPLACE USER 'slurm'@'localhost' IDENTIFIED BY 'recur-test';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
    cat >/etc/slurm/slurmdbd.conf <<DBD
# written by recur's tests/slurm/start_cluster.sh
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=recur-test
StorageLoc=slurm_acct_db
PidFile=/run/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
DBD
    chmod 600 /etc/slurm/slurmdbd.conf
    pgrep -x slurmdbd >/dev/null || slurmdbd
    for i in $(seq 1 20); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 1; done
    sacctmgr -i add cluster recur >/dev/null 2>&1 || true
fi
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for i in $(seq 1 30); do
    if sinfo -h -o %T 2>/dev/null | grep -q idle; then
        echo "start_cluster.sh: SLURM up on $host ($cpus CPUs, ${mem} MB)"
        exit 0
    fi
    sleep 1
done
echo "start_cluster.sh: SLURM did not come up; see /var/log/slurm/" >&2
exit 1
