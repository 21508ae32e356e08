#!/usr/bin/env bash
# Stop what scripts/start_slurm.sh started, by pid: slurmd, slurmctld, munged.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -f .slurm.env ] || { echo "slurm: not started here (no .slurm.env)"; exit 0; }
# shellcheck disable=SC1091
source .slurm.env
for pidfile in slurmd.pid slurmctld.pid munge/munged.pid; do
    pid=$(cat "$EMOREC_SLURM_DIR/$pidfile" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
done
rm -f .slurm.env
echo "slurm: stopped"
