#!/usr/bin/env bash
# Start the scale-out servers on this machine (loopback unless EMOREC_LISTEN says otherwise):
#   - PostgreSQL (the Debian package, installed if missing) with role "emorec" and two
#     databases: emorec_optuna (Optuna RDB storage) and emorec_mlflow (MLflow's backend store);
#   - an MLflow tracking server on it, serving artifacts from ./mlartifacts.
# Idempotent: what already runs or exists is kept. Prints the two URLs to use, and writes them
# to .servers.env for `source`. Stop with scripts/stop_servers.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

LISTEN=${EMOREC_LISTEN:-127.0.0.1}          # 0.0.0.0 to take workers from other machines
PGPORT=${EMOREC_PGPORT:-5432}
MLFLOW_PORT=${EMOREC_MLFLOW_PORT:-5000}
PGPASSWORD_EMOREC=${EMOREC_PGPASSWORD:-emorec}
MLFLOW=${MLFLOW:-.venv/bin/mlflow}
healthy() { python3 -c "import urllib.request as u; u.urlopen('$1/health', timeout=2)" 2>/dev/null; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pg_lsclusters >/dev/null 2>&1; then
    echo "servers: installing PostgreSQL (Debian package postgresql)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi
read -r PGVERSION PGCLUSTER PGCLUSTER_PORT PGSTATUS _ < <(pg_lsclusters --no-header | head -n 1) || true
if [ -z "${PGVERSION:-}" ]; then
    PGVERSION=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
    as_root pg_createcluster "$PGVERSION" main --port "$PGPORT"
    read -r PGVERSION PGCLUSTER PGCLUSTER_PORT PGSTATUS _ < <(pg_lsclusters --no-header | head -n 1) || true
fi
PGPORT=$PGCLUSTER_PORT
if [ "$PGSTATUS" != "online" ]; then
    as_root pg_ctlcluster "$PGVERSION" "$PGCLUSTER" start \
        -o "-c listen_addresses=$LISTEN"
fi
psql_admin() { as_root runuser -u postgres -- psql -p "$PGPORT" -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'emorec'")" != "1" ]; then
    psql_admin -c "CREATE ROLE emorec LOGIN PASSWORD '$PGPASSWORD_EMOREC'"
fi
for db in emorec_optuna emorec_mlflow; do
    if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
        psql_admin -c "CREATE DATABASE $db OWNER emorec"
    fi
done
PG="postgresql+psycopg://emorec:$PGPASSWORD_EMOREC@127.0.0.1:$PGPORT"
echo "servers: PostgreSQL $PGVERSION on port $PGPORT"

MLFLOW_URI="http://127.0.0.1:$MLFLOW_PORT"
if ! healthy "$MLFLOW_URI"; then
    mkdir -p mlartifacts
    nohup "$MLFLOW" server --backend-store-uri "$PG/emorec_mlflow" \
        --artifacts-destination "$PWD/mlartifacts" --host "$LISTEN" --port "$MLFLOW_PORT" \
        --workers 2 > mlflow-server.log 2>&1 &
    echo $! > mlflow-server.pid
    for _ in $(seq 1 120); do
        healthy "$MLFLOW_URI" && break
        sleep 1
    done
    if ! healthy "$MLFLOW_URI"; then
        echo "servers: the MLflow server did not come up; see mlflow-server.log" >&2
        tail -n 30 mlflow-server.log >&2
        exit 1
    fi
fi
echo "servers: MLflow tracking server at $MLFLOW_URI (artifacts in mlartifacts/)"
cat > .servers.env <<ENV
export EMOREC_OPTUNA_STORAGE=$PG/emorec_optuna
export EMOREC_TRACKING_URI=$MLFLOW_URI
ENV
echo "servers: Optuna storage  $PG/emorec_optuna"
echo "servers: tracking URI    $MLFLOW_URI"
echo "servers: (both written to .servers.env)"
