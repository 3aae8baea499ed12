#!/usr/bin/env bash
# Two services, one sign-in: Redis (sessions), cloakroom (service A: sign-in pages, API and
# /auth/verify, written in TypeScript), a Python service B, and nginx in front of both doing
# forward auth. Ctrl-C stops everything.
#
#   bash examples/two-services/run.sh        then open http://127.0.0.1:8080/b/
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

PORT="${PORT:-8080}"                     # nginx: the only address a browser opens
CLOAKROOM_PORT="${CLOAKROOM_PORT:-3000}"
SERVICE_B_PORT="${SERVICE_B_PORT:-8001}"
REDIS_PORT="${REDIS_PORT:-6390}"         # a Redis of its own; set REDIS_URL to use yours instead
DATA_DIR="${DATA_DIR:-$HERE/data}"       # cloakroom's users (SQLite) and development secret
RUN_DIR="${RUN_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/cloakroom-two-services.XXXXXX")}"
ADMIN_PASSWORD="${ADMIN_PASSWORD:-harbour-lantern-42}"

find_tool() {  # prints the path of $1 (also in /usr/sbin, which is not on every PATH)
  command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || {
    echo "run.sh: $1 is not installed: $2" >&2
    exit 1
  }
}
NGINX="$(find_tool nginx 'apt-get install -y nginx-light')"
PYTHON="$(find_tool python3 'apt-get install -y python3')"
NODE="$(find_tool node 'install Node.js 20 or newer')"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

wait_port() {  # waits until something accepts connections on 127.0.0.1:$1
  for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run.sh: $2 did not start on port $1; see $RUN_DIR" >&2
  exit 1
}

mkdir -p "$RUN_DIR" "$DATA_DIR"
echo "run.sh: logs in $RUN_DIR"

if [ -z "${REDIS_URL:-}" ]; then
  REDIS="$(find_tool redis-server 'apt-get install -y redis-server')"
  "$REDIS" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$RUN_DIR/redis.log" 2>&1 &
  pids+=($!)
  wait_port "$REDIS_PORT" redis-server
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
fi

# Service A: the cloakroom server, sessions in Redis. Any number of instances with the same
# REDIS_URL and CLOAKROOM_SECRETS would answer for the same sessions. Its CLI runs from the
# server package's source with tsx; the library it imports by name is the built one
# (`npm run build` at the repository root).
CLI="packages/server/src/cli/main.ts"
(
  cd "$ROOT"
  exec env PORT="$CLOAKROOM_PORT" HOST=127.0.0.1 REDIS_URL="$REDIS_URL" \
    CLOAKROOM_DATA_DIR="$DATA_DIR" CLOAKROOM_TRUST_PROXY=true \
    CLOAKROOM_ADMIN_USER=admin CLOAKROOM_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    ${CLOAKROOM_SECRETS:+CLOAKROOM_SECRETS="$CLOAKROOM_SECRETS"} \
    "$NODE" --import tsx "$CLI" serve
) >"$RUN_DIR/cloakroom.log" 2>&1 &
pids+=($!)

# Service B: Python, standard library only.
"$PYTHON" "$HERE/service-b/app.py" --port "$SERVICE_B_PORT" >"$RUN_DIR/service-b.log" 2>&1 &
pids+=($!)

sed -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@PORT@|$PORT|g" \
  -e "s|@CLOAKROOM_PORT@|$CLOAKROOM_PORT|g" -e "s|@SERVICE_B_PORT@|$SERVICE_B_PORT|g" \
  "$HERE/nginx.conf.template" >"$RUN_DIR/nginx.conf"
"$NGINX" -t -q -c "$RUN_DIR/nginx.conf" -p "$RUN_DIR" -e "$RUN_DIR/error.log"
"$NGINX" -c "$RUN_DIR/nginx.conf" -p "$RUN_DIR" -e "$RUN_DIR/error.log" &
pids+=($!)

wait_port "$CLOAKROOM_PORT" cloakroom
wait_port "$SERVICE_B_PORT" 'service B'
wait_port "$PORT" nginx
echo "ready: http://127.0.0.1:$PORT/b/ (sign in as admin / $ADMIN_PASSWORD)"

# Runs until Ctrl-C, or until one of the services stops by itself.
set +e
wait -n
echo "run.sh: a service stopped; see $RUN_DIR" >&2
exit 1
