#!/usr/bin/env bash
# The randomized fault soak, as long as you like: seeded runs of concurrent application work at
# every site while the daemon is killed, its connections terminated, sites taken offline or silenced
# (SIGSTOP), rows locked, sales prepared for two-phase commit, a second daemon started and stopped
# and transactions held open; every run must end equal to an oracle computed from the workload
# (Tests/IntegrationTests/SoakTests.swift, which scripts/test.sh runs CI-sized).
#
#   scripts/soak.sh [--runs N] [--sites N] [--seed S] [--ops N] [--routed 0|1] [--quiet]
#
#   --runs N    seeded runs, each on fresh databases (default 20)
#   --sites N   sites per run, 3..10, one throwaway cluster each (default 3)
#   --seed S    first seed (decimal, 0x-hex, or "random"); run i uses S+i (default: the test's)
#   --ops N     application operations per run over all sites (default: the test's, 240)
#   --routed R  1: every run routes pos.shelf by location and retail.loyalty by follow, with a
#               hub; 0: none (default: every other run)
#   --quiet     no line per run, only the summary
#
# A failing run prints its seed, the command that replays it, and the faults and operations
# that touched the rows that differ. OMNISYNC_SCRATCH=DIR builds in DIR (swift --scratch-path).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "soak.sh: $*" >&2; }
usage() {
  sed -n '9,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 64
}

runs=20 sites=3 seed= ops= routed= verbose=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs | --sites | --seed | --ops | --routed)
      [ $# -ge 2 ] || { say "option $1 needs a value"; usage; }
      case "$1" in
        --runs) runs=$2 ;;
        --sites) sites=$2 ;;
        --seed) seed=$2 ;;
        --ops) ops=$2 ;;
        --routed) routed=$2 ;;
      esac
      shift 2
      ;;
    --quiet) verbose=0; shift ;;
    -h | --help) usage ;;
    *) say "unknown argument '$1'"; usage ;;
  esac
done
case "$runs" in '' | *[!0-9]* | 0) say "--runs must be a positive number, not '$runs'"; exit 64 ;; esac
case "$sites" in '' | *[!0-9]*) say "--sites must be a number from 3 to 10, not '$sites'"; exit 64 ;; esac
if [ "$sites" -lt 3 ] || [ "$sites" -gt 10 ]; then say "--sites must be from 3 to 10, not $sites"; exit 64; fi
case "$routed" in '' | 0 | 1) ;; *) say "--routed must be 0 or 1, not '$routed'"; exit 64 ;; esac
if [ -n "$ops" ]; then
  case "$ops" in *[!0-9]* | 0) say "--ops must be a positive number, not '$ops'"; exit 64 ;; esac
fi

# shellcheck source=lib/prerequisites.sh
. scripts/lib/prerequisites.sh
ensure_prerequisites soak.sh

build_args=(-Xswiftc -warnings-as-errors)
if [ -n "${OMNISYNC_SCRATCH:-}" ]; then build_args+=(--scratch-path "$OMNISYNC_SCRATCH"); fi
bin_path=$(swift build --show-bin-path "${build_args[@]}")
export OMNISYNC_BIN="$bin_path/omnisync"
mkdir -p "$bin_path"
log="$(cd "$bin_path/.." && pwd)/omnisync-soak.log"
say "building"
if ! swift build --build-tests "${build_args[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  say "build failed"
  exit 1
fi

cluster_dir=
stop_clusters() {
  if [ -n "$cluster_dir" ]; then
    scripts/pgcluster.sh stop "$cluster_dir" >/dev/null 2>&1 || say "could not stop the clusters in $cluster_dir"
  fi
}
trap stop_clusters EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# One cluster per site, so that taking a site offline takes only that site.
cluster_dir=$(mktemp -d /tmp/omnisync-soak.XXXXXX)
chmod 755 "$cluster_dir"
scripts/pgcluster.sh start "$cluster_dir" "$sites" >/dev/null
# shellcheck source=/dev/null
source "$cluster_dir/env"
unset OMNISYNC_SKIP_DB_TESTS

export OMNISYNC_SOAK_RUNS=$runs OMNISYNC_SOAK_SITES=$sites OMNISYNC_SOAK_VERBOSE=$verbose
if [ -n "$seed" ]; then export OMNISYNC_SEED=$seed; else unset OMNISYNC_SEED; fi
if [ -n "$ops" ]; then export OMNISYNC_SOAK_OPS=$ops; else unset OMNISYNC_SOAK_OPS; fi
if [ -n "$routed" ]; then export OMNISYNC_SOAK_ROUTED=$routed; else unset OMNISYNC_SOAK_ROUTED; fi

# The per-run lines and the summary as they come; everything else to the log. The test bundle
# runs directly: `swift test` holds its output back until the end.
bundle="$bin_path/omnisyncPackageTests.xctest"
test_case=IntegrationTests.SoakTests/testSeededRunsWithFaultsMatchTheOracle
if [ -x "$bundle" ]; then
  run_soak=("$bundle" "$test_case")
else
  run_soak=(swift test --skip-build "${build_args[@]}" --filter "$test_case")
fi
set +e
"${run_soak[@]}" 2>&1 | tee "$log" | grep --line-buffered -E '^soak'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ] || ! grep -q "Executed 1 test, with 0 failures" "$log"; then
  echo
  # The failure report: from the assertion to the end of the test case.
  awk '/: error: /{show=1} /^Test Case .* (passed|failed)/{show=0} show' "$log" | head -n 400
  echo
  echo "=== PostgreSQL server logs"
  scripts/pgcluster.sh logs "$cluster_dir" || true
  say "FAILED; full output: $log"
  exit 1
fi
