#!/usr/bin/env bash
# Builds omnisync warning-free and runs every test against three throwaway PostgreSQL clusters.
# Fails if any test fails, or if the database test suites did not run (or were skipped). As root
# it then runs scripts/systemd-test.sh (the unit under a real systemd), whose failure fails it too;
# that test is skipped, with the reason, only where the machine cannot run it (see its header).
#
# On a fresh Debian machine, run as root once to install postgresql, libpq-dev and pkg-config.
# OMNISYNC_SCRATCH=DIR builds in DIR instead of .build (swift --scratch-path).
set -euo pipefail
cd "$(dirname "$0")/.."

# Test targets whose tests need the clusters: each must execute tests, none may be skipped.
database_suites=(PostgresTests IntegrationTests)

say() { echo "test.sh: $*" >&2; }

# --- prerequisites -------------------------------------------------------------------------------
# shellcheck source=lib/prerequisites.sh
. scripts/lib/prerequisites.sh
ensure_prerequisites test.sh
ensure_systemd_analyze test.sh
ensure_promtool test.sh
ensure_sysctl test.sh

# --- build -----------------------------------------------------------------------------------------
build_args=(-Xswiftc -warnings-as-errors)
if [ -n "${OMNISYNC_SCRATCH:-}" ]; then build_args+=(--scratch-path "$OMNISYNC_SCRATCH"); fi
swift build "${build_args[@]}"
swift build --build-tests "${build_args[@]}"
bin_path=$(swift build --show-bin-path "${build_args[@]}")
export OMNISYNC_BIN="$bin_path/omnisync"
build_dir=$(cd "$bin_path/.." && pwd)
log="$build_dir/omnisync-test.log"
tests_list="$build_dir/omnisync-test-list.txt"
swift test list --skip-build "${build_args[@]}" >"$tests_list"

# --- clusters --------------------------------------------------------------------------------------
cluster_dir=
stop_clusters() {
  if [ -n "$cluster_dir" ]; then
    scripts/pgcluster.sh stop "$cluster_dir" >/dev/null 2>&1 || say "could not stop the clusters in $cluster_dir"
  fi
}
trap stop_clusters EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cluster_dir=$(mktemp -d /tmp/omnisync-test.XXXXXX)
chmod 755 "$cluster_dir"
scripts/pgcluster.sh start "$cluster_dir" 3 >/dev/null
# shellcheck source=/dev/null
source "$cluster_dir/env"
unset OMNISYNC_SKIP_DB_TESTS

# --- tests -----------------------------------------------------------------------------------------
status=0
swift test --skip-build "${build_args[@]}" 2>&1 | tee "$log" || status=$?

# Per test target: passed, failed, skipped. XCTest on Linux names cases "Class.method", so the target
# comes from `swift test list` ("Target.Class/method"). A case that started but never finished
# (a crash) counts as failed.
counts=$(awk -v list="$tests_list" '
  BEGIN {
    while ((getline line < list) > 0) {
      split(line, parts, "/"); dot = index(parts[1], ".")
      if (dot > 0) target[substr(parts[1], dot + 1)] = substr(parts[1], 1, dot - 1)
    }
  }
  /^Test Case \047[^\047]*\047 / {
    name = $0; sub(/^Test Case \047/, "", name); result = name
    sub(/\047.*/, "", name); sub(/^[^\047]*\047 /, "", result); sub(/ .*/, "", result)
    class = name; sub(/\..*/, "", class)
    t = (class in target) ? target[class] : "unknown"
    if (result == "started") { open[name] = t; next }
    delete open[name]
    if (result == "passed" || result == "failed" || result == "skipped") n[t, result]++
    targets[t] = 1
  }
  END {
    for (name in open) { n[open[name], "failed"]++; targets[open[name]] = 1 }
    for (t in targets) print t, n[t, "passed"] + 0, n[t, "failed"] + 0, n[t, "skipped"] + 0
  }' "$log" | sort)

passed=0 failed=0 skipped=0
while read -r target p f s; do
  [ -n "$target" ] || continue
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done <<<"$counts"

problems=()
[ "$status" -eq 0 ] || problems+=("swift test exited with status $status")
[ "$failed" -eq 0 ] || problems+=("$failed test(s) failed")
database_line=()
for suite in "${database_suites[@]}"; do
  read -r _ p f s <<<"$(grep "^$suite " <<<"$counts" || echo "$suite 0 0 0")"
  database_line+=("$suite $((p + f)) executed, $s skipped")
  [ $((p + f)) -gt 0 ] || problems+=("$suite executed no tests")
  [ "$s" -eq 0 ] || problems+=("$suite skipped $s test(s)")
done

# --- the unit under a real systemd ----------------------------------------------------------------
# scripts/systemd-test.sh boots systemd as PID 1 of new namespaces and checks the installed unit
# (about a minute). Exit 77: this machine cannot (not root, no namespaces, no cgroup2); it says why.
if [ "$(id -u)" -eq 0 ]; then
  systemd_status=0
  scripts/systemd-test.sh --binary "$OMNISYNC_BIN" || systemd_status=$?
  case $systemd_status in
    0) systemd_line="systemd test: passed" ;;
    77) systemd_line="systemd test: skipped, this machine cannot run it (the reason is above)" ;;
    *)
      systemd_line="systemd test: FAILED"
      problems+=("scripts/systemd-test.sh failed (status $systemd_status)")
      ;;
  esac
else
  systemd_line="systemd test: not run (scripts/systemd-test.sh needs root)"
fi

if [ ${#problems[@]} -gt 0 ]; then
  echo
  echo "=== PostgreSQL server logs"
  scripts/pgcluster.sh logs "$cluster_dir" || true
  echo
  for problem in "${problems[@]}"; do say "FAILED: $problem"; done
  say "full output: $log"
fi
echo
echo "database tests: $(IFS=';'; echo "${database_line[*]}" | sed 's/;/; /g')"
echo "$systemd_line"
[ "$skipped" -eq 0 ] || echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ ${#problems[@]} -eq 0 ]
