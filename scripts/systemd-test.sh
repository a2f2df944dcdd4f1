#!/usr/bin/env bash
# Tests omnisync under a real systemd: boots /lib/systemd/systemd as PID 1 of new namespaces on
# an overlay of this machine's root (the writes land in a tmpfs), installs with scripts/install.sh,
# creates two PostgreSQL clusters with Debian's tools, and checks the unit as an operator meets it.
#
#   scripts/systemd-test.sh                 build a debug binary, then test it
#   scripts/systemd-test.sh --binary PATH   test an already built binary
#   scripts/systemd-test.sh --keep          keep the temporary directory (boot log, journal)
#   OMNISYNC_SCRATCH=DIR                    build in DIR instead of .build
#
# Needs root, util-linux (unshare, nsenter), systemd, a cgroup2 mount, procps (sysctl) and
# postgresql-common. Exit 0 when every check passed, 1 when one failed (its journal is printed),
# 77 when this machine cannot run it (the reason is printed), 64 on bad usage, 66 when the binary
# is not an executable. scripts/test.sh runs it as root.
#
# The machine is left as found: inside, /proc/sys and /sys are read-only (systemd would otherwise
# change the host's kernel settings), only loopback networking exists, and nothing is mounted in
# the host's mount namespace. The script compares `sysctl -a` and the mount table before and after,
# and fails if they differ. PID 1 is stopped by its recorded PID (SIGRTMIN+4, then SIGKILL).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "systemd-test.sh: $*" >&2; }
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
skip() {
  say "skipped: $*"
  exit 77
}

binary='' keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) say "unknown argument: $1"; usage >&2; exit 64 ;;
  esac
done

started_at=$(date +%s)
exec </dev/null # commands run inside read nothing unless given a file

# --- can this machine do it? -----------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "needs root (it boots systemd in new namespaces)"
[ -x /lib/systemd/systemd ] || skip "/lib/systemd/systemd is missing (apt-get install systemd)"
for tool in unshare nsenter pivot_root; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing (apt-get install util-linux)"
done
command -v sysctl >/dev/null 2>&1 || skip "sysctl is missing (apt-get install procps): the host's kernel settings could not be compared"
command -v pg_createcluster >/dev/null 2>&1 || skip "pg_createcluster is missing (apt-get install postgresql)"
pg_version=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null |
  sed 's#^/usr/lib/postgresql/\([^/]*\)/.*#\1#' | sort -n | tail -1)
[ -n "$pg_version" ] || skip "no PostgreSQL server in /usr/lib/postgresql (apt-get install postgresql)"
# The machine's cgroup2 hierarchy: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid).
cgroup2_mount=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$cgroup2_mount" ] || skip "no cgroup2 hierarchy is mounted (systemd in a namespace needs one)"
own_cgroup=$(sed -n 's/^0:://p' /proc/self/cgroup)
[ -n "$own_cgroup" ] || skip "this process is in no cgroup2 cgroup"
if ! unshare --mount --pid --fork --uts --ipc --net --cgroup true 2>/dev/null; then
  skip "cannot create mount, PID, UTS, IPC, network and cgroup namespaces here (unshare failed)"
fi

# --- the binary ------------------------------------------------------------------------------------
if [ -z "$binary" ]; then
  command -v swift >/dev/null 2>&1 || [ ! -x /opt/swift/usr/bin/swift ] || export PATH="/opt/swift/usr/bin:$PATH"
  build_args=(-Xswiftc -warnings-as-errors)
  if [ -n "${OMNISYNC_SCRATCH:-}" ]; then build_args+=(--scratch-path "$OMNISYNC_SCRATCH"); fi
  say "building (swift build ${build_args[*]} --product omnisync)"
  swift build "${build_args[@]}" --product omnisync >&2
  binary=$(swift build "${build_args[@]}" --show-bin-path)/omnisync
fi
[ -x "$binary" ] || { say "not an executable: $binary"; exit 66; }
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")

# --- the host as found -----------------------------------------------------------------------------
# Counters that change by themselves are left out; everything else must be equal at the end.
volatile_sysctls='^(fs\.(dentry-state|file-nr|inode-nr|inode-state|aio-nr)|kernel\.(ns_last_pid|pty\.nr|random\.(uuid|entropy_avail))|net\.netfilter\.nf_conntrack_count) '
host_state() {
  sysctl -a 2>/dev/null | grep -Ev "$volatile_sysctls" | sort
  echo "mounts: $(mount | wc -l)"
}

dir=$(mktemp -d /tmp/omnisync-systemd.XXXXXX)
chmod 755 "$dir"
host_state >"$dir/host-before"
cgroup=
launcher=
pid1=
cleaned=0

# Stops PID 1 (and with it every process of its PID namespace) by its recorded PID, removes the
# cgroup made for it, checks the host is as it was and removes the temporary directory.
cleanup() {
  local status=$? i
  [ "$cleaned" -eq 0 ] || return 0
  cleaned=1
  set +e
  trap - ERR
  if [ -n "$pid1" ] && kill -0 "$pid1" 2>/dev/null; then
    if [ "$keep" -eq 1 ]; then limit=10 inside journalctl --no-pager -o short-monotonic >"$dir/journal.txt" 2>&1; fi
    kill -s RTMIN+4 "$pid1" 2>/dev/null # poweroff
    for ((i = 0; i < 100; i++)); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid1" 2>/dev/null; then kill -s KILL "$pid1" 2>/dev/null; fi
  fi
  if [ -n "$launcher" ]; then
    for ((i = 0; i < 50; i++)); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$launcher" 2>/dev/null; then kill -s KILL "$launcher" 2>/dev/null; fi
    wait "$launcher" 2>/dev/null
  fi
  # Every mount was made in the namespace that just ended; none may be left in the host's.
  local left
  left=$(findmnt -rn -o TARGET | grep -F "$dir")
  if [ -n "$left" ]; then
    say "FAILED: mounts under $dir remain in the host's mount namespace: $left"
    status=1
  fi
  if [ -n "$cgroup" ] && [ -d "$cgroup" ]; then
    for ((i = 0; i < 50; i++)); do
      find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$cgroup" ] || break
      sleep 0.1
    done
    if [ -d "$cgroup" ]; then say "FAILED: could not remove the cgroup $cgroup"; status=1; fi
  fi
  host_state >"$dir/host-after"
  if ! diff -u "$dir/host-before" "$dir/host-after" >"$dir/host-diff"; then
    say "FAILED: the host changed (sysctl -a or the mount table):"
    cat "$dir/host-diff" >&2
    status=1
  fi
  if [ "$keep" -eq 1 ]; then
    say "kept $dir"
  else
    rm -rf --one-file-system "$dir"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command inside: every namespace of PID 1 (its root, its /run), a clean environment, and
# a time limit ($limit seconds, 60 unless set) so that no wait is unbounded.
inside() {
  nsenter -t "$pid1" -a -- /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 /usr/bin/timeout -k 5 "${limit:-60}" "$@"
}

journal_tail() {
  [ -n "$pid1" ] || return 0
  echo "--- journalctl -u omnisync, last 40 lines (inside; without libdispatch's 'Failed to set thread priority')" >&2
  { limit=10 inside journalctl -u omnisync.service -n 400 --no-pager -o short-monotonic || true; } |
    grep -v 'Failed to set thread priority for worker thread' | tail -n 40 >&2
}

current_check="preparing"
fail() {
  say "FAILED: $current_check${1:+: $1}"
  journal_tail
  exit 1
}
passed=0
pass() {
  passed=$((passed + 1))
  say "ok  $*"
}
# Any other command failing (set -e) is reported as the current check failing.
trap 'fail "line $LINENO: a command failed (status $?)"' ERR
check() { current_check=$*; }

# --- boot ------------------------------------------------------------------------------------------
check "booting systemd"
# What the booted system sees at /opt/omnisync-systemd-test: the files install.sh needs, the binary.
share=$dir/share
mkdir -p "$share/src" "$dir/layers" "$dir/root"
cp -a scripts deploy schema docs README.md "$share/src/"
install -m 0755 "$binary" "$share/omnisync"

# PID 1 of the new namespaces runs this before it becomes systemd: an overlay of / whose upper
# layer is a tmpfs, the API file systems (/proc/sys and /sys read-only, a cgroup2 hierarchy of its
# own), a minimal /dev, then pivot_root.
cat >"$dir/boot.sh" <<'EOF'
set -eu
dir=$1 root=$1/root
mount -t tmpfs -o mode=0755,size=2g omnisync-systemd-test "$dir/layers"
mkdir "$dir/layers/upper" "$dir/layers/work"
mount -t overlay -o "lowerdir=/,upperdir=$dir/layers/upper,workdir=$dir/layers/work" overlay "$root"
mountpoint -q "$root"

mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
for path in sys sysrq-trigger; do
  [ -e "$root/proc/$path" ] || continue
  mount --bind "$root/proc/$path" "$root/proc/$path"
  mount -o remount,bind,ro "$root/proc/$path"
done
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"
mount -t tmpfs -o mode=0755,nosuid,size=8m tmpfs "$root/dev"
for node in null zero full random urandom tty; do
  touch "$root/dev/$node"
  mount --bind "/dev/$node" "$root/dev/$node"
done
mkdir -m 0755 "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
mkdir -p "$root/opt/omnisync-systemd-test"
mount --bind "$dir/share" "$root/opt/omnisync-systemd-test"

# Only in the overlay: no trace of an earlier omnisync installation, and the machine's own
# PostgreSQL clusters, timers and e2scrub stay out of this boot.
rm -rf "$root/etc/omnisync" "$root/etc/systemd/system/omnisync.service" \
  "$root/etc/systemd/system/omnisync.service.d" "$root/etc/systemd/system/multi-user.target.wants/omnisync.service" \
  "$root/usr/local/bin/omnisync"
units=$root/etc/systemd/system
mkdir -p "$units"
for unit in timers.target e2scrub_reap.service; do
  ln -sfn /dev/null "$units/$unit"
done
for cluster in "$root"/etc/postgresql/*/*/; do
  [ -d "$cluster" ] || continue
  name=$(basename "$cluster") version=$(basename "$(dirname "$cluster")")
  ln -sfn /dev/null "$units/postgresql@$version-$name.service"
done

cd "$root"
mkdir .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
# Kernel modules and the clock are the host's: without CAP_SYS_MODULE and CAP_SYS_TIME in the
# bounding set, nothing inside can load a module (modprobe@.service, systemd-modules-load) or set
# the time (systemd-timesyncd); their units' ConditionCapability= skips them.
exec env -i container=omnisync-systemd-test setpriv --bounding-set=-sys_module,-sys_time /lib/systemd/systemd
EOF

cgroup=$cgroup2_mount${own_cgroup%/}/omnisync-systemd-test.$$
mkdir "$cgroup" || skip "cannot create a cgroup under $cgroup2_mount$own_cgroup"
# The launcher joins that cgroup, so that the new cgroup namespace starts there; its child is PID 1.
bash -c 'echo $$ >"$1/cgroup.procs" && exec unshare --mount --propagation private --pid --fork --uts --ipc \
  --net --cgroup -- bash "$2/boot.sh" "$2"' _ "$cgroup" "$dir" </dev/null >"$dir/boot.log" 2>&1 &
launcher=$!
boot_started=$(date +%s)
for ((i = 0; i < 100; i++)); do
  pid1=$(awk '{ print $1 }' "/proc/$launcher/task/$launcher/children" 2>/dev/null) || true
  [ -z "$pid1" ] || break
  kill -0 "$launcher" 2>/dev/null || break
  sleep 0.1
done
[ -n "$pid1" ] || { cat "$dir/boot.log" >&2; fail "PID 1 did not start"; }
echo "$pid1" >"$dir/pid1"
for ((i = 0; i < 100; i++)); do
  [ "$(cat "/proc/$pid1/comm" 2>/dev/null)" != systemd ] || break
  kill -0 "$pid1" 2>/dev/null || break
  sleep 0.1
done
if [ "$(cat "/proc/$pid1/comm" 2>/dev/null)" != systemd ]; then
  cat "$dir/boot.log" >&2
  fail "the namespace's PID 1 did not become systemd"
fi


state=
for ((i = 0; i < 120; i++)); do
  state=$(limit=5 inside systemctl is-system-running 2>/dev/null) || true
  case $state in running | degraded) break ;; esac
  kill -0 "$pid1" 2>/dev/null || { cat "$dir/boot.log" >&2; fail "PID 1 ended"; }
  sleep 0.5
done
case $state in
  running) ;;
  degraded) say "note: the booted system is degraded: $(limit=10 inside systemctl --failed --no-legend --plain | awk '{ print $1 }' | xargs)" ;;
  *) cat "$dir/boot.log" >&2; limit=10 inside systemctl list-jobs --no-pager >&2 || true; fail "state '$state' after 60 s" ;;
esac
pass "systemd $(limit=5 inside systemctl --version | awk 'NR == 1 { print $2 }') booted as PID 1 to multi-user.target ($state) in $(($(date +%s) - boot_started)) s"

check "inside, /proc/sys and /sys are read-only and only loopback networking exists"
for path in /proc/sys /sys; do
  options=$(limit=10 inside findmnt -n -o OPTIONS --mountpoint "$path" | tail -n 1)
  [[ $options == ro,* ]] || fail "$path is mounted $options"
done
[ "$(limit=10 inside ls /sys/class/net | xargs)" = lo ] || fail "network interfaces: $(limit=10 inside ls /sys/class/net | xargs)"
pass "/proc/sys and /sys are read-only inside; the only network interface is lo"

# --- helpers for the checks ------------------------------------------------------------------------
now_ms() { echo $(($(date +%s%N) / 1000000)); }
seconds_since() { # MILLISECONDS (from now_ms): the time since, in seconds with two decimals
  local ms=$(($(now_ms) - $1))
  printf '%d.%02d\n' $((ms / 1000)) $((ms % 1000 / 10))
}
unit_property() { limit=10 inside systemctl show -p "$1" --value omnisync.service; }
# The values of PROPERTY… of omnisync.service, in the order asked, separated by spaces.
unit_properties() {
  local shown property values=()
  shown=$(limit=10 inside systemctl show omnisync.service "${@/#/--property=}") || return 1
  for property in "$@"; do values+=("$(sed -n "s/^$property=//p" <<<"$shown")"); done
  echo "${values[*]}"
}
# The cursor of omnisync's last journal entry (empty before the first); `journal_since CURSOR
# [option…]` shows its lines after it. The cursor must be one of the unit's own entries: journalctl
# 252 skips the first matching entry after a cursor that does not match its filters, so -p is only
# used without a cursor.
journal_cursor() {
  { limit=10 inside journalctl -q -u omnisync.service -n 1 --show-cursor --no-pager -o cat || true; } |
    sed -n 's/^-- cursor: //p'
}
journal_since() {
  local after=()
  [ -z "$1" ] || after=(--after-cursor="$1")
  shift
  limit=10 inside journalctl -q -u omnisync.service "${after[@]}" --no-pager -o cat "$@"
}
# Whether those lines (journal_since CURSOR OPTION…) include one containing TEXT. They are read
# whole first: `journalctl | grep -q` would fail under pipefail when grep stops at the first match.
journal_has() { # CURSOR TEXT [OPTION…]
  local cursor=$1 text=$2 lines
  shift 2
  lines=$(journal_since "$cursor" "$@") || return 1
  grep -qF -- "$text" <<<"$lines"
}
# Polls COMMAND… every half second until it succeeds, for at most SECONDS.
poll() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
sql() { # PORT DATABASE STATEMENT, as the postgres superuser over the local socket
  limit=20 inside runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -p "$1" -d "$2" -c "$3"
}
on_hand_is() { # PORT DATABASE SKU LOCATION EXPECTED
  [ "$(sql "$1" "$2" "SELECT on_hand FROM retail.stock WHERE sku = '$3' AND location = '$4'" 2>/dev/null)" = "$5" ]
}
status_text_has() { [[ $(unit_property StatusText) == *"$1"* ]]; }
write_config() { # the file's text on stdin; mode, owner and group stay as install.sh made them
  limit=10 inside sh -c 'cat >/etc/omnisync/omnisync.conf'
}

web_port=5441 store_port=5442
config_path=/etc/omnisync/omnisync.conf
good_config="# scripts/systemd-test.sh: two sites, each a PostgreSQL cluster of its own
[daemon]
poll_interval_ms = 1000

[site web]
conninfo = dbname=shop port=$web_port

[site store-1]
conninfo = dbname=pos port=$store_port
"

# --- PostgreSQL, install, configure, migrate (docs/operations.md) ---------------------------------
check "two PostgreSQL clusters created with pg_createcluster and started by postgresql@.service"
for cluster in omnisync_web omnisync_store; do
  port=$web_port
  [ $cluster = omnisync_web ] || port=$store_port
  limit=90 inside pg_createcluster "$pg_version" $cluster --port $port --start >"$dir/pg_createcluster-$cluster.log" 2>&1 ||
    { cat "$dir/pg_createcluster-$cluster.log" >&2; fail; }
  [ "$(limit=10 inside systemctl is-active "postgresql@$pg_version-$cluster.service")" = active ] ||
    fail "postgresql@$pg_version-$cluster is not active"
done
pass "clusters omnisync_web (port $web_port) and omnisync_store (port $store_port) run under postgresql@$pg_version-*.service"

check "scripts/install.sh --binary installs the unit, the user and the example configuration"
limit=60 inside /opt/omnisync-systemd-test/src/scripts/install.sh --binary /opt/omnisync-systemd-test/omnisync \
  >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; fail; }
limit=10 inside getent passwd omnisync >/dev/null || fail "no user omnisync"
[ "$(limit=10 inside stat -c '%a %U:%G' $config_path)" = "640 root:omnisync" ] || fail "$config_path is not 0640 root:omnisync"
[ "$(unit_property FragmentPath)" = /etc/systemd/system/omnisync.service ] || fail "systemd does not know the unit"
pass "install.sh installed /usr/local/bin/omnisync, omnisync.service, $config_path and the user omnisync"

check "owners, omnisync migrate as root with PGHOST=localhost and ~/.pgpass, the role script"
sql $web_port postgres "CREATE ROLE shop_owner LOGIN PASSWORD 'shop-owner-secret'" >/dev/null || fail
sql $web_port postgres "CREATE DATABASE shop OWNER shop_owner" >/dev/null || fail
sql $store_port postgres "CREATE ROLE pos_owner LOGIN PASSWORD 'pos-owner-secret'" >/dev/null || fail
sql $store_port postgres "CREATE DATABASE pos OWNER pos_owner" >/dev/null || fail
write_config <<<"$good_config" || fail "cannot write $config_path"
printf 'localhost:%s:*:shop_owner:shop-owner-secret\nlocalhost:%s:*:pos_owner:pos-owner-secret\n' $web_port $store_port |
  limit=10 inside sh -c 'install -m 0600 /dev/null /root/.pgpass && cat >/root/.pgpass' || fail "cannot write /root/.pgpass"
migrated=$(limit=60 inside env PGHOST=localhost PGUSER=shop_owner omnisync migrate --site web 2>&1) || fail "migrate web: $migrated"
migrated+=$(limit=60 inside env PGHOST=localhost PGUSER=pos_owner omnisync migrate --site store-1 2>&1) ||
  fail "migrate store-1: $migrated"
grep -q "^web: migrated from version 0" <<<"$migrated" || fail "unexpected migrate output: $migrated"
for database in shop pos; do
  port=$web_port
  [ $database = shop ] || port=$store_port
  limit=30 inside runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p $port -d $database -v role=omnisync \
    -f /usr/local/share/omnisync/omnisync_role.sql >"$dir/role-$database.log" 2>&1 ||
    { cat "$dir/role-$database.log" >&2; fail "role script in $database"; }
done
status=$(limit=30 inside runuser -u omnisync -- omnisync status 2>&1) || fail "omnisync status: $status"
for site in web store-1; do
  grep -q "^site $site: reachable" <<<"$status" || fail "omnisync status as user omnisync: $status"
done
pass "migrated both sites as their owners and granted the omnisync role; 'omnisync status' as omnisync reaches both"

# --- the checks --------------------------------------------------------------------------------
check "systemctl start returns after READY=1, STATUS= shows both sites up"
cursor=$(journal_cursor)
t0=$(now_ms)
limit=100 inside systemctl start omnisync.service || fail "systemctl start failed"
started_in=$(seconds_since "$t0")
state=$(unit_properties ActiveState SubState)
[ "$state" = "active running" ] || fail "right after systemctl start: ActiveState, SubState = $state"
journal_has "$cursor" 'msg="omnisync ready"' || fail "no 'omnisync ready' line when systemctl start returned"
poll 15 status_text_has "sites up 2/2, backlog " || fail "StatusText: $(unit_property StatusText)"
[[ $(limit=10 inside systemctl status omnisync.service --no-pager -n 0) == *'Status: "sites up 2/2'* ]] ||
  fail "systemctl status shows no 'sites up 2/2' status line"
main_pid=$(unit_property MainPID)
restarts=$(unit_property NRestarts)
pass "systemctl start returned in ${started_in} s with the unit active/running; Status: \"$(unit_property StatusText)\""

check "a write at one site appears at the other"
sql $web_port shop "INSERT INTO retail.stock VALUES ('systemd-1', 'web', 7, 0)" || fail
sql $store_port pos "INSERT INTO retail.stock VALUES ('systemd-2', 'store-1', 3, 0)" || fail
poll 15 on_hand_is $store_port pos systemd-1 web 7 || fail "web's row did not reach store-1 within 15 s"
poll 15 on_hand_is $web_port shop systemd-2 store-1 3 || fail "store-1's row did not reach web within 15 s"
pass "rows written at web and at store-1 reached the other site"

check "systemctl reload with a changed good file"
cursor=$(journal_cursor)
write_config <<<"${good_config/poll_interval_ms = 1000/poll_interval_ms = 500}" || fail
limit=70 inside systemctl reload omnisync.service || fail "systemctl reload failed"
journal_has "$cursor" "msg=\"configuration reloaded\" config=$config_path changed=poll_interval_ms" ||
  fail "no 'configuration reloaded' line naming poll_interval_ms"
[ "$(unit_property MainPID)" = "$main_pid" ] || fail "MainPID changed"
pass "systemctl reload applied a changed poll_interval_ms without a restart"

check "systemctl reload with a bad file fails and the daemon keeps running"
cursor=$(journal_cursor)
bad_reload_config=$(sed '4i no_such_key = 1' <<<"$good_config")
write_config <<<"$bad_reload_config" || fail
if limit=70 inside systemctl reload omnisync.service 2>"$dir/reload-bad.log"; then fail "systemctl reload succeeded"; fi
state=$(unit_properties ActiveState SubState)
[ "$state" = "active running" ] || fail "after the failed reload: $state"
[ "$(unit_property MainPID)" = "$main_pid" ] || fail "MainPID changed"
journal_has "$cursor" "$config_path:4: key 'no_such_key'" || fail "the journal does not name $config_path:4 and no_such_key"
write_config <<<"$good_config" || fail
pass "systemctl reload with an unknown key failed; the journal names $config_path:4 and 'no_such_key'; same MainPID, still active"

check "journal priorities: -p warning shows the error, not the notices"
journal_has "" "$config_path:4: key 'no_such_key'" -p warning || fail "journalctl -p warning lacks the reload error"
for message in 'msg="omnisync ready"' 'msg="configuration reloaded"' 'msg="site connected"'; do
  if journal_has "" "$message" -p warning; then fail "journalctl -p warning shows a notice or info line: $message"; fi
done
journal_has "" 'msg="omnisync ready"' -p notice || fail "journalctl -p notice lacks 'omnisync ready'"
pass "journalctl -p warning holds the reload error but no notice/info line; -p notice holds 'omnisync ready'"

check "a site down: the daemon stays up, says so, and syncs the site when it returns"
store_unit=postgresql@$pg_version-omnisync_store.service
cursor=$(journal_cursor)
limit=60 inside systemctl stop "$store_unit" || fail "systemctl stop $store_unit"
sql $web_port shop "INSERT INTO retail.stock VALUES ('systemd-3', 'web', 5, 0)" || fail
poll 20 status_text_has "sites up 1/2" || fail "StatusText with store-1 down: $(unit_property StatusText)"
status=$(limit=30 inside runuser -u omnisync -- omnisync status 2>&1) || fail "omnisync status: $status"
grep -q "^site store-1: unreachable" <<<"$status" || fail "omnisync status does not show store-1 unreachable: $status"
journal_has "$cursor" 'msg="site unreachable" site=store-1 ' || fail "no 'site unreachable' line for store-1"
state=$(unit_properties ActiveState SubState MainPID NRestarts)
[ "$state" = "active running $main_pid $restarts" ] || fail "ActiveState SubState MainPID NRestarts = $state, not active running $main_pid $restarts"
limit=60 inside systemctl start "$store_unit" || fail "systemctl start $store_unit"
poll 20 on_hand_is $store_port pos systemd-3 web 5 || fail "the row written at web during the outage did not reach store-1 within 20 s"
poll 20 status_text_has "sites up 2/2" || fail "StatusText after store-1 returned: $(unit_property StatusText)"
journal_has "$cursor" 'msg="site reachable again" site=store-1 ' || fail "no 'site reachable again' line"
state=$(unit_properties MainPID NRestarts)
[ "$state" = "$main_pid $restarts" ] || fail "MainPID NRestarts = $state, not $main_pid $restarts"
pass "with store-1's cluster stopped the unit stayed active (same MainPID, NRestarts $restarts), STATUS and 'omnisync status' said so; its backlog arrived when it returned"

check "the watchdog restarts a hung daemon, and leaves an idle one alone"
watchdog_sec=5 restart_sec=1 abort_sec=10
dropin=/etc/systemd/system/omnisync.service.d/systemd-test-watchdog.conf
# LimitCORE=0: the SIGABRT leaves no core file anywhere.
printf '[Service]\nWatchdogSec=%ss\nRestartSec=%ss\nLimitCORE=0\n' $watchdog_sec $restart_sec |
  limit=10 inside sh -c "mkdir -p ${dropin%/*} && cat >$dropin" || fail "cannot write $dropin"
limit=30 inside systemctl daemon-reload || fail "daemon-reload"
limit=100 inside systemctl restart omnisync.service || fail "systemctl restart with the drop-in"
[ "$(unit_property WatchdogUSec)" = ${watchdog_sec}s ] || fail "WatchdogUSec is $(unit_property WatchdogUSec), not ${watchdog_sec}s"
cursor=$(journal_cursor)
main_pid=$(unit_property MainPID)
restarts=$(unit_property NRestarts)
# Longer than WatchdogSec idle, then a delivery, then store-1 down for longer than WatchdogSec:
# the daemon pings throughout (an idle link, or one whose site refuses connections, is not stuck).
t0=$(now_ms)
sleep $((watchdog_sec + 1))
sql $web_port shop "INSERT INTO retail.stock VALUES ('systemd-4', 'web', 4, 0)" || fail
poll 10 on_hand_is $store_port pos systemd-4 web 4 || fail "a row written with the short watchdog did not reach store-1"
limit=60 inside systemctl stop "$store_unit" || fail "systemctl stop $store_unit"
sleep $((watchdog_sec + 2))
limit=60 inside systemctl start "$store_unit" || fail "systemctl start $store_unit"
poll 20 status_text_has "sites up 2/2" || fail "StatusText after store-1 returned: $(unit_property StatusText)"
state=$(unit_properties ActiveState MainPID NRestarts)
if [ "$state" != "active $main_pid $restarts" ] || journal_has "$cursor" 'Watchdog timeout'; then
  fail "a healthy daemon was restarted by a ${watchdog_sec} s watchdog: ActiveState MainPID NRestarts = $state (was active $main_pid $restarts)"
fi
pass "with WatchdogSec=${watchdog_sec}s the daemon ran on for $(seconds_since "$t0") s, idle, delivering, and with store-1 down for $((watchdog_sec + 2)) s"
t0=$(now_ms)
limit=10 inside kill -STOP "$main_pid" || fail "kill -STOP $main_pid"
new_pid_up() {
  local active sub pid count
  read -r active sub pid count <<<"$(unit_properties ActiveState SubState MainPID NRestarts)"
  [ "$active $sub" = "active running" ] && [ "$pid" != "$main_pid" ] && [ "$count" = $((restarts + 1)) ]
}
poll $((watchdog_sec + abort_sec + restart_sec + 10)) new_pid_up ||
  fail "no new MainPID within $((watchdog_sec + abort_sec + restart_sec + 10)) s of SIGSTOP: ActiveState SubState MainPID NRestarts = $(unit_properties ActiveState SubState MainPID NRestarts)"
restarted_in=$(seconds_since "$t0")
journal_has "$cursor" "Watchdog timeout (limit ${watchdog_sec}s)" || fail "the journal has no 'Watchdog timeout' line"
journal_has "$cursor" "status=6/ABRT" || fail "the daemon did not end by SIGABRT"
new_pid=$(unit_property MainPID)
restarts=$(unit_property NRestarts)
# A running process keeps the watchdog it was started with (WATCHDOG_USEC): restart after removing it.
limit=10 inside rm -rf "${dropin%/*}" || fail
limit=30 inside systemctl daemon-reload || fail "daemon-reload"
limit=100 inside systemctl restart omnisync.service || fail "systemctl restart without the drop-in"
[ "$(unit_property WatchdogUSec)" = 1min ] || fail "WatchdogUSec is $(unit_property WatchdogUSec) after removing the drop-in"
pass "SIGSTOPped, PID $main_pid was killed by the watchdog (SIGABRT) and PID $new_pid ran in its place ${restarted_in} s later (NRestarts $restarts); drop-in removed"

check "systemctl stop ends the daemon cleanly"
cursor=$(journal_cursor)
t0=$(now_ms)
limit=40 inside systemctl stop omnisync.service || fail "systemctl stop failed"
stopped_ms=$(($(now_ms) - t0))
stopped_in=$(seconds_since "$t0")
state=$(unit_properties ActiveState Result ExecMainStatus)
[ "$state" = "inactive success 0" ] || fail "after stop: ActiveState Result ExecMainStatus = $state"
[ "$stopped_ms" -le 10000 ] || fail "systemctl stop took $stopped_in s (TimeoutStopSec=30s; it should take a second or two)"
journal_has "$cursor" 'msg="omnisync stopped"' || fail "no 'omnisync stopped' line"
pass "systemctl stop took ${stopped_in} s: inactive, Result=success, exit status 0, 'omnisync stopped' logged"

check "a configuration error: exit 78, no restart loop, the reason at priority err"
bad_start_config=${good_config/conninfo = dbname=pos/connifo = dbname=pos}
bad_line=$(grep -n '^connifo' <<<"$bad_start_config" | cut -d: -f1)
write_config <<<"$bad_start_config" || fail
if limit=100 inside systemctl start omnisync.service 2>"$dir/start-bad.log"; then fail "systemctl start succeeded"; fi
restarts=$(unit_property NRestarts)
state=$(unit_properties ActiveState Result ExecMainStatus)
[ "$state" = "failed exit-code 78" ] || fail "ActiveState Result ExecMainStatus = $state, not failed exit-code 78"
sleep $((5 + 2)) # the unit's RestartSec=5s, and a margin
state=$(unit_properties ActiveState NRestarts)
[ "$state" = "failed $restarts" ] || fail "$((5 + 2)) s later: ActiveState NRestarts = $state, not failed $restarts"
journal_has "" "$config_path:$bad_line: key 'connifo'" -p err || fail "journalctl -p err does not name $config_path:$bad_line and connifo"
pass "systemctl start failed with status=78/CONFIG, not restarted in 7 s (NRestarts $restarts); journalctl -p err names $config_path:$bad_line and 'connifo'"

check "systemd-analyze security omnisync.service"
security=$(limit=30 inside systemd-analyze security --no-pager omnisync.service 2>&1) || fail "systemd-analyze security: $security"
exposure=$(sed -n 's/.*Overall exposure level for omnisync.service: \([0-9.]*\).*/\1/p' <<<"$security")
[ -n "$exposure" ] || fail "no 'Overall exposure level' line: $(tail -3 <<<"$security")"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure level $exposure is above 2.0"
pass "systemd-analyze security rates the unit $exposure (at most 2.0)"

say "all $passed checks passed in $(($(date +%s) - started_at)) s"
