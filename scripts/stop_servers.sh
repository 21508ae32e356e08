#!/usr/bin/env bash
# Stop what scripts/start_servers.sh started: the MLflow server and the PostgreSQL cluster.
set -uo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if [ -f mlflow-server.pid ]; then
    pkill -TERM -P "$(cat mlflow-server.pid)" 2>/dev/null
    kill "$(cat mlflow-server.pid)" 2>/dev/null
    rm -f mlflow-server.pid
fi
read -r PGVERSION PGCLUSTER _ < <(pg_lsclusters --no-header | head -n 1) || true
[ -n "${PGVERSION:-}" ] && as_root pg_ctlcluster "$PGVERSION" "$PGCLUSTER" stop
echo "servers: stopped"
