#!/usr/bin/env bash
# Measures omnisync against throwaway PostgreSQL clusters with production durability (fsync and
# synchronous_commit on), one cluster per site, and writes the table to docs/BENCHMARKS.md.
#
#   scripts/bench.sh [--only LIST] [--quick] [--runs N] [--output FILE] [--profile] [--sites N]
#                    [--chain-stores LIST] [--chain-clusters N] [--chain-rate N]
#
#   --only LIST    comma-separated scenarios: latency,burst,catchup,trigger,declared,sites,chain
#                  (default: all)
#   --quick        a smoke run: a few seconds per scenario, 1 run unless --runs says otherwise
#   --runs N       runs per scenario (default 3); the table shows median, min and max
#   --output FILE  where the table goes; default docs/BENCHMARKS.md for a full run, otherwise
#                  BENCHMARKS.md in the build directory (a partial run never overwrites the doc)
#   --profile      also record, for the first run of each scenario, perf samples of the whole
#                  machine and pg_stat_statements of every cluster (see the build directory)
#   --sites N      sites in the scale scenario (default 20)
#   --chain-stores LIST  chain sizes, stores besides the hub (default 10,50,100; --quick: 5,10)
#   --chain-clusters N   clusters the chain's databases share: the hub alone in one, the stores
#                  spread over the others (default 4)
#   --chain-rate N store sales per second over the whole chain (default 1000; web sales are a tenth)
#   --daemon-config KEY=VALUE     a [daemon] setting for the run (e.g. batch_size=5000); repeatable
#   --daemon-setting NAME=VALUE   a PostgreSQL setting for the daemon's sessions only (it logs in
#                  as its own role, `omnisync`); repeatable, e.g. random_page_cost=1.1
#
# OMNISYNC_SCRATCH=DIR builds in DIR (swift --scratch-path). OMNISYNC_BENCH_DAEMON_WRAPPER is put
# before the daemon's command line (e.g. "valgrind --tool=callgrind --callgrind-out-file=F").
# Benchmarks are not tests: nothing here is part of scripts/test.sh. Every scenario ends with
# `omnisync verify` exiting 0 and the stock summed at every site equal to what was written; the
# script fails loudly otherwise. Clusters and the daemon are stopped on exit, failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

say() { echo "bench.sh: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

all_scenarios=(latency burst catchup trigger declared sites chain)
only=
quick=0
runs=
output=
profile=0
site_count=20
chain_sizes=
chain_clusters=4
chain_rate=1000
daemon_config=()
daemon_settings=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=${2:?--only needs a list}; shift 2 ;;
    --quick) quick=1; shift ;;
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --output) output=${2:?--output needs a file}; shift 2 ;;
    --profile) profile=1; shift ;;
    --sites) site_count=${2:?--sites needs a number}; shift 2 ;;
    --chain-stores) chain_sizes=${2:?--chain-stores needs a list}; shift 2 ;;
    --chain-clusters) chain_clusters=${2:?--chain-clusters needs a number}; shift 2 ;;
    --chain-rate) chain_rate=${2:?--chain-rate needs a number}; shift 2 ;;
    --daemon-config) daemon_config+=("${2:?--daemon-config needs KEY=VALUE}"); shift 2 ;;
    --daemon-setting) daemon_settings+=("${2:?--daemon-setting needs NAME=VALUE}"); shift 2 ;;
    -h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) say "unknown option $1 (see --help)"; exit 64 ;;
  esac
done
scenarios=("${all_scenarios[@]}")
if [ -n "$only" ]; then
  IFS=, read -r -a scenarios <<<"$only"
  for s in "${scenarios[@]}"; do
    case " ${all_scenarios[*]} " in *" $s "*) ;; *) say "unknown scenario '$s' (${all_scenarios[*]})"; exit 64 ;; esac
  done
fi
case "$site_count" in '' | *[!0-9]*) say "--sites must be a number"; exit 64 ;; esac
[ "$site_count" -ge 3 ] || { say "--sites must be at least 3"; exit 64; }
[ -n "$chain_sizes" ] || chain_sizes=$([ "$quick" = 1 ] && echo 5,10 || echo 10,50,100)
[[ "$chain_sizes" =~ ^[0-9]+(,[0-9]+)*$ ]] || { say "--chain-stores takes numbers separated by commas"; exit 64; }
case "$chain_clusters" in '' | *[!0-9]* | 0 | 1) say "--chain-clusters must be a number of at least 2"; exit 64 ;; esac
case "$chain_rate" in '' | *[!0-9]* | 0) say "--chain-rate must be a positive number"; exit 64 ;; esac
for setting in "${daemon_config[@]}" "${daemon_settings[@]}"; do
  [[ "$setting" =~ ^[a-z_.]+=[^\'[:space:]]+$ ]] || { say "expected NAME=VALUE, not '$setting'"; exit 64; }
done
[ -n "$runs" ] || runs=$([ "$quick" = 1 ] && echo 1 || echo 3)
case "$runs" in '' | *[!0-9]* | 0) say "--runs must be a positive number"; exit 64 ;; esac

# Sizes: the issue's figures, or a few seconds each with --quick.
if [ "$quick" = 1 ]; then
  latency_seconds=3 burst_updates=2000 burst_skus=1000 catchup_updates=20000 catchup_skus=10000
  trigger_seconds=3 idle_seconds=5
else
  latency_seconds=30 burst_updates=20000 burst_skus=10000 catchup_updates=200000 catchup_skus=100000
  trigger_seconds=20 idle_seconds=60
fi
latency_rate=1000
chain_follows=20
trigger_skus=10000
initial=1000000

# --- prerequisites and build -----------------------------------------------------------------------
# shellcheck source=lib/prerequisites.sh
. scripts/lib/prerequisites.sh
ensure_prerequisites bench.sh
pg_bindir=${OMNISYNC_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
pgbench=$pg_bindir/pgbench
[ -x "$pgbench" ] || pgbench=$(command -v pgbench || true)
[ -n "$pgbench" ] || die "pgbench not found (it comes with the postgresql package)"

build_args=(-c release -Xswiftc -warnings-as-errors)
if [ -n "${OMNISYNC_SCRATCH:-}" ]; then build_args+=(--scratch-path "$OMNISYNC_SCRATCH"); fi
say "building release binaries"
swift build "${build_args[@]}" >&2
bin_path=$(swift build --show-bin-path "${build_args[@]}")
omnisync=$bin_path/omnisync
harness=$bin_path/omnisync-bench
build_dir=$(cd "$bin_path/.." && pwd)
if [ -z "$output" ]; then
  if [ "$quick" = 0 ] && [ ${#scenarios[@]} -eq ${#all_scenarios[@]} ] && [ "$runs" -ge 3 ]; then
    output=$repo/docs/BENCHMARKS.md
  else
    output=$build_dir/BENCHMARKS.md
  fi
fi
profile_dir=$build_dir/bench-profile
[ "$profile" = 0 ] || { rm -rf "$profile_dir"; mkdir -p "$profile_dir"; }
if [ "$profile" = 1 ] && ! command -v perf >/dev/null 2>&1; then die "--profile needs perf (Debian: linux-perf)"; fi

# --- work directory, clusters, daemon, cleanup -----------------------------------------------------
work=$(mktemp -d /tmp/omnisync-bench.XXXXXX)
chmod 755 "$work"
results=$work/results.tsv
environment=$work/environment.txt
: >"$results"
cluster_dir=
clusters_running=0
daemon_pid=
perf_pid=
pid_watch=
config=$work/omnisync.conf
daemon_log=$work/daemon.log
: >"$daemon_log"

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$pid_watch" ]; then kill "$pid_watch" 2>/dev/null || true; fi
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; fi
  if [ -n "$daemon_pid" ]; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    if [ -s "$daemon_log" ]; then
      echo "--- last daemon log lines ($daemon_log) ---" >&2
      tail -n 30 "$daemon_log" >&2 || true
    fi
    if [ -n "$cluster_dir" ] && [ -d "$cluster_dir" ]; then scripts/pgcluster.sh logs "$cluster_dir" 2>/dev/null | tail -n 40 >&2 || true; fi
  fi
  if [ -n "$cluster_dir" ]; then scripts/pgcluster.sh stop "$cluster_dir" >/dev/null 2>&1 || say "could not stop the clusters in $cluster_dir"; fi
  if [ "$status" -ne 0 ] && [ -s "$results" ]; then cp "$results" "$build_dir/bench-results.tsv" 2>/dev/null || true; fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts N durable clusters (replacing any running ones) with commit timestamps on: the latency
# figures come from them.
start_clusters() { # N
  local n=$1 i conf
  if [ -n "$cluster_dir" ]; then scripts/pgcluster.sh stop "$cluster_dir" >/dev/null; fi
  cluster_dir=$work/pg$n
  say "starting $n durable PostgreSQL clusters"
  OMNISYNC_PG_DURABLE=1 scripts/pgcluster.sh start "$cluster_dir" "$n" >/dev/null
  for ((i = 0; i < n; i++)); do
    conf=$cluster_dir/$i/postgresql.conf
    {
      echo "track_commit_timestamp = on"
      if [ "$profile" = 1 ]; then
        echo "shared_preload_libraries = 'pg_stat_statements'"
        echo "pg_stat_statements.track = all"
        echo "pg_stat_statements.track_planning = on"
        echo "track_wal_io_timing = on"
      fi
    } >>"$conf"
  done
  for ((i = 0; i < n; i++)); do scripts/pgcluster.sh stop-one "$cluster_dir" "$i" & done
  wait
  for ((i = 0; i < n; i++)); do scripts/pgcluster.sh start-one "$cluster_dir" "$i" & done
  wait
  local setting
  for ((i = 0; i < n; i++)); do
    [ "$(psql "$(admin "$i")" -qAtc 'SHOW track_commit_timestamp')" = on ] || die "cluster $i did not restart with its settings"
    if [ "$profile" = 1 ]; then psql "$(admin "$i")" -qAtc 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null; fi
    # The daemon logs in as its own role, so settings can be tried on its sessions alone.
    psql "$(admin "$i")" -qAt -v ON_ERROR_STOP=1 -c 'CREATE ROLE omnisync LOGIN SUPERUSER' >/dev/null
    for setting in "${daemon_settings[@]}"; do
      psql "$(admin "$i")" -qAt -v ON_ERROR_STOP=1 -c "ALTER ROLE omnisync SET ${setting%%=*} = '${setting#*=}'" >/dev/null
    done
  done
  clusters_running=$n
}

admin() { scripts/pgcluster.sh conninfo "$cluster_dir" "$1"; }
site_conninfo() { admin "$1" | sed 's/dbname=postgres/dbname=bench/'; }

# Site names: web, then store-a, store-b, ... in clusters 0, 1, 2, ...
site_names=()
name_sites() { # N
  local letters=abcdefghijklmnopqrstuvwxyz i
  site_names=(web)
  for ((i = 1; i < $1; i++)); do
    if [ "$i" -le 26 ]; then site_names+=("store-${letters:i-1:1}"); else site_names+=("store-$i"); fi
  done
}
site() { # NAME → NAME=CONNINFO, for the harness
  local i
  for i in "${!site_names[@]}"; do
    if [ "${site_names[$i]}" = "$1" ]; then echo "$1=$(site_conninfo "$i")"; return; fi
  done
  die "no site $1"
}

# Fresh `bench` databases in every cluster, a configuration with the daemon's defaults, migrated.
# With SCHEMA (SQL) and TABLES ([table] sections), the application's tables are created in every
# `bench` database and declared in the configuration before the migrate.
fresh_sites() { # N [SCHEMA TABLES]
  local n=$1 schema=${2:-} tables=${3:-} i setting
  [ "$clusters_running" -eq "$n" ] || start_clusters "$n"
  name_sites "$n"
  for ((i = 0; i < n; i++)); do
    PGOPTIONS='-c client_min_messages=warning' psql "$(admin "$i")" -qAt -v ON_ERROR_STOP=1 -c 'DROP DATABASE IF EXISTS bench WITH (FORCE)' -c 'DROP DATABASE IF EXISTS plain WITH (FORCE)' -c 'CREATE DATABASE bench' >/dev/null &
  done
  wait
  if [ -n "$schema" ]; then
    for ((i = 0; i < n; i++)); do psql "$(site_conninfo "$i")" -qAt -v ON_ERROR_STOP=1 -c "$schema" >/dev/null; done
  fi
  {
    echo "[daemon]"
    echo "log_level = info"
    for setting in "${daemon_config[@]}"; do echo "${setting%%=*} = ${setting#*=}"; done
    for ((i = 0; i < n; i++)); do
      printf '\n[site %s]\nconninfo = %s\n' "${site_names[$i]}" "$(site_conninfo "$i" | sed 's/user=postgres/user=omnisync/')"
    done
    if [ -n "$tables" ]; then printf '\n%s\n' "$tables"; fi
  } >"$config"
  "$omnisync" migrate -c "$config" >/dev/null 2>"$work/migrate.log" || { cat "$work/migrate.log" >&2; die "omnisync migrate failed"; }
  expected_total=0
}

start_daemon() {
  [ -z "$daemon_pid" ] || die "the daemon is already running"
  # shellcheck disable=SC2086 # the wrapper is a command line
  # The environment deploy/omnisync.service gives the daemon.
  MALLOC_ARENA_MAX=2 ${OMNISYNC_BENCH_DAEMON_WRAPPER:-} "$omnisync" run -c "$config" 2>>"$daemon_log" &
  daemon_pid=$!
}

stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  kill -TERM "$daemon_pid"
  local status=0
  wait "$daemon_pid" || status=$?
  daemon_pid=
  [ "$status" -eq 0 ] || die "the daemon exited with status $status on SIGTERM"
}

# --- measuring ------------------------------------------------------------------------------------
ticks=$(getconf CLK_TCK)

# CPU seconds (user + system) of one process.
proc_cpu() { # PID
  awk -v t="$ticks" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / t }' "/proc/$1/stat"
}

# CPU seconds of every PostgreSQL process of the running clusters, including exited backends
# (which the postmaster has reaped into its cutime/cstime).
postgres_cpu() {
  local pids=() i
  for ((i = 0; i < clusters_running; i++)); do pids+=("$(head -n 1 "$cluster_dir/$i/postmaster.pid")"); done
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v t="$ticks" -v roots="${pids[*]}" '
    BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) root[r[i]] = 1 }
    { pid = $1; sub(/^.*\) /, ""); ppid = $2
      if (pid in root) sum += $12 + $13 + $14 + $15
      else if (ppid in root) sum += $12 + $13 }
    END { printf "%.3f\n", sum / t }'
}

# Busy CPU seconds of the whole machine (every core).
machine_cpu() {
  awk -v t="$ticks" '/^cpu / { printf "%.3f\n", ($2 + $3 + $4 + $7 + $8 + $9) / t; exit }' /proc/stat
}

peak_rss_mb() { # PID
  awk '/^VmHWM:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"
}

now_us() { date +%s%6N; }

record() { # SCENARIO RUN METRIC VALUE
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$results"
}

# Records the name=value lines of the harness under SCENARIO RUN, and echoes them to stderr.
record_lines() { # SCENARIO RUN < lines
  local line
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    record "$1" "$2" "${line%%=*}" "${line#*=}"
    echo "    $line" >&2
  done
}

# Microseconds in which some runnable task waited for a CPU (Linux pressure stall information).
cpu_stall_us() {
  if [ -r /proc/pressure/cpu ]; then sed -n 's/^some .*total=\([0-9]*\).*/\1/p' /proc/pressure/cpu; else echo 0; fi
}

# CPU use over a measured window: daemon, PostgreSQL, the whole machine; with CHANGES, per change.
window_begin() {
  w_wall=$(now_us) w_daemon=$(proc_cpu "$daemon_pid") w_pg=$(postgres_cpu) w_machine=$(machine_cpu) w_stall=$(cpu_stall_us)
  profile_begin
}
window_end() { # SCENARIO RUN [HARNESS_CPU [CHANGES]]
  local wall daemon pg machine stall harness=${3:-0} changes=${4:-0} end
  end=$(now_us)
  wall=$(awk -v a="$w_wall" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')
  daemon=$(awk -v a="$w_daemon" -v b="$(proc_cpu "$daemon_pid")" 'BEGIN { printf "%.3f", b - a }')
  pg=$(awk -v a="$w_pg" -v b="$(postgres_cpu)" 'BEGIN { printf "%.3f", b - a }')
  machine=$(awk -v a="$w_machine" -v b="$(machine_cpu)" 'BEGIN { printf "%.3f", b - a }')
  stall=$(awk -v a="$w_stall" -v b="$(cpu_stall_us)" -v w="$w_wall" -v e="$end" 'BEGIN { printf "%.1f", (b - a) * 100 / (e - w) }')
  profile_end "$1" "$2"
  record "$1" "$2" window_seconds "$wall"
  record "$1" "$2" daemon_cpu_s "$daemon"
  record "$1" "$2" postgres_cpu_s "$pg"
  record "$1" "$2" machine_cpu_s "$machine"
  record "$1" "$2" other_cpu_s "$(awk -v m="$machine" -v d="$daemon" -v p="$pg" -v h="$harness" 'BEGIN { printf "%.3f", m - d - p - h }')"
  record "$1" "$2" cpu_stall_pct "$stall"
  if [ "$changes" -gt 0 ]; then
    record "$1" "$2" daemon_cpu_us_per_change "$(awk -v c="$daemon" -v n="$changes" 'BEGIN { printf "%.1f", c * 1e6 / n }')"
    record "$1" "$2" postgres_cpu_us_per_change "$(awk -v c="$pg" -v n="$changes" 'BEGIN { printf "%.1f", c * 1e6 / n }')"
  fi
  say "  window ${wall}s: daemon ${daemon} CPU s, PostgreSQL ${pg} CPU s, machine ${machine} CPU s, CPU stall ${stall} %"
}

# With --profile, the first run of each scenario samples the whole machine (perf, software clock:
# this machine has no hardware counters) and resets pg_stat_statements; profile_end keeps the
# samples of the daemon and of this run's PostgreSQL processes only (the machine may be shared),
# per cluster, and the statements each cluster ran.
profile_begin() {
  profiling=0
  [ "$profile" = 1 ] && [ "$current_run" = 1 ] || return 0
  profiling=1
  local i dir=$profile_dir/$current_scenario
  for ((i = 0; i < clusters_running; i++)); do
    psql "$(admin "$i")" -qAtc 'SELECT pg_stat_statements_reset(); SELECT pg_stat_reset_shared($$wal$$)' >/dev/null
  done
  mkdir -p "$dir"
  : >"$dir/pids"
  # Backends come and go during the window: note every PostgreSQL process of each cluster.
  (
    while :; do
      for ((i = 0; i < clusters_running; i++)); do
        postmaster=$(head -n 1 "$cluster_dir/$i/postmaster.pid")
        echo "$i $postmaster"
        awk -v pm="$postmaster" -v i="$i" '{ pid = $1; sub(/^.*\) /, ""); if ($2 == pm) print i, pid }' /proc/[0-9]*/stat 2>/dev/null
      done >>"$dir/pids"
      sleep 0.2
    done
  ) &
  pid_watch=$!
  perf record -e cpu-clock -F 499 -a -g -o "$dir/perf.data" >/dev/null 2>"$dir/perf-record.log" &
  perf_pid=$!
  sleep 0.2
}
profile_end() { # SCENARIO RUN
  [ "$profiling" = 1 ] || return 0
  local dir=$profile_dir/$1 i pids all
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  perf_pid=
  kill "$pid_watch" 2>/dev/null || true
  wait "$pid_watch" 2>/dev/null || true
  report() { # FILE PIDS ARGS...
    local file=$1 list=$2
    shift 2
    perf report -i "$dir/perf.data" --no-children --pid "$list" --stdio -g none --percent-limit 0.3 "$@" 2>/dev/null |
      grep -v '^$' | grep -v '^# \(To display\|$\)' | head -n 70 >"$file" || true
  }
  all=$(awk '{ print $2 }' "$dir/pids" | sort -un | paste -sd, -)
  report "$dir/by-thread.txt" "$daemon_pid,$all" --sort pid,comm
  report "$dir/by-library.txt" "$daemon_pid,$all" --sort comm,dso
  report "$dir/daemon-symbols.txt" "$daemon_pid" --sort dso,sym
  for ((i = 0; i < clusters_running && i < 3; i++)); do
    pids=$(awk -v i="$i" '$1 == i { print $2 }' "$dir/pids" | sort -un | paste -sd, -)
    report "$dir/postgres-symbols-${site_names[$i]}.txt" "$pids" --sort sym
    psql "$(admin "$i")" -qA -F ' | ' -P footer=off >"$dir/statements-${site_names[$i]}.txt" <<'SQL'
SELECT sum(calls) AS calls, round(sum(total_exec_time)::numeric, 1) AS total_ms,
       round((sum(total_exec_time) / nullif(sum(calls), 0))::numeric, 3) AS mean_ms,
       round((sum(total_plan_time) / nullif(sum(calls), 0))::numeric, 3) AS plan_ms, sum(rows) AS rows,
       toplevel, regexp_replace(left(query, 160), '\s+', ' ', 'g') AS query
FROM pg_stat_statements
WHERE dbid IN (SELECT oid FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1'))
GROUP BY toplevel, query
ORDER BY sum(total_exec_time + total_plan_time) DESC LIMIT 25;
SELECT wal_records, wal_bytes, wal_write, wal_sync, round(wal_sync_time::numeric, 1) AS wal_sync_ms,
       round((wal_sync_time / nullif(wal_sync, 0))::numeric, 3) AS ms_per_sync FROM pg_stat_wal;
SQL
  done
  say "  profile written to $dir"
}

# Waits until `omnisync verify` passes, then checks the stock summed at every site.
verify_and_check() { # SCENARIO RUN
  local deadline=$((SECONDS + 300)) i sum
  until "$omnisync" verify -c "$config" >"$work/verify.out" 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      head -n 20 "$work/verify.out" >&2
      die "$1 run $2: omnisync verify did not pass within 300 s"
    fi
    sleep 0.5
  done
  for i in "${!site_names[@]}"; do
    sum=$(psql "$(site_conninfo "$i")" -qAtc 'SELECT coalesce(sum(on_hand), 0) FROM retail.stock')
    [ "$sum" = "$expected_total" ] || die "$1 run $2: stock summed at ${site_names[$i]} is $sum, expected $expected_total"
  done
  say "  verify passed; stock sums to $expected_total at all ${#site_names[@]} sites"
}

record_memory() { # SCENARIO RUN
  local mb
  mb=$(peak_rss_mb "$daemon_pid")
  record "$1" "$2" daemon_peak_rss_mb "$mb"
  say "  daemon peak RSS ${mb} MB"
}

seed() { # PREFIX ROWS SOURCE TARGETS...
  local prefix=$1 rows=$2 source=$3 target args=()
  shift 3
  for target in "$@"; do args+=(--target "$(site "$target")"); done
  "$harness" seed --source "$(site "$source")" "${args[@]}" --prefix "$prefix" --location "$source" --rows "$rows" \
    --initial "$initial" >/dev/null
  expected_total=$((expected_total + rows * initial))
}

others() { # SITE → the names of every other site
  local name
  for name in "${site_names[@]}"; do [ "$name" = "$1" ] || echo "$name"; done
}

targets_except() { # SOURCE → --target NAME=CONNINFO for every other site
  local name
  for name in "${site_names[@]}"; do
    [ "$name" = "$1" ] || printf '%s\n' --target "$(site "$name")"
  done
}

# --- scenarios ------------------------------------------------------------------------------------
scenario_latency() { # RUN
  local run=$1 rows=$((latency_rate * latency_seconds)) out
  fresh_sites 3
  start_daemon
  seed lat- "$rows" store-a web store-b
  window_begin
  out=$("$harness" steady --source "$(site store-a)" --target "$(site web)" --target "$(site store-b)" \
    --prefix lat- --location store-a --rows "$rows" --initial "$initial" --rate "$latency_rate")
  record_lines latency "$run" <<<"$out"
  window_end latency "$run" "$(sed -n 's/^harness_cpu_s=//p' <<<"$out")" "$rows"
  expected_total=$((expected_total - rows))
  verify_and_check latency "$run"
  record_memory latency "$run"
  stop_daemon
}

scenario_burst() { # RUN
  local run=$1 out
  fresh_sites 3
  start_daemon
  seed burst- "$burst_skus" store-a web store-b
  window_begin
  out=$("$harness" burst --source "$(site store-a)" --target "$(site web)" --target "$(site store-b)" \
    --prefix burst- --location store-a --rows "$burst_skus" --initial "$initial" --updates "$burst_updates" --connections 2)
  record_lines burst "$run" <<<"$out"
  window_end burst "$run" "$(sed -n 's/^harness_cpu_s=//p' <<<"$out")" "$burst_updates"
  expected_total=$((expected_total - burst_updates))
  verify_and_check burst "$run"
  record_memory burst "$run"
  stop_daemon
}

scenario_catchup() { # RUN
  local run=$1 out since
  fresh_sites 3
  start_daemon
  seed catchup- "$catchup_skus" store-a web store-b
  stop_daemon
  out=$("$harness" backlog --source "$(site store-a)" --prefix catchup- --location store-a --rows "$catchup_skus" \
    --initial "$initial" --updates "$catchup_updates" --per-transaction 100 --connections 2)
  record_lines catchup "$run" <<<"$out"
  expected_total=$((expected_total - catchup_updates))
  since=$(now_us)
  start_daemon
  window_begin
  out=$("$harness" await --target "$(site web)" --target "$(site store-b)" --prefix catchup- --location store-a \
    --rows "$catchup_skus" --initial "$initial" --updates "$catchup_updates" --since "$since")
  record_lines catchup "$run" <<<"$out"
  window_end catchup "$run" 0 "$catchup_updates"
  verify_and_check catchup "$run"
  record_memory catchup "$run"
  stop_daemon
}

# pgbench, 2 clients for $trigger_seconds, running SCRIPT at CONNINFO; fails on any failed
# transaction. Beside TPS, the PostgreSQL CPU time per transaction (every cluster), which other
# load on the machine disturbs less than TPS.
pgbench_run() { # SCRIPT CONNINFO → "TPS PROCESSED POSTGRES_CPU_US_PER_TRANSACTION"
  local log=$work/pgbench.log before after tps count
  before=$(postgres_cpu)
  "$pgbench" -n -c 2 -j 2 -T "$trigger_seconds" -f "$1" "$2" >"$log" 2>&1 || { cat "$log" >&2; die "pgbench failed"; }
  after=$(postgres_cpu)
  grep -q 'number of failed transactions: 0' "$log" || { cat "$log" >&2; die "pgbench reported failed transactions"; }
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log")
  count=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
  [ -n "$tps" ] && [ -n "$count" ] && [ "$count" -gt 0 ] || { cat "$log" >&2; die "no TPS in pgbench's output"; }
  echo "$tps $count $(awk -v a="$before" -v b="$after" -v n="$count" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')"
}

# The capture's cost to the point of sale, recorded under SCENARIO: SCRIPT run by pgbench at
# CAPTURED (store-a's `bench` database, migrated by omnisync, daemon stopped) and at PLAIN (the
# same tables in the same cluster, no capture), alternating which goes first, `runs` times; then
# once more at CAPTURED with the daemon syncing the writes to both peers (the store's real
# situation). Sets `captured` to the number of transactions committed at CAPTURED.
compare_capture() { # SCENARIO SCRIPT PLAIN_CONNINFO CAPTURED_CONNINFO
  local scenario=$1 script=$2 plain_conninfo=$3 captured_conninfo=$4 run order out processed
  local plain plain_cpu with with_cpu synced synced_cpu
  captured=0
  for ((run = 1; run <= runs; run++)); do
    current_run=$run
    say "$scenario run $run/$runs"
    for order in $([ $((run % 2)) = 1 ] && echo "plain with" || echo "with plain"); do
      if [ "$order" = plain ]; then
        out=$(pgbench_run "$script" "$plain_conninfo")
        read -r plain _ plain_cpu <<<"$out"
      else
        out=$(pgbench_run "$script" "$captured_conninfo")
        read -r with processed with_cpu <<<"$out"
        captured=$((captured + processed))
      fi
    done
    record "$scenario" "$run" tps_without_triggers "$plain"
    record "$scenario" "$run" tps_with_triggers "$with"
    record "$scenario" "$run" tps_loss_pct "$(awk -v p="$plain" -v w="$with" 'BEGIN { printf "%.1f", (1 - w / p) * 100 }')"
    record "$scenario" "$run" postgres_cpu_us_per_tx_without_triggers "$plain_cpu"
    record "$scenario" "$run" postgres_cpu_us_per_tx_with_triggers "$with_cpu"
    record "$scenario" "$run" postgres_cpu_per_tx_increase_pct "$(awk -v p="$plain_cpu" -v w="$with_cpu" 'BEGIN { printf "%.1f", (w / p - 1) * 100 }')"
    say "  without capture $plain TPS ($plain_cpu CPU µs/tx), with capture $with TPS ($with_cpu CPU µs/tx)"
  done
  current_run=1
  start_daemon
  window_begin
  out=$(pgbench_run "$script" "$captured_conninfo")
  read -r synced processed synced_cpu <<<"$out"
  window_end "$scenario" 1 0 "$processed"
  captured=$((captured + processed))
  record "$scenario" 1 tps_with_triggers_daemon_running "$synced"
  say "  with capture and the daemon syncing: $synced TPS ($synced_cpu CPU µs/tx, every cluster)"
}

# The point-of-sale write on the built-in tables: decrement one random SKU of retail.stock.
scenario_trigger() {
  local plain_conninfo script=$work/decrement.sql
  fresh_sites 3
  psql "$(admin 1)" -qAt -v ON_ERROR_STOP=1 -c 'CREATE DATABASE plain' >/dev/null
  plain_conninfo=$(admin 1 | sed 's/dbname=postgres/dbname=plain/')
  psql "$plain_conninfo" -qAt -v ON_ERROR_STOP=1 -f schema/0002_retail_tables.sql >/dev/null
  psql "$plain_conninfo" -qAt -v ON_ERROR_STOP=1 -c "INSERT INTO retail.stock SELECT 'tc-' || lpad(g::text, 7, '0'), 'store-a', $initial, 0 FROM generate_series(0, $((trigger_skus - 1))) AS g" >/dev/null
  start_daemon
  seed tc- "$trigger_skus" store-a web store-b
  stop_daemon
  cat >"$script" <<EOF
\\set n random(0, $((trigger_skus - 1)))
UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'tc-' || lpad(:n::text, 7, '0') AND location = 'store-a';
EOF
  compare_capture trigger "$script" "$plain_conninfo" "$(site_conninfo 1)"
  expected_total=$((expected_total - captured))
  verify_and_check trigger all
  record_memory trigger 1
  stop_daemon
}

# The same on a table the application declares ([table pos.item]: three counter and three lww
# columns), captured by the trigger `omnisync migrate` generates for it. A sale takes one from
# on_hand, adds one to sold and relabels the row: two counters and one lww column per transaction.
declared_schema="CREATE SCHEMA pos;
CREATE TABLE pos.item (sku text NOT NULL, store text NOT NULL, on_hand bigint NOT NULL DEFAULT 0,
  reserved bigint NOT NULL DEFAULT 0, sold bigint NOT NULL DEFAULT 0, price text, label text, supplier text,
  PRIMARY KEY (sku, store));"
declared_tables="[table pos.item]
column.on_hand = counter
column.reserved = counter
column.sold = counter"
declared_seed="INSERT INTO pos.item (sku, store, on_hand, price, label, supplier)
  SELECT 'dc-' || lpad(g::text, 7, '0'), 'store-a', $initial, '4.99', 'shelf ' || (g % 100), 'supplier ' || (g % 7)
  FROM generate_series(0, $((trigger_skus - 1))) AS g"
scenario_declared() {
  local plain_conninfo script=$work/sale.sql deadline i count sums
  fresh_sites 3 "$declared_schema" "$declared_tables"
  psql "$(admin 1)" -qAt -v ON_ERROR_STOP=1 -c 'CREATE DATABASE plain' >/dev/null
  plain_conninfo=$(admin 1 | sed 's/dbname=postgres/dbname=plain/')
  psql "$plain_conninfo" -qAt -v ON_ERROR_STOP=1 -c "$declared_schema" -c "$declared_seed" >/dev/null
  # Seeded at store-a through its capture, as the trigger scenario seeds retail.stock.
  start_daemon
  psql "$(site_conninfo 1)" -qAt -v ON_ERROR_STOP=1 -c "$declared_seed" >/dev/null
  deadline=$((SECONDS + 300))
  for i in 0 2; do
    until count=$(psql "$(site_conninfo "$i")" -qAtc "SELECT count(*) FROM pos.item WHERE store = 'store-a'") &&
      [ "$count" = "$trigger_skus" ]; do
      [ "$SECONDS" -lt "$deadline" ] || die "declared: ${site_names[$i]} has $count of the $trigger_skus seeded pos.item rows after 300 s"
      sleep 0.2
    done
  done
  stop_daemon
  cat >"$script" <<EOF
\\set n random(0, $((trigger_skus - 1)))
\\set tag random(1, 1000000000)
UPDATE pos.item SET on_hand = on_hand - 1, sold = sold + 1, label = 'sold at till ' || :client_id || ', #' || :tag WHERE sku = 'dc-' || lpad(:n::text, 7, '0') AND store = 'store-a';
EOF
  compare_capture declared "$script" "$plain_conninfo" "$(site_conninfo 1)"
  verify_and_check declared all
  for i in "${!site_names[@]}"; do
    sums=$(psql "$(site_conninfo "$i")" -qAtc 'SELECT sum(on_hand) || $$ $$ || sum(sold) FROM pos.item')
    [ "$sums" = "$((trigger_skus * initial - captured)) $captured" ] ||
      die "declared: pos.item at ${site_names[$i]} sums to on_hand, sold = $sums, expected $((trigger_skus * initial - captured)) $captured"
  done
  say "  pos.item: on_hand and sold sum to $((trigger_skus * initial - captured)) and $captured at all ${#site_names[@]} sites"
  record_memory declared 1
  stop_daemon
}

scenario_sites() { # RUN
  local run=$1 rows=$((latency_rate * latency_seconds)) out before after targets=()
  fresh_sites "$site_count"
  start_daemon
  seed sites- "$rows" store-a $(others store-a)
  # Let start-up work (bootstrapping every link) finish before measuring idleness.
  sleep 5
  before=$(proc_cpu "$daemon_pid")
  sleep "$idle_seconds"
  after=$(proc_cpu "$daemon_pid")
  record sites "$run" idle_cpu_s "$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.3f", b - a }')"
  record sites "$run" idle_cpu_s_per_min "$(awk -v a="$before" -v b="$after" -v s="$idle_seconds" 'BEGIN { printf "%.3f", (b - a) * 60 / s }')"
  say "  idle ${idle_seconds}s: $(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.3f", b - a }') CPU s"
  mapfile -t targets < <(targets_except store-a)
  window_begin
  out=$("$harness" steady --source "$(site store-a)" "${targets[@]}" --primary web,store-b \
    --prefix sites- --location store-a --rows "$rows" --initial "$initial" --rate "$latency_rate")
  record_lines sites "$run" <<<"$out"
  window_end sites "$run" "$(sed -n 's/^harness_cpu_s=//p' <<<"$out")" "$rows"
  expected_total=$((expected_total - rows))
  verify_and_check sites "$run"
  record_memory sites "$run"
  stop_daemon
}

# A routed chain (CONTRACT §8): the web is the hub, alone in cluster 0; the stores' databases are
# spread over the other clusters. Stock is routed by location (each store's own), customers and
# their points by follow. Nothing is written that goes everywhere, so a store receives only what
# is routed to it.
chain_names=()
chain_conn=()
chain_database() { # CLUSTER DATABASE → conninfo
  admin "$1" | sed "s/dbname=postgres/dbname=$2/"
}
fresh_chain() { # STORES
  local stores=$1 i c db setting
  [ "$clusters_running" -eq "$chain_clusters" ] || start_clusters "$chain_clusters"
  chain_names=(web)
  chain_conn=("$(chain_database 0 chain_web)")
  local clusters=(0)
  for ((i = 1; i <= stores; i++)); do
    c=$((1 + (i - 1) % (chain_clusters - 1)))
    chain_names+=("$(printf 'store-%03d' "$i")")
    chain_conn+=("$(chain_database "$c" "$(printf 'store_%03d' "$i")")")
    clusters+=("$c")
  done
  site_names=("${chain_names[@]}")
  say "creating the chain's $((stores + 1)) databases"
  for ((c = 0; c < chain_clusters; c++)); do
    (
      for db in $(psql "$(admin "$c")" -qAtc "SELECT datname FROM pg_database WHERE datname LIKE 'chain\_%' OR datname LIKE 'store\_%' OR datname IN ('bench', 'plain')"); do
        PGOPTIONS='-c client_min_messages=warning' psql "$(admin "$c")" -qAt -v ON_ERROR_STOP=1 -c "DROP DATABASE \"$db\" WITH (FORCE)" >/dev/null
      done
      for i in "${!chain_conn[@]}"; do
        [ "${clusters[$i]}" = "$c" ] || continue
        psql "$(admin "$c")" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$(sed 's/.*dbname=//' <<<"${chain_conn[$i]}")\"" >/dev/null
      done
    ) &
  done
  wait
  {
    echo "[daemon]"
    echo "log_level = info"
    for setting in "${daemon_config[@]}"; do echo "${setting%%=*} = ${setting#*=}"; done
    printf '\n[site web]\nconninfo = %s\nhub = yes\n' "$(sed 's/user=postgres/user=omnisync/' <<<"${chain_conn[0]}")"
    for ((i = 1; i <= stores; i++)); do
      printf '\n[site %s]\nconninfo = %s\n' "${chain_names[$i]}" "$(sed 's/user=postgres/user=omnisync/' <<<"${chain_conn[$i]}")"
    done
    printf '\n[table retail.stock]\nroute = location location\n'
    printf '\n[table retail.customers]\nroute = follow customer customer_id\n'
    printf '\n[table retail.loyalty]\nroute = follow customer customer_id\n'
    printf '\n[table retail.cart_items]\nroute = follow cart cart_id\n'
  } >"$config"
  "$omnisync" migrate -c "$config" >/dev/null 2>"$work/migrate.log" || { cat "$work/migrate.log" >&2; die "omnisync migrate failed"; }
}

scenario_chain() { # RUN
  local sizes stores
  IFS=, read -r -a sizes <<<"$chain_sizes"
  for stores in "${sizes[@]}"; do chain_run "$stores" "$1"; done
}

chain_run() { # STORES RUN
  local stores=$1 run=$2 name=chain$1 i out before after sum expected deadline
  # Another rate is another scenario (the table's figures are at 1,000 sales/s).
  [ "$chain_rate" = 1000 ] || name=chain${stores}_at_${chain_rate}
  local chain_web_rate=$(((chain_rate + 9) / 10))
  local sales=$((chain_rate * latency_seconds)) web_sales=$((chain_web_rate * latency_seconds)) args=()
  say "chain of $stores stores, run $run"
  current_scenario=$name
  fresh_chain "$stores"
  args=(--hub "web=${chain_conn[0]}" --sales "$sales" --web-sales "$web_sales" --follows "$chain_follows" --initial "$initial")
  for ((i = 1; i <= stores; i++)); do args+=(--store "${chain_names[$i]}=${chain_conn[$i]}"); done
  local started=$SECONDS
  start_daemon
  out=$("$harness" chain-seed "${args[@]}")
  record_lines "$name" "$run" <<<"$out"
  record "$name" "$run" start_and_seed_seconds "$((SECONDS - started))"
  # Let start-up work (first copies on every link) finish before measuring idleness.
  sleep 5
  before=$(proc_cpu "$daemon_pid")
  sleep "$idle_seconds"
  after=$(proc_cpu "$daemon_pid")
  record "$name" "$run" idle_cpu_s_per_min "$(awk -v a="$before" -v b="$after" -v s="$idle_seconds" 'BEGIN { printf "%.3f", (b - a) * 60 / s }')"
  say "  idle ${idle_seconds}s with $((stores + 1)) sites: $(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.3f", b - a }') CPU s"
  window_begin
  out=$("$harness" chain "${args[@]}" --rate "$chain_rate" --web-rate "$chain_web_rate")
  record_lines "$name" "$run" <<<"$out"
  window_end "$name" "$run" "$(sed -n 's/^harness_cpu_s=//p' <<<"$out")" "$((sales + web_sales))"
  deadline=$((SECONDS + 300))
  until "$omnisync" verify -c "$config" >"$work/verify.out" 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { head -n 20 "$work/verify.out" >&2; die "$name run $run: omnisync verify did not pass within 300 s"; }
    sleep 0.5
  done
  # The hub holds every store's stock, less every sale.
  expected=$(( ( (sales + stores - 1) / stores + (web_sales + stores - 1) / stores ) * stores * initial - sales - web_sales ))
  sum=$(psql "${chain_conn[0]}" -qAtc 'SELECT coalesce(sum(on_hand), 0) FROM retail.stock')
  [ "$sum" = "$expected" ] || die "$name run $run: stock summed at the web is $sum, expected $expected"
  say "  verify passed; the web's stock sums to $expected"
  record_memory "$name" "$run"
  stop_daemon
}

# --- environment ----------------------------------------------------------------------------------
pg_version=$("$pg_bindir/postgres" --version | sed 's/^postgres (PostgreSQL) //')
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores, $(awk '/^MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
  echo "postgresql=$pg_version"
  echo "swift=$(swift --version 2>&1 | head -n 1)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
  echo "runs=$runs"
  echo "quick=$quick"
  echo "daemon_config=${daemon_config[*]:-defaults (batch_size = 1000, poll_interval_ms = 5000, log_level = info)}"
  echo "daemon_settings=${daemon_settings[*]:-none}"
  echo "profile=$profile"
  echo "load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)"
} >"$environment"

current_scenario=
current_run=1
for scenario in "${scenarios[@]}"; do
  current_scenario=$scenario
  if [ "$scenario" = trigger ] || [ "$scenario" = declared ]; then
    "scenario_$scenario"
    continue
  fi
  for ((run = 1; run <= runs; run++)); do
    current_run=$run
    say "$scenario run $run/$runs"
    "scenario_$scenario" "$run"
  done
done
if [ "$clusters_running" -gt 0 ]; then
  echo "settings=$(psql "$(admin 0)" -qAt -c "SELECT name || ' = ' || current_setting(name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'wal_sync_method', 'shared_buffers', 'track_commit_timestamp', 'max_wal_size', 'checkpoint_timeout', 'max_connections') ORDER BY name" | paste -sd ',' | sed 's/,/, /g')" >>"$environment"
fi
echo "load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)" >>"$environment"
cp "$results" "$build_dir/bench-results.tsv"
"$harness" report --results "$results" --environment "$environment" --output "$output"
say "results: $output (raw: $build_dir/bench-results.tsv)"
[ "$profile" = 0 ] || say "profiles: $profile_dir"
