#!/usr/bin/env bash
# Start a single-node Slurm on this machine for tests and trials: munged, slurmctld and slurmd
# (Debian's slurm-wlm and munge, installed if missing) with a generated configuration, state,
# logs and munge socket under $EMOREC_SLURM_DIR (default: a new temporary folder). It keeps
# apart from a Slurm or munge the machine already runs: munged listens on its own socket in
# that folder (AuthInfo=socket=... tells Slurm), with its own key, and slurmctld and slurmd
# listen on their own ports, $EMOREC_SLURM_PORT and the next one (default 16817 and 16818, not
# Slurm's 6817 and 6818); ports that are taken stop it in one line, exit 2, before anything
# starts. One node with the machine's CPUs, one partition "debug"; no accounting database, no
# cgroups (ProctrackType=proctrack/linuxproc, TaskPlugin=task/none), so it runs as root without
# systemd. Writes SLURM_CONF to .slurm.env, which the shell that runs sbatch, squeue or emorec
# slurm must `source`: without SLURM_CONF they look for /etc/slurm/slurm.conf, then for a
# cluster in DNS SRV records. scripts/stop_slurm.sh stops the daemons by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# One variable of .slurm.env, read without sourcing it (it would override this shell's).
from_env_file() { bash -c 'source .slurm.env >/dev/null 2>&1; printf %s "${'"$1"':-}"'; }

if [ -f .slurm.env ]; then
    old_dir=$(from_env_file EMOREC_SLURM_DIR)
    if [ -n "$old_dir" ] && kill -0 "$(cat "$old_dir/slurmctld.pid" 2>/dev/null)" 2>/dev/null; then
        echo "slurm: already running (SLURM_CONF=$(from_env_file SLURM_CONF), ports" \
            "$(from_env_file EMOREC_SLURM_PORT) and the next); source .slurm.env"
        exit 0
    fi
fi

CTLD_PORT=${EMOREC_SLURM_PORT:-16817}
python3 scripts/port_free.py "make slurm" "$CTLD_PORT" --count 2 --setting EMOREC_SLURM_PORT \
    --address 0.0.0.0 >&2 || exit 2
DIR=${EMOREC_SLURM_DIR:-$(mktemp -d /tmp/emorec-slurm.XXXXXX)}
DIR=$(mkdir -p "$DIR" && cd "$DIR" && pwd)
SOCKET=$DIR/munge/munge.socket
if [ ${#SOCKET} -gt 100 ]; then     # a Unix socket's path holds at most 107 bytes
    echo "make slurm: EMOREC_SLURM_DIR must be a shorter path (its munge socket $SOCKET is" \
        "${#SOCKET} bytes, sockets take at most 100 here), found $DIR" >&2
    exit 2
fi

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    echo "slurm: installing Debian's slurm-wlm and munge"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq slurm-wlm munge >/dev/null
fi

mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge" "$DIR/log"
chmod 700 "$DIR/munge"
NODE=$(hostname -s)
CPUS=${EMOREC_SLURM_CPUS:-$(nproc)}
MEMORY_MB=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
USER_NAME=$(id -un)
export SLURM_CONF="$DIR/slurm.conf"
# Written before any daemon starts, so that scripts/stop_slurm.sh finds what did start.
cat > .slurm.env <<ENV
# make slurm's single-node Slurm: source this file in the shell that runs sbatch, squeue,
# scontrol or emorec slurm (without SLURM_CONF they look for /etc/slurm/slurm.conf, then for
# a cluster in DNS SRV records). Logs: \$EMOREC_SLURM_DIR/log. Stop it with make stop-slurm.
export SLURM_CONF=$SLURM_CONF
export EMOREC_SLURM_DIR=$DIR
export EMOREC_SLURM_PORT=$CTLD_PORT
export EMOREC_SLURM_MUNGE_SOCKET=$SOCKET
ENV

# munge: a key and a socket of its own in the folder (never the system's munged socket).
if [ ! -f "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom bs=1 count=1024 of="$DIR/munge/munge.key" 2>/dev/null
    chmod 400 "$DIR/munge/munge.key"
fi
as_root munged --socket="$SOCKET" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge/munge.seed" --force

cat > "$SLURM_CONF" <<CONF
ClusterName=emorec
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$((CTLD_PORT + 1))
SlurmUser=$USER_NAME
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
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

as_root slurmctld -c -f "$SLURM_CONF"
as_root slurmd -f "$SLURM_CONF"
for _ in $(seq 1 60); do
    if sinfo -h -o %T 2>/dev/null | grep -q "idle"; then
        echo "slurm: node $NODE idle with $CPUS CPUs in partition debug; slurmctld on port" \
            "$CTLD_PORT, slurmd on $((CTLD_PORT + 1)), munged on $SOCKET"
        echo "slurm: now run: source .slurm.env   (it sets SLURM_CONF=$SLURM_CONF for sbatch," \
            "squeue and emorec slurm); make stop-slurm stops it"
        exit 0
    fi
    sleep 1
done
echo "slurm: the node did not come up; see $DIR/log (make stop-slurm stops what started)" >&2
tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
exit 1
