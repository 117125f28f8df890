#!/usr/bin/env bash
# The test suite runs a second time on PostgreSQL. Use the server on 127.0.0.1:5432 when one answers;
# otherwise install Debian's postgresql, start it, and let local TCP connections in as `postgres`.
set -euo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
URL_HOST=127.0.0.1
can_connect() { psql -h "$URL_HOST" -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; }
if command -v psql >/dev/null && can_connect; then exit 0; fi
if ! command -v pg_ctlcluster >/dev/null; then
  echo "installing Debian postgresql for the PostgreSQL test run" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql postgresql-client >/dev/null
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -h "$URL_HOST" -q && break; sleep 1; done
if ! can_connect; then
  hba=/etc/postgresql/$version/main/pg_hba.conf
  echo "allowing trusted local TCP connections for the tests in $hba" >&2
  $SUDO sed -i '1i host all all 127.0.0.1/32 trust # tilsvar tests' "$hba"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  sleep 1
fi
can_connect || { echo "PostgreSQL is not reachable on $URL_HOST:5432 as postgres" >&2; exit 1; }
