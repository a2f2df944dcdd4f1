#!/usr/bin/env bash
# Installs omnisync on a store or web shop server: a release build of the binary, the systemd
# unit, the example configuration (only if there is none yet), the role script and the
# operations guide, and the system user `omnisync`. Safe to run again (an upgrade): it never
# overwrites /etc/omnisync/omnisync.conf and never starts, stops or enables the service.
#
#   scripts/install.sh                      build, then install under /usr/local (as root)
#   scripts/install.sh --binary PATH        install an already built binary instead of building
#   scripts/install.sh --prefix /opt/omnisync
#   DESTDIR=/tmp/stage scripts/install.sh   stage every file under /tmp/stage (a dry run or a
#                                           package build): no user, no systemctl, no root needed
#   OMNISYNC_SCRATCH=DIR                    build in DIR instead of .build
#
# docs/operations.md explains what to do next.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
say() { echo "install.sh: $*" >&2; }

prefix=/usr/local
binary=
destdir=${DESTDIR:-}
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) say "unknown argument: $1"; usage >&2; exit 64 ;;
  esac
done
case $prefix in /*) ;; *) say "--prefix must be an absolute path"; exit 64 ;; esac
prefix=${prefix%/}
if [ -n "$destdir" ]; then
  mkdir -p "$destdir"
  destdir=$(cd "$destdir" && pwd)
elif [ "$(id -u)" -ne 0 ]; then
  say "run as root (or set DESTDIR to stage the files in a directory)"
  exit 77
fi

bindir=$prefix/bin
datadir=$prefix/share/omnisync
docdir=$prefix/share/doc/omnisync
confdir=/etc/omnisync
unitdir=/etc/systemd/system
home=/var/lib/omnisync

# --- the binary ------------------------------------------------------------------------------------
if [ -z "$binary" ]; then
  # Building needs the Swift toolchain and libpq's headers; running needs only libpq5.
  command -v swift >/dev/null 2>&1 || [ ! -x /opt/swift/usr/bin/swift ] || export PATH="/opt/swift/usr/bin:$PATH"
  command -v swift >/dev/null 2>&1 || { say "no Swift toolchain on PATH (or build elsewhere and pass --binary)"; exit 69; }
  if [ ! -f /usr/include/postgresql/libpq-fe.h ] && [ ! -f /usr/include/libpq-fe.h ]; then
    say "libpq's headers are missing: apt-get install libpq-dev pkg-config"
    exit 69
  fi
  # The Swift runtime linked in: the server then needs only libpq5 and libstdc++6, not the toolchain.
  build_args=(-c release --static-swift-stdlib -Xswiftc -warnings-as-errors)
  build_product=(--product omnisync) # only the executable: TestSupport needs XCTest
  if [ -n "${OMNISYNC_SCRATCH:-}" ]; then build_args+=(--scratch-path "$OMNISYNC_SCRATCH"); fi
  say "building a release binary (swift build ${build_args[*]})"
  swift build "${build_args[@]}" "${build_product[@]}" >&2
  binary=$(swift build "${build_args[@]}" --show-bin-path)/omnisync
fi
[ -x "$binary" ] || { say "not an executable: $binary"; exit 66; }

# --- the system user -------------------------------------------------------------------------------
# Its home holds .pgpass (libpq's password file) and, for TLS, ~/.postgresql/root.crt.
group=root
if [ -z "$destdir" ]; then
  if ! getent passwd omnisync >/dev/null; then
    useradd --system --user-group --home-dir "$home" --shell /usr/sbin/nologin \
      --comment "omnisync sync daemon" omnisync
    say "created system user omnisync (home $home)"
  fi
  install -d -o omnisync -g omnisync -m 0750 "$home"
  group=omnisync
fi

# --- files -----------------------------------------------------------------------------------------
# install(1) replaces each file in one step (a running daemon keeps its old binary until restarted).
put() { # MODE SOURCE DESTINATION
  install -D -m "$1" "$2" "$destdir$3"
  echo "  $3"
}
say "installing into ${destdir:-/}"
put 0755 "$binary" "$bindir/omnisync"
unit=$(mktemp)
trap 'rm -f "$unit"' EXIT
sed -e "s#/usr/local/bin/omnisync#$bindir/omnisync#g" \
  -e "s#/usr/local/share/doc/omnisync#$docdir#g" deploy/omnisync.service >"$unit"
put 0644 "$unit" "$unitdir/omnisync.service"
put 0644 deploy/omnisync.conf.example "$confdir/omnisync.conf.example"
put 0644 schema/roles/omnisync_role.sql "$datadir/omnisync_role.sql"
put 0644 schema/roles/application_role.sql "$datadir/application_role.sql"
put 0644 docs/operations.md "$docdir/operations.md"
put 0644 README.md "$docdir/README.md"
if [ -e "$destdir$confdir/omnisync.conf" ]; then
  say "kept the existing $confdir/omnisync.conf"
else
  # Readable by the daemon's group only: it names every site's database.
  install -D -m 0640 deploy/omnisync.conf.example "$destdir$confdir/omnisync.conf"
  [ -n "$destdir" ] || chgrp "$group" "$confdir/omnisync.conf"
  echo "  $confdir/omnisync.conf (from the example: edit it)"
fi

if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
say "done. Next: edit $confdir/omnisync.conf, then follow $docdir/operations.md"
say "(omnisync migrate, the role script, systemctl enable --now omnisync)"
