#!/usr/bin/env bash
# Makes sure the servers the integration tests need are up on loopback:
# Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (trust auth, a
# `test` database). Starts them if installed but stopped; installs them from
# Debian's packages when missing and this runs as root. Idempotent.
set -euo pipefail

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

need_install=()
command -v redis-server >/dev/null || need_install+=(redis-server redis-tools)
command -v pg_ctlcluster >/dev/null || need_install+=(postgresql)
# The example app's end-to-end test drives Debian's Chromium (no browser download).
command -v chromium >/dev/null || need_install+=(chromium)
if [ ${#need_install[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "services: installing ${need_install[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}" >/dev/null
  else
    echo "services: please install ${need_install[*]} (Redis, PostgreSQL and Chromium are needed by the integration and browser tests)" >&2
    exit 1
  fi
fi

if ! redis_up; then
  echo "services: starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do redis_up && break; sleep 0.2; done
fi
redis_up || { echo "services: Redis did not come up" >&2; exit 1; }

if ! pg_up; then
  echo "services: starting PostgreSQL"
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 100); do pg_up && break; sleep 0.2; done
fi
pg_up || { echo "services: PostgreSQL did not come up" >&2; exit 1; }

# Trust auth and a `test` database, as the tests expect (created when missing).
if ! psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    su postgres -c "psql -tAc \"select 1 from pg_database where datname='test'\"" | grep -q 1 ||
      su postgres -c "createdb test" || true
  fi
fi
psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null ||
  { echo "services: cannot connect to postgres://postgres@127.0.0.1:5432/test (trust auth expected)" >&2; exit 1; }
echo "services: Redis and PostgreSQL ready"
