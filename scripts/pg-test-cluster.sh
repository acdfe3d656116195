#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL 15 cluster, then stops and deletes the
# cluster (also when the command or the start fails).
#
#   scripts/pg-test-cluster.sh COMMAND [ARGS...]
#
# The cluster lives in a fresh temporary directory, listens on a Unix socket in that
# directory only (no TCP port), trusts local connections of the socket's owner (the
# directory is mode 0700) and holds one database, `hexvault_test`. The command runs with
# HEXVAULT_TEST_POSTGRES_URL set to its connection string. PostgreSQL refuses to run as
# root: as root the server runs as the system user `hexvault-pg` (created if missing).
# HEXVAULT_TEST_PG_RESTART is set to a script that stops the server the way a crash does
# (`pg_ctl stop -m immediate`: no shutdown checkpoint, crash recovery at the next start)
# and starts it again with the same settings.
# Where the server binaries are missing and we are root with apt-get, `postgresql-15` is
# installed; otherwise the script fails and says what to install. HEXVAULT_PG_BIN
# overrides the binary directory (default /usr/lib/postgresql/15/bin).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

pg_bin=${HEXVAULT_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$pg_bin/initdb" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "pg-test-cluster: $pg_bin/initdb is missing; installing postgresql-15 with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi
for tool in initdb pg_ctl createdb; do
    if [ ! -x "$pg_bin/$tool" ]; then
        echo "pg-test-cluster: $pg_bin/$tool not found: install the PostgreSQL 15 server" \
             "(Debian/Ubuntu: apt-get install postgresql-15) or set HEXVAULT_PG_BIN" >&2
        exit 1
    fi
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/hexvault-pg.XXXXXX")
as_server=()
if [ "$(id -u)" -eq 0 ]; then
    user=hexvault-pg
    if ! id -u "$user" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
    fi
    chown "$user" "$dir"
    as_server=(runuser -u "$user" --)
    db_user=$user
else
    db_user=$(id -un)
fi
chmod 0700 "$dir"

cleanup() {
    status=$?
    if [ -f "$dir/data/postmaster.pid" ]; then
        "${as_server[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
if ! "${as_server[@]}" "$pg_bin/initdb" -D "$dir/data" -U "$db_user" --auth=trust \
        -E UTF8 --no-locale >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    echo "pg-test-cluster: initdb failed (log above)" >&2
    exit 1
fi
# Unix socket only; small settings for a test machine. fsync stays on: the durability
# tests and the benchmark measure real commits.
opts="-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=60 -c shared_buffers=32MB"
if ! "${as_server[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "$opts" start >/dev/null; then
    cat "$dir/server.log" >&2 || true
    echo "pg-test-cluster: the PostgreSQL server did not start (log above)" >&2
    exit 1
fi
"${as_server[@]}" "$pg_bin/createdb" -h "$dir" -U "$db_user" hexvault_test
echo "pg-test-cluster: PostgreSQL up in $(( $(date +%s) - started )) s at $dir (socket only)" >&2

cat >"$dir/restart-immediate.sh" <<EOF
#!/bin/sh
set -e
${as_server[*]} "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
${as_server[*]} "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start >/dev/null
EOF
chmod 0755 "$dir/restart-immediate.sh"

export HEXVAULT_TEST_POSTGRES_URL="host=$dir user=$db_user dbname=hexvault_test"
export HEXVAULT_TEST_PG_RESTART="$dir/restart-immediate.sh"
"$@"
