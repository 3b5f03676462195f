#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, trust auth, database `test`) and Redis (127.0.0.1:6379)
# answer: starts them when they do not, installing them with apt on Debian/Ubuntu when missing.
# Used by CI and by `npm run cluster`. Elsewhere, start them yourself and set DATABASE_URL/REDIS_URL.
set -euo pipefail

log() { printf '\n== %s\n' "$*"; }
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

postgres_answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() {
  local what=$1 check=$2
  for _ in $(seq 1 60); do
    if "$check"; then return 0; fi
    sleep 0.5
  done
  echo "$what did not come up" >&2
  return 1
}

log "PostgreSQL"
if ! postgres_answers; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql postgresql-client
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  conf="/etc/postgresql/$version/main/pg_hba.conf"
  # Local trust auth, as on the developers' machines: CI's database is throwaway.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$conf"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$conf"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for PostgreSQL postgres_answers
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 ||
    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test'
fi
psql "$DATABASE_URL" -tAc 'SELECT version()'

log "Redis"
if ! redis_answers; then
  command -v redis-server >/dev/null || apt_install redis-server
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis_answers
fi
redis-cli -h 127.0.0.1 -p 6379 info server | grep redis_version

