#!/usr/bin/env bash
# Installs Debian's PostgreSQL server programs, which the local runtime runs for a
# change-data-capture source (the "monolith" database). Only the programs: the
# cluster Debian would create and start on port 5432 is turned off first, since
# the local runtime initialises and runs its own under .local/, and stops it.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "PostgreSQL is installed: $(ls -d /usr/lib/postgresql/*/bin/postgres | tail -n 1)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "Installing PostgreSQL needs root: run 'sudo npm run install:postgresql' (or apt-get install postgresql)." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql-common >/dev/null
sed -i -E 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
echo "PostgreSQL installed: $(ls -d /usr/lib/postgresql/*/bin/postgres | tail -n 1)"
