#!/usr/bin/env bash
# Start a single-node Slurm on this machine for tests and trials: munged, slurmctld and slurmd
# (Debian's slurm-wlm and munge, installed if missing) with a generated configuration, state
# and logs under $EMOREC_SLURM_DIR (default: a new temporary folder). One node with the
# machine's CPUs, one partition "debug"; no accounting database, no cgroups
# (ProctrackType=proctrack/linuxproc, TaskPlugin=task/none), so it runs as root without systemd.
# Writes SLURM_CONF to .slurm.env for `source`; scripts/stop_slurm.sh stops the daemons by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    echo "slurm: installing Debian's slurm-wlm and munge"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq slurm-wlm munge >/dev/null
fi
if [ -f .slurm.env ]; then
    # shellcheck disable=SC1091
    source .slurm.env
    if [ -n "${EMOREC_SLURM_DIR:-}" ] && kill -0 "$(cat "$EMOREC_SLURM_DIR/slurmctld.pid" 2>/dev/null)" 2>/dev/null; then
        echo "slurm: already running (SLURM_CONF=$SLURM_CONF)"
        exit 0
    fi
fi

DIR=${EMOREC_SLURM_DIR:-$(mktemp -d /tmp/emorec-slurm.XXXXXX)}
mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge" "$DIR/log"
chmod 700 "$DIR/munge"
NODE=$(hostname -s)
CPUS=${EMOREC_SLURM_CPUS:-$(nproc)}
MEMORY_MB=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
USER_NAME=$(id -un)
CTLD_PORT=${EMOREC_SLURM_PORT:-6817}

# munge: a key of its own in the folder; its socket is the default one, where Slurm looks.
if [ ! -f "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom bs=1 count=1024 of="$DIR/munge/munge.key" 2>/dev/null
    chmod 400 "$DIR/munge/munge.key"
fi
mkdir -p /run/munge
cat > .slurm.env <<ENV
export EMOREC_SLURM_DIR=$DIR
ENV
as_root munged --key-file="$DIR/munge/munge.key" --pid-file="$DIR/munge/munged.pid" \
    --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munge.seed" --force

cat > "$DIR/slurm.conf" <<CONF
ClusterName=emorec
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$((CTLD_PORT + 1))
SlurmUser=$USER_NAME
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
MpiDefault=none
KillWait=5
MinJobAge=30
SchedulerParameters=bf_interval=1,sched_min_interval=100000
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEMORY_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF

export SLURM_CONF="$DIR/slurm.conf"
cat > .slurm.env <<ENV
export SLURM_CONF=$SLURM_CONF
export EMOREC_SLURM_DIR=$DIR
ENV
as_root slurmctld -c -f "$SLURM_CONF"
as_root slurmd -f "$SLURM_CONF"
for _ in $(seq 1 60); do
    if sinfo -h -o %T 2>/dev/null | grep -q "idle"; then
        echo "slurm: node $NODE idle with $CPUS CPUs in partition debug (SLURM_CONF=$SLURM_CONF)"
        echo "slurm: (written to .slurm.env)"
        exit 0
    fi
    sleep 1
done
echo "slurm: the node did not come up; see $DIR/log" >&2
tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
exit 1
