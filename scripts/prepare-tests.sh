#!/usr/bin/env bash
# Runs before `npm test` (npm's pretest step): makes sure what the suite drives for real is here.
#
#   programs: Chromium (browser tests, through playwright-core), nginx and Caddy (forward-auth
#             tests), python3 (the example's non-Node service), redis-server (tests start their
#             own instances too), PostgreSQL's binaries (tests start their own clusters too)
#   services: Redis on REDIS_URL (default redis://127.0.0.1:6379) and PostgreSQL on DATABASE_URL
#             (default postgres://postgres@127.0.0.1:5432/test, trust authentication)
#
# What is missing is installed (Debian/Ubuntu apt, as root or with password-less sudo) or
# started; where that cannot be done, it stops and names the one command to run.
# CLOAKROOM_SKIP_PREPARE=1 skips all of it (you manage the services yourself).
set -euo pipefail

[ "${CLOAKROOM_SKIP_PREPARE:-}" = 1 ] && exit 0

say() { printf '[prepare-tests] %s\n' "$*" >&2; }
stop() {
  say "$1"
  say "then run npm test again (or CLOAKROOM_SKIP_PREPARE=1 npm test to skip this check)"
  exit 1
}

as_root=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then as_root=(sudo -n); else as_root=(none); fi
fi
can_install() { command -v apt-get >/dev/null && [ "${as_root[0]:-}" != none ]; }

have() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
postgres_bin() {
  if [ -n "${POSTGRES_BIN:-}" ]; then [ -x "$POSTGRES_BIN/initdb" ]; return; fi
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then return 0; fi
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

# --- programs -----------------------------------------------------------------------------
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
have nginx || missing+=(nginx-light)
[ -x /usr/bin/caddy ] || missing+=(caddy)
have python3 || missing+=(python3)
{ have redis-server && have redis-cli; } || missing+=(redis-server redis-tools)
postgres_bin || missing+=(postgresql)

if [ ${#missing[@]} -gt 0 ]; then
  if can_install; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    stop "missing: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}"
  fi
fi

# --- Redis --------------------------------------------------------------------------------
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  if [ "$REDIS_URL" = redis://127.0.0.1:6379 ]; then
    say "starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 50); do redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 ||
    stop "Redis does not answer at $REDIS_URL; start one (on the default URL: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no)"
fi

# --- PostgreSQL ---------------------------------------------------------------------------
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
pg_up() { pg_isready -d "$DATABASE_URL" -q 2>/dev/null; }
if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ "${as_root[0]:-}" != none ] && [ -d /etc/postgresql ]; then
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    say "starting PostgreSQL $version"
    "${as_root[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 50); do pg_up && break; sleep 0.2; done
  fi
  pg_up || stop "PostgreSQL does not answer at $DATABASE_URL; start it with: sudo pg_ctlcluster \$(ls /etc/postgresql) main start"
fi
if ! psql "$DATABASE_URL" -Atqc 'select 1' >/dev/null 2>&1; then
  admin_url="${DATABASE_URL%/*}/postgres"
  database="${DATABASE_URL##*/}"
  if psql "$admin_url" -Atqc 'select 1' >/dev/null 2>&1; then
    say "creating database $database"
    psql "$admin_url" -qc "create database \"$database\"" >/dev/null
  else
    stop "cannot connect to $DATABASE_URL without a password; the tests expect trust authentication for 127.0.0.1 (pg_hba.conf: host all all 127.0.0.1/32 trust) and a database: sudo -u postgres createdb ${database}"
  fi
fi
