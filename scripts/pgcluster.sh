#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for tests and demos.
#
#   pgcluster.sh start DIR N       initdb + start N clusters in DIR/0..N-1, write DIR/env, print conninfos
#   pgcluster.sh stop DIR          stop every cluster and remove DIR (fine if already gone)
#   pgcluster.sh stop-one DIR I    fast stop of cluster I, keeping its data
#   pgcluster.sh start-one DIR I   start cluster I again, on the same port
#   pgcluster.sh logs DIR          the tail of every server log
#   pgcluster.sh conninfo DIR I    the superuser conninfo of cluster I
#
# Servers listen on unix sockets only (DIR/sI), so ports never collide with anything on the machine.
# They run without fsync unless OMNISYNC_PG_DURABLE=1. Run as root, the servers run as `postgres`.
# OMNISYNC_PG_BINDIR overrides the server binaries (default: the newest /usr/lib/postgresql/*/bin).
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
marker=.omnisync-pgcluster

die() { echo "pgcluster: $*" >&2; exit 1; }

usage() {
  sed -n '2,9p' "$self" | sed 's/^# \{0,1\}//' >&2
  exit 64
}

bindir() {
  if [ -n "${OMNISYNC_PG_BINDIR:-}" ]; then
    echo "$OMNISYNC_PG_BINDIR"
    return
  fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || dir=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
  [ -x "$dir/pg_ctl" ] || die "no PostgreSQL server binaries found (install the postgresql package)"
  echo "$dir"
}

# PostgreSQL refuses to run as root: run its tools as postgres then.
as_server() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

owned_dir() { # mkdir a directory the server user owns
  mkdir -p "$1"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$1"; fi
}

conninfo() { # DIR I
  local port
  port=$(sed -n "s/^port = \([0-9]*\).*/\1/p" "$1/$2/postgresql.conf" | tail -n 1)
  echo "host=$1/s$2 port=$port user=postgres dbname=postgres"
}

clusters() { # the cluster numbers in DIR, ascending
  local d
  for d in "$1"/*/; do
    d=${d%/}
    d=${d##*/}
    case "$d" in '' | *[!0-9]*) ;; *) echo "$d" ;; esac
  done | sort -n
}

pg_ctl_do() { # DIR I ARGS...
  local dir=$1 i=$2
  shift 2
  as_server "$(bindir)/pg_ctl" -D "$dir/$i" -l "$dir/$i/server.log" "$@"
}

init_one() { # DIR I PORT
  local dir=$1 i=$2 port=$3 durable=${OMNISYNC_PG_DURABLE:-0}
  owned_dir "$dir/$i"
  owned_dir "$dir/s$i"
  local sock="$dir/s$i/.s.PGSQL.$port"
  [ "${#sock}" -lt 108 ] || die "socket path too long (${#sock} bytes): $sock; use a shorter DIR"
  as_server "$(bindir)/initdb" -D "$dir/$i" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$dir/initdb.$i.log" 2>&1 || { cat "$dir/initdb.$i.log" >&2; die "initdb of cluster $i failed"; }
  {
    echo "# omnisync throwaway cluster"
    echo "port = $port"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir/s$i'"
    echo "max_connections = 200"
    echo "shared_buffers = 32MB"
    echo "max_prepared_transactions = 10"  # two-phase commit by applications (tests)
    if [ "$durable" = 1 ]; then
      echo "fsync = on"
      echo "synchronous_commit = on"
    else
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } >>"$dir/$i/postgresql.conf"
  pg_ctl_do "$dir" "$i" -w -t 60 start >/dev/null || { tail -n 30 "$dir/$i/server.log" >&2; die "cluster $i did not start"; }
}

cmd_start() {
  [ $# -eq 2 ] || usage
  local n=$2 dir i
  case "$n" in '' | *[!0-9]*) die "N must be a number, not '$n'" ;; esac
  mkdir -p "$1"
  dir=$(cd "$1" && pwd)
  [ -z "$(clusters "$dir")" ] || die "$dir already holds clusters; stop them first"
  chmod 755 "$dir"
  touch "$dir/$marker"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "user postgres does not exist (install the postgresql package)"
    runuser -u postgres -- test -x "$dir" || die "$dir is not traversable by user postgres; put it under /tmp"
  fi
  # Any ports will do: the sockets live in separate directories. Spread them to keep `ps` readable.
  local base=$((20000 + RANDOM % 20000))
  local pids=()
  for ((i = 0; i < n; i++)); do
    init_one "$dir" "$i" $((base + i)) &
    pids+=($!)
  done
  local failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  if [ "$failed" -ne 0 ]; then
    cmd_stop "$dir" >/dev/null 2>&1 || true
    die "could not start the clusters"
  fi
  local all=() line
  for ((i = 0; i < n; i++)); do
    line=$(conninfo "$dir" "$i")
    all+=("$line")
    echo "$line"
  done
  local joined
  joined=$(IFS=';'; echo "${all[*]}")
  {
    printf 'export OMNISYNC_TEST_CLUSTERS=%q\n' "$joined"
    printf 'export OMNISYNC_TEST_CLUSTER_DIR=%q\n' "$dir"
    printf 'export OMNISYNC_PGCLUSTER=%q\n' "$self"
  } >"$dir/env"
}

cmd_stop() {
  [ $# -eq 1 ] || usage
  local dir=$1 i
  [ -d "$dir" ] || return 0
  [ -e "$dir/$marker" ] || die "$dir was not made by pgcluster.sh; not removing it"
  for i in $(clusters "$dir"); do
    if [ -f "$dir/$i/postmaster.pid" ]; then
      # Immediate: the data is about to be deleted, a shutdown checkpoint would be wasted time.
      pg_ctl_do "$dir" "$i" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$dir"
}

check_one() { # DIR I
  [ -e "$1/$marker" ] || die "$1 was not made by pgcluster.sh"
  case "$2" in '' | *[!0-9]*) die "I must be a number, not '$2'" ;; esac
  [ -f "$1/$2/PG_VERSION" ] || die "no cluster $2 in $1"
}

cmd_stop_one() {
  [ $# -eq 2 ] || usage
  check_one "$@"
  pg_ctl_do "$1" "$2" -m fast -w -t 60 stop >/dev/null
}

cmd_start_one() {
  [ $# -eq 2 ] || usage
  check_one "$@"
  pg_ctl_do "$1" "$2" -w -t 60 start >/dev/null || { tail -n 30 "$1/$2/server.log" >&2; die "cluster $2 did not start"; }
}

cmd_logs() {
  [ $# -eq 1 ] || usage
  local i
  [ -d "$1" ] || return 0
  for i in $(clusters "$1"); do
    echo "=== cluster $i: $1/$i/server.log (last 60 lines)"
    tail -n 60 "$1/$i/server.log" 2>/dev/null || echo "(no log)"
  done
}

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  stop-one) cmd_stop_one "$@" ;;
  start-one) cmd_start_one "$@" ;;
  logs) cmd_logs "$@" ;;
  conninfo) [ $# -eq 2 ] || usage; [ -f "$1/$2/postgresql.conf" ] || die "no cluster $2 in $1"; conninfo "$1" "$2" ;;
  *) usage ;;
esac
