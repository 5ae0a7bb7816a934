#!/usr/bin/env bash
# Installs Debian's PostgreSQL server programs, which the local runtime runs for a
# change-data-capture source (the "monolith" database). Only the programs: the
# cluster Debian would create and start on port 5432 is turned off first, since
# the local runtime initialises and runs its own under .local/, and stops it.
set -euo pipefail
source "$(dirname "$0")/debian-packages.sh"
if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "PostgreSQL is installed: $(ls -d /usr/lib/postgresql/*/bin/postgres | tail -n 1)"
  exit 0
fi
require_root_to_install PostgreSQL install:postgresql postgresql
apt_install postgresql-common
sed -i -E 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
apt_install postgresql
echo "PostgreSQL installed: $(ls -d /usr/lib/postgresql/*/bin/postgres | tail -n 1)"
