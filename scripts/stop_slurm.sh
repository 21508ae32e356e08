#!/usr/bin/env bash
# Stop what scripts/start_slurm.sh started, by the pids in its folder: slurmd, slurmctld,
# munged (its own, on its own socket; never a munged or Slurm of the system).
set -uo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
[ -f .slurm.env ] || { echo "slurm: not started here (no .slurm.env)"; exit 0; }
DIR=$(bash -c 'source .slurm.env >/dev/null 2>&1; printf %s "${EMOREC_SLURM_DIR:-}"')
[ -n "$DIR" ] || { echo "slurm: .slurm.env names no EMOREC_SLURM_DIR; nothing stopped" >&2; exit 1; }
for pidfile in slurmd.pid slurmctld.pid munge/munged.pid; do
    pid=$(cat "$DIR/$pidfile" 2>/dev/null) || continue
    as_root kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do as_root kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if as_root kill -0 "$pid" 2>/dev/null; then as_root kill -9 "$pid" 2>/dev/null; fi
done
rm -f .slurm.env
echo "slurm: stopped (its logs stay in $DIR/log)"
