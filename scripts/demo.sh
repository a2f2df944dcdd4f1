#!/usr/bin/env bash
# omnisync in five minutes: three throwaway PostgreSQL clusters (the web shop and two stores),
# the daemon syncing them, and a day in retail narrated with the tables shown at each step. The
# chain is routed: the web is the hub, each store holds its own stock only, and a customer's
# profile, points and phone cart reach a store when its till follows them.
# Installs what is missing on a fresh Debian machine (as root), and cleans up on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/prerequisites.sh

ensure_prerequisites demo.sh
swift build -Xswiftc -warnings-as-errors >/dev/null
bin="$(swift build --show-bin-path)/omnisync"

dir=$(mktemp -d /tmp/omnisync-demo.XXXXXX)
chmod 755 "$dir"
daemon_pid=
cleanup() {
  local status=$?
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$dir/daemon.log" ]; then
    echo "--- last daemon log lines ---" >&2
    tail -n 30 "$dir/daemon.log" >&2 || true
  fi
  scripts/pgcluster.sh stop "$dir" >/dev/null 2>&1 || true
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold=$(printf '\033[1m') plain=$(printf '\033[0m')
[ -t 1 ] || { bold= plain=; }
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '   %s\n' "$*"; }

step "Starting three PostgreSQL clusters: web, store-a, store-b"
scripts/pgcluster.sh start "$dir" 3 >/dev/null
sites=(web store-a store-b)
declare -A conn
for i in 0 1 2; do
  admin=$(scripts/pgcluster.sh conninfo "$dir" "$i")
  db=$([ "$i" -eq 0 ] && echo shop || echo pos)
  psql "$admin" -qAtc "CREATE DATABASE $db" >/dev/null
  # The daemon logs in as its own role, so the demo can cut a store off without stopping it.
  psql "$admin" -qAtc "CREATE ROLE omnisync LOGIN SUPERUSER" >/dev/null
  conn[${sites[$i]}]="${admin/dbname=postgres/dbname=$db}"
  # The point of sale's own inventory table, as the retailer's software created it long ago.
  psql "${conn[${sites[$i]}]}" -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE SCHEMA pos;
CREATE TABLE pos.inventory (
    id serial PRIMARY KEY,
    item_id text NOT NULL,
    store_id text NOT NULL,
    qty numeric(10,3) NOT NULL DEFAULT 0,
    price numeric(10,2),
    last_sold_at timestamptz,
    till_note text,
    UNIQUE (item_id, store_id)
);
SQL
done
# store-a already sells loose coffee by weight, from before omnisync.
psql "${conn[store-a]}" -qAtc "INSERT INTO pos.inventory (item_id, store_id, qty, price) VALUES ('coffee-kg', 'store-a', 12.500, 18.90)" >/dev/null

cat >"$dir/omnisync.conf" <<EOF
[daemon]
log_level = info
poll_interval_ms = 1000

[site web]
conninfo = ${conn[web]/user=postgres/user=omnisync}
hub = yes

[site store-a]
conninfo = ${conn[store-a]/user=postgres/user=omnisync}

[site store-b]
conninfo = ${conn[store-b]/user=postgres/user=omnisync}

# Each store its own stock, the hub all of it.
[table retail.stock]
route = location location

# A customer's profile and points where the customer is followed (and at the hub).
[table retail.customers]
route = follow customer customer_id

[table retail.loyalty]
route = follow customer customer_id

# A cart where it is followed (the till the customer stands at), and at the hub.
[table retail.cart_items]
route = follow cart cart_id

# The point of sale's own table, merged column by column.
[table pos.inventory]
key = item_id, store_id
column.id = local
column.qty = counter
column.last_sold_at = greatest
column.till_note = local
check.negative_stock = qty >= 0
EOF
say "configuration: $dir/omnisync.conf"

at() { # SITE SQL — run SQL at a site as its application would
  psql "${conn[$1]}" -qAt -v ON_ERROR_STOP=1 -c "$2" >/dev/null
}
show() { # TITLE SQL — the same query at every site, side by side
  say "$1"
  for site in "${sites[@]}"; do
    printf '     %-8s ' "$site:"
    psql "${conn[$site]}" -qAt -F ' ' -c "$2" | paste -sd ';' - | sed 's/;/ | /g'
  done
}
converge() { # waits until omnisync verify passes
  for _ in $(seq 1 100); do
    if "$bin" verify -c "$dir/omnisync.conf" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  "$bin" verify -c "$dir/omnisync.conf" || true
  echo "demo: the sites did not converge" >&2
  return 1
}
stock="SELECT sku, location, 'on_hand=' || on_hand FROM retail.stock ORDER BY 1, 2"

step "omnisync check: is the point of sale's own table ready to be replicated?"
"$bin" check -c "$dir/omnisync.conf" 2>&1 | sed 's/^/   /' || true

step "omnisync migrate: install the schema, record each site's name, capture pos.inventory"
"$bin" migrate -c "$dir/omnisync.conf" 2>&1 | sed 's/^/   /'

step "omnisync run: the daemon starts and listens to every site"
"$bin" run -c "$dir/omnisync.conf" 2>"$dir/daemon.log" &
daemon_pid=$!
sleep 1
sed 's/^/   /' "$dir/daemon.log" | head -n 8

step "Each store records its shelf stock of the blue T-shirt"
at store-a "INSERT INTO retail.stock VALUES ('tshirt-blue-m', 'store-a', 10, 0)"
at store-b "INSERT INTO retail.stock VALUES ('tshirt-blue-m', 'store-b', 5, 0)"
converge
show "the web (the hub) holds all the stock, each store its own only:" "$stock"

step "A customer buys one online (shipped from store-a) while store-a sells one at the till, at the same moment"
at web "BEGIN; INSERT INTO retail.customers (customer_id, name, email) VALUES ('cust-77', 'Ada Lovelace', 'ada@example.com');
        INSERT INTO retail.orders VALUES ('o-1001', 'cust-77', 'web', now());
        INSERT INTO retail.order_lines VALUES ('o-1001', 1, 'tshirt-blue-m', 1);
        UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'tshirt-blue-m' AND location = 'store-a'; COMMIT" &
online=$!
at store-a "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'tshirt-blue-m' AND location = 'store-a'" &
till=$!
wait "$online" "$till"
converge
show "stock: store-a went from 10 to 8 where it is held (no unit lost, none counted twice):" "$stock"
show "the order is at every site:" "SELECT order_id, customer_id, channel FROM retail.orders"
show "the customer only at the web:" "SELECT customer_id, name FROM retail.customers"

step "The customer walks into store-b, which has never seen them: the till follows them"
at store-b "SELECT omnisync.follow('customer', 'cust-77')"
converge
show "their profile is at store-b now (and at the web), not at store-a:" "SELECT customer_id, name FROM retail.customers"

step "The customer returns the online purchase at store-b"
at store-b "BEGIN; INSERT INTO retail.returns VALUES ('r-5001', 'o-1001', 1, 1, 'store-b', now());
            UPDATE retail.stock SET on_hand = on_hand + 1 WHERE sku = 'tshirt-blue-m' AND location = 'store-b'; COMMIT"
converge
show "store-b stock is back to 6, at store-b and the web:" "$stock"
show "and the web sees the return:" "SELECT order_id, line_no, 'bought=' || quantity, 'returned=' || returned FROM retail.order_line_returns"

step "The customer started a cart on the phone; store-b's till follows it and both channels change it"
cart="SELECT cart_id, sku, 'quantity=' || quantity FROM retail.cart_items ORDER BY 1, 2"
at web "INSERT INTO retail.cart_items VALUES ('cart-77', 'socks-wool', 2), ('cart-77', 'scarf-red', 1)"
converge
at store-b "SELECT omnisync.follow('cart', 'cart-77')"
converge
show "the phone cart is at the till now, not at store-a:" "$cart"
at store-b "UPDATE retail.cart_items SET quantity = quantity + 1 WHERE cart_id = 'cart-77' AND sku = 'socks-wool'" &
added=$!
at web "DELETE FROM retail.cart_items WHERE cart_id = 'cart-77' AND sku = 'scarf-red'" &
removed=$!
wait "$added" "$removed"
converge
show "one more pair of socks at the till, the scarf taken out on the phone, at the same moment:" "$cart"

step "store-a goes offline (the daemon cannot reach it) and keeps selling"
psql "${conn[store-a]}" -qAtc "ALTER ROLE omnisync NOLOGIN; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'omnisync'" >/dev/null
for _ in 1 2 3; do
  at store-a "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'tshirt-blue-m' AND location = 'store-a'"
done
at web "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'tshirt-blue-m' AND location = 'store-b'"
sleep 2
show "while offline, store-a has its own three sales, the web does not:" "$stock"
"$bin" status -c "$dir/omnisync.conf" 2>&1 | sed 's/^/   /' || true

step "store-a comes back"
psql "${conn[store-a]}" -qAtc "ALTER ROLE omnisync LOGIN" >/dev/null
converge
show "every site converges: store-a 5, store-b 5, each where it is held:" "$stock"
grep -E 'site unreachable|site reachable again' "$dir/daemon.log" | sed 's/^/   /' || true

step "Two stores accept a return of the same single item at the same moment"
at store-a "INSERT INTO retail.returns VALUES ('r-5002', 'o-1001', 1, 1, 'store-a', now())" &
first=$!
at store-b "INSERT INTO retail.returns VALUES ('r-5003', 'o-1001', 1, 1, 'store-b', now())" &
second=$!
wait "$first" "$second"
converge
show "nothing is lost: three returns of one item bought:" "SELECT order_id, line_no, 'bought=' || quantity, 'returned=' || returned FROM retail.order_line_returns"
say "omnisync conflicts:"
"$bin" conflicts -c "$dir/omnisync.conf" | sed 's/^/     /'

step "The customer earns loyalty points online and redeems some at store-b's till, at the same moment"
at web "INSERT INTO retail.loyalty VALUES ('cust-77', 100)"
converge
at web "UPDATE retail.loyalty SET points = points + 25 WHERE customer_id = 'cust-77'" &
earned=$!
at store-b "UPDATE retail.loyalty SET points = points - 40 WHERE customer_id = 'cust-77'" &
redeemed=$!
wait "$earned" "$redeemed"
converge
show "points: 100 + 25 - 40 = 85 at the web and at store-b, which follows the customer:" \
  "SELECT customer_id, 'points=' || points FROM retail.loyalty"

step "Both channels redeem more points than the customer has, at the same moment"
at web "UPDATE retail.loyalty SET points = points - 60 WHERE customer_id = 'cust-77'" &
earned=$!
at store-b "UPDATE retail.loyalty SET points = points - 50 WHERE customer_id = 'cust-77'" &
redeemed=$!
wait "$earned" "$redeemed"
converge
show "85 - 60 - 50: both redemptions count, wherever the points are, and an over_redeem conflict for a person:" \
  "SELECT customer_id, 'points=' || points FROM retail.loyalty"
"$bin" conflicts -c "$dir/omnisync.conf" | grep over_redeem | sed 's/^/     /'

step "Click and collect: store-a hands order o-1002 over while its line is down, and the web cancels it"
at web "INSERT INTO retail.order_status VALUES ('o-1002', 'placed', 'store-a')"
converge
at store-a "UPDATE retail.order_status SET status = 'ready' WHERE order_id = 'o-1002'"
converge
psql "${conn[store-a]}" -qAtc "ALTER ROLE omnisync NOLOGIN; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'omnisync'" >/dev/null
at store-a "UPDATE retail.order_status SET status = 'collected' WHERE order_id = 'o-1002'"
at web "UPDATE retail.order_status SET status = 'cancelled' WHERE order_id = 'o-1002'"
psql "${conn[store-a]}" -qAtc "ALTER ROLE omnisync LOGIN" >/dev/null
converge
show "collected everywhere (a status only moves forward), and a conflict for a person:" \
  "SELECT order_id, status, location FROM retail.order_status"
say "omnisync conflicts:"
"$bin" conflicts -c "$dir/omnisync.conf" | sed 's/^/     /'

step "The point of sale's own table: coffee sold by weight at two tills, a price change at head office"
inventory="SELECT item_id, store_id, 'qty=' || qty, 'price=' || price, 'till_note=' || coalesce(till_note, '-') FROM pos.inventory ORDER BY 1, 2"
show "store-a's coffee, there before omnisync, is everywhere:" "$inventory"
at store-a "UPDATE pos.inventory SET qty = qty - 1.250, last_sold_at = now(), till_note = 'scale 2' WHERE item_id = 'coffee-kg'" &
sold=$!
at store-b "UPDATE pos.inventory SET qty = qty - 0.755, last_sold_at = now() WHERE item_id = 'coffee-kg'" &
sold_b=$!
wait "$sold" "$sold_b"
at web "UPDATE pos.inventory SET price = 19.50 WHERE item_id = 'coffee-kg'"
converge
show "12.500 - 1.250 - 0.755 = 10.495 kg, to the gram, the new price everywhere, till notes stay local:" "$inventory"

step "The customer leaves: store-b's till unfollows them"
at store-b "SELECT omnisync.unfollow('customer', 'cust-77')"
for _ in $(seq 1 100); do  # the daemon takes the rows away, then forgets the unfollow
  [ "$(psql "${conn[store-b]}" -qAtc "SELECT count(*) FROM omnisync.follows")" = 0 ] && break
  sleep 0.1
done
converge
show "the profile is gone from store-b; the points it wrote stay there, in sync:" \
  "SELECT 'customers=' || (SELECT count(*) FROM retail.customers), 'loyalty=' || coalesce((SELECT string_agg(customer_id || ':' || points, ',') FROM retail.loyalty), '-')"

step "omnisync verify: every site holds the same state, each row where it is routed"
"$bin" verify -c "$dir/omnisync.conf" | sed 's/^/   /'

step "Stopping the daemon (SIGTERM finishes the batch under way and exits 0)"
kill -TERM "$daemon_pid"
wait "$daemon_pid"
daemon_pid=
tail -n 2 "$dir/daemon.log" | sed 's/^/   /'
echo
echo "demo finished"
