# Sourced by scripts/test.sh, demo.sh and bench.sh: makes sure what omnisync needs to build and to
# run throwaway PostgreSQL clusters is installed. As root on Debian it installs what is missing;
# otherwise it says exactly what to install and exits 1.

ensure_prerequisites() { # NAME (the calling script, for messages)
  local name=$1 missing=()
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  [ -f /usr/include/postgresql/libpq-fe.h ] || [ -f /usr/include/libpq-fe.h ] || missing+=(libpq-dev)
  if [ -z "${OMNISYNC_PG_BINDIR:-}" ] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    missing+=(postgresql)
  fi
  command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "$name: installing ${missing[*]}" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q
      apt-get install -y -q "${missing[@]}"
    else
      echo "$name: missing packages: ${missing[*]}" >&2
      echo "$name: install them with: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
      export PATH="/opt/swift/usr/bin:$PATH"
    else
      echo "$name: no Swift 6 toolchain on PATH (see https://www.swift.org/install/linux/)" >&2
      exit 1
    fi
  fi
}

# systemd-analyze checks deploy/omnisync.service in the tests (PID 1 need not be systemd). Without
# it those tests are skipped, with the reason; as root on Debian it is installed when available.
ensure_systemd_analyze() { # NAME
  local name=$1
  command -v systemd-analyze >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    if ! has_install_candidate systemd; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q >&2 || true
    fi
    if has_install_candidate systemd; then
      echo "$name: installing systemd (for systemd-analyze)" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd >&2 && return 0
    fi
  fi
  echo "$name: systemd-analyze is missing (apt-get install systemd); the unit file tests will be skipped" >&2
}

# scripts/systemd-test.sh compares the kernel's settings (sysctl -a) before and after it boots
# systemd in new namespaces; sysctl comes with procps, which a minimal Debian lacks. As root on
# Debian it is installed when missing; without it that test is skipped, with the reason.
ensure_sysctl() { # NAME
  local name=$1
  command -v sysctl >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    if ! has_install_candidate procps; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q >&2 || true
    fi
    if has_install_candidate procps; then
      echo "$name: installing procps (for sysctl)" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends procps >&2 && return 0
    fi
  fi
  echo "$name: sysctl is missing (apt-get install procps); scripts/systemd-test.sh will be skipped" >&2
}

# Whether apt can install PACKAGE. apt-cache's output is read whole before it is searched: with
# `apt-cache … | grep -q` under `set -o pipefail`, grep stops at the first match, apt-cache dies
# of SIGPIPE writing the rest, and the pipeline fails although the candidate was found.
has_install_candidate() { # PACKAGE
  local policy
  policy=$(apt-cache policy "$1" 2>/dev/null) || return 1
  [[ $policy =~ Candidate:\ [0-9] ]]
}

# promtool checks and unit-tests deploy/prometheus/omnisync-rules.yml in the tests (AlertRulesTests,
# which fail without it). Debian ships it in the `prometheus` package, whose maintainer scripts
# would start and enable a Prometheus server: during the install a policy-rc.d that refuses every
# start stands in for the machine's own (restored afterwards, also on failure), and the service is
# then disabled at boot. Recommends (prometheus-node-exporter, another server) are not installed.
# OMNISYNC_POLICY_RC_D names the policy file, for the tests of this function only.
ensure_promtool() { # NAME
  local name=$1
  command -v promtool >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$name: installing prometheus (for promtool), without starting its server" >&2
    if (install_without_starting_services "${OMNISYNC_POLICY_RC_D:-/usr/sbin/policy-rc.d}" prometheus); then
      if command -v deb-systemd-helper >/dev/null 2>&1; then
        deb-systemd-helper disable prometheus.service >/dev/null 2>&1 || true
      fi
      if command -v update-rc.d >/dev/null 2>&1; then update-rc.d prometheus disable >/dev/null 2>&1 || true; fi
      command -v promtool >/dev/null 2>&1 && return 0
    fi
  fi
  echo "$name: promtool is missing (Debian: apt-get install --no-install-recommends prometheus); the alert rule tests will fail" >&2
}

# Meant for a subshell, `(install_without_starting_services POLICY PACKAGE…)`: apt-get install
# PACKAGE… while POLICY (policy-rc.d) answers 101 to every service start, then puts back whatever
# POLICY was before, however the install ended. Its variables and traps are the subshell's.
install_without_starting_services() { # POLICY PACKAGE…
  policy_file=$1 policy_saved=
  shift
  if [ -e "$policy_file" ] || [ -L "$policy_file" ]; then
    policy_saved="$policy_file.omnisync-saved.$$"
    mv -f "$policy_file" "$policy_saved" || return 1
  fi
  trap restore_policy EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  printf '#!/bin/sh\n# omnisync prerequisites.sh: no service starts while packages are installed\nexit 101\n' \
    >"$policy_file" || return 1
  chmod 755 "$policy_file" || return 1
  export DEBIAN_FRONTEND=noninteractive
  if ! has_install_candidate "$1"; then apt-get update -q >&2 || true; fi
  apt-get install -y -q --no-install-recommends "$@" >&2
}

restore_policy() {
  rm -f "$policy_file"
  if [ -n "$policy_saved" ]; then mv -f "$policy_saved" "$policy_file"; fi
}
