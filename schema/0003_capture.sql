-- omnisync schema, migration 0003: sync metadata, the outbox, and the capture triggers.
-- Forward-only: never edit a released migration; add the next number instead.
--
-- Every replicated row has a state row here. For counter rows the state is, per site that ever
-- wrote the row, a version (that site's entry of the row's vector clock) and that site's
-- cumulative contribution to each counter column; plus the winning reset (physical count or
-- cart delete) with the clock and contributions it had seen. The parallel arrays
-- (sites[i], versions[i], *_contrib[i]) keep one state row per retail row and are cheap to
-- update in a trigger. Local writes change only the local site's entries; the daemon writes
-- merged states with omnisync.applying = 'on', which the triggers skip (no echo).

CREATE FUNCTION omnisync.wall_clock_us() RETURNS bigint
    LANGUAGE sql VOLATILE
    AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint $$;
COMMENT ON FUNCTION omnisync.wall_clock_us() IS 'Wall clock in microseconds, the physical part of hybrid timestamps.';

CREATE TABLE omnisync.stock_state (
    sku              text     NOT NULL,
    location         text     NOT NULL,
    sites            text[]   NOT NULL,
    versions         bigint[] NOT NULL,
    on_hand_contrib  bigint[] NOT NULL,
    reserved_contrib bigint[] NOT NULL,
    max_hlc          bigint   NOT NULL DEFAULT 0,
    count_hlc        bigint,
    count_site       text,
    count_base       bigint,
    count_sites      text[],
    count_versions   bigint[],
    count_observed   bigint[],
    PRIMARY KEY (sku, location)
);
-- Every write updates its row in place; free space on the page keeps those updates HOT
-- (no index entry to write), which is most of what capture costs a point-of-sale commit.
ALTER TABLE omnisync.stock_state SET (fillfactor = 50);
COMMENT ON TABLE omnisync.stock_state IS
    'Replicated state of retail.stock rows: per-site versions and cumulative on_hand/reserved contributions, and the winning physical count.';

CREATE TABLE omnisync.cart_state (
    cart_id          text     NOT NULL,
    sku              text     NOT NULL,
    sites            text[]   NOT NULL,
    versions         bigint[] NOT NULL,
    quantity_contrib bigint[] NOT NULL,
    max_hlc          bigint   NOT NULL DEFAULT 0,
    delete_hlc       bigint,
    delete_site      text,
    delete_sites     text[],
    delete_versions  bigint[],
    delete_observed  bigint[],
    PRIMARY KEY (cart_id, sku)
);
-- Every write updates its row in place; free space on the page keeps those updates HOT
-- (no index entry to write), which is most of what capture costs a point-of-sale commit.
ALTER TABLE omnisync.cart_state SET (fillfactor = 50);
COMMENT ON TABLE omnisync.cart_state IS
    'Replicated state of retail.cart_items rows, kept after a DELETE so that concurrent adds elsewhere survive.';

CREATE TABLE omnisync.order_state (
    order_id text   NOT NULL PRIMARY KEY,
    origin   text   NOT NULL,
    hlc      bigint NOT NULL
);
COMMENT ON TABLE omnisync.order_state IS 'Where and when each retail.orders row was created (decides duplicate keys).';

CREATE TABLE omnisync.order_line_state (
    order_id text   NOT NULL,
    line_no  int    NOT NULL,
    origin   text   NOT NULL,
    hlc      bigint NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
COMMENT ON TABLE omnisync.order_line_state IS 'Where and when each retail.order_lines row was created.';

CREATE TABLE omnisync.return_state (
    return_id text   NOT NULL PRIMARY KEY,
    origin    text   NOT NULL,
    hlc       bigint NOT NULL
);
COMMENT ON TABLE omnisync.return_state IS 'Where and when each retail.returns row was created (over-returns need the place).';

-- The outbox names the rows a transaction changed; the daemon ships their current state.
-- txid is what delivery orders by: records are read between two snapshots of the source
-- (commit visibility), never by id alone, since id order is not commit order.
CREATE TABLE omnisync.outbox (
    id         bigint      GENERATED ALWAYS AS IDENTITY,
    txid       xid8        NOT NULL DEFAULT pg_current_xact_id(),
    created_at timestamptz NOT NULL DEFAULT now(),
    table_id   smallint    NOT NULL,
    k1         text        NOT NULL,
    k2         text
);
CREATE INDEX outbox_txid_id ON omnisync.outbox (txid, id);
COMMENT ON TABLE omnisync.outbox IS
    'Rows changed by local transactions (1 stock, 2 cart_items, 3 orders, 4 order_lines, 5 returns). Pruned once every configured site has received them.';

-- Where each source site's outbox has been delivered up to, in this (the target) database,
-- written in the same transaction as the changes it covers.
CREATE TABLE omnisync.cursors (
    source_site     text        NOT NULL PRIMARY KEY,
    done_snapshot   pg_snapshot NOT NULL,
    window_snapshot pg_snapshot,
    window_txid     xid8,
    window_id       bigint,
    delivered       bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE omnisync.cursors IS
    'Per source site: every outbox record visible in done_snapshot is applied here; so are those visible in window_snapshot up to (window_txid, window_id).';

-- What every target has received of this (the source) database's outbox, written by every
-- daemon that delivers from here, so that no daemon prunes what another one's sites still need.
CREATE TABLE omnisync.delivery_acks (
    target_site text        NOT NULL PRIMARY KEY,
    done_xmin   xid8        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE omnisync.delivery_acks IS
    'Per target site: every outbox record with txid < done_xmin has been applied there. The outbox is pruned below the least of them.';

CREATE TABLE omnisync.conflicts (
    seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('over_return', 'oversell', 'concurrent_count', 'duplicate_key')),
    site        text        NOT NULL,
    table_name  text        NOT NULL,
    row_key     jsonb       NOT NULL,
    detail      jsonb       NOT NULL,
    detected_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);
CREATE UNIQUE INDEX conflicts_open_once ON omnisync.conflicts (id) WHERE resolved_at IS NULL;
COMMENT ON TABLE omnisync.conflicts IS
    'Conflicts detected while merging into this site. id is the same at every site for the same conflict.';

-- Capture -------------------------------------------------------------------------------

CREATE FUNCTION omnisync.is_applying() RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(current_setting('omnisync.applying', true), '') = 'on' $$;
COMMENT ON FUNCTION omnisync.is_applying() IS
    'True in the daemon''s sessions: their writes are merged states, not new local changes.';

CREATE FUNCTION omnisync.require_site() RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    me text := omnisync.local_site();
BEGIN
    IF me IS NULL THEN
        RAISE EXCEPTION 'omnisync: this database has no site name recorded'
            USING HINT = 'Run omnisync migrate for this site.';
    END IF;
    RETURN me;
END
$$;

-- A counter row whose contributions add up beyond bigint shows the saturated value (the merge
-- never wraps). A delta written against that shown value would no longer match the metadata, so
-- it is refused; a physical count (stock) or a delete (cart) resets the row. Checked only when a
-- value is near the limits, to keep ordinary writes cheap.
CREATE FUNCTION omnisync.require_representable(kind text, shown bigint, total numeric) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF total IS DISTINCT FROM shown::numeric THEN
        RAISE EXCEPTION '% is beyond the bigint range after merging (% in total); a change by delta cannot apply', kind, total
            USING ERRCODE = 'numeric_value_out_of_range',
                  HINT = 'Reset the row: SELECT retail.record_count(sku, location, counted) for stock, DELETE for a cart item.';
    END IF;
END
$$;

CREATE FUNCTION omnisync.array_total(amounts bigint[]) RETURNS numeric
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT coalesce(sum(v), 0) FROM unnest(amounts) AS v $$;

CREATE FUNCTION omnisync.capture_stock() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    me      text;
    d_on    bigint;
    d_res   bigint;
    st      omnisync.stock_state;
    i       int;
BEGIN
    IF omnisync.is_applying() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'rows of retail.stock are never deleted'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Record a physical count instead: SELECT retail.record_count(sku, location, 0).';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.sku IS DISTINCT FROM OLD.sku OR NEW.location IS DISTINCT FROM OLD.location THEN
            RAISE EXCEPTION 'the key (sku, location) of a retail.stock row cannot change'
                USING ERRCODE = 'feature_not_supported';
        END IF;
        d_on := NEW.on_hand - OLD.on_hand;
        d_res := NEW.reserved - OLD.reserved;
        IF d_on = 0 AND d_res = 0 THEN
            RETURN NULL;
        END IF;
    ELSE
        d_on := NEW.on_hand;
        d_res := NEW.reserved;
    END IF;
    me := omnisync.require_site();
    SELECT * INTO st FROM omnisync.stock_state
        WHERE sku = NEW.sku AND location = NEW.location FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO omnisync.stock_state (sku, location, sites, versions, on_hand_contrib, reserved_contrib)
            VALUES (NEW.sku, NEW.location, ARRAY[me], ARRAY[1::bigint], ARRAY[d_on], ARRAY[d_res]);
    ELSE
        i := array_position(st.sites, me);
        IF i IS NULL THEN
            UPDATE omnisync.stock_state
               SET sites = sites || me,
                   versions = versions || 1::bigint,
                   on_hand_contrib = on_hand_contrib || d_on,
                   reserved_contrib = reserved_contrib || d_res
             WHERE sku = NEW.sku AND location = NEW.location;
        ELSE
            UPDATE omnisync.stock_state
               SET versions[i] = versions[i] + 1,
                   on_hand_contrib[i] = on_hand_contrib[i] + d_on,
                   reserved_contrib[i] = reserved_contrib[i] + d_res
             WHERE sku = NEW.sku AND location = NEW.location;
        END IF;
    END IF;
    IF greatest(abs(NEW.on_hand::numeric), abs(NEW.reserved::numeric),
                abs(coalesce(OLD.on_hand, 0)::numeric), abs(coalesce(OLD.reserved, 0)::numeric)) >= 4611686018427387904 THEN
        SELECT * INTO st FROM omnisync.stock_state WHERE sku = NEW.sku AND location = NEW.location;
        PERFORM omnisync.require_representable('on_hand', NEW.on_hand,
            coalesce(st.count_base, 0) + omnisync.array_total(st.on_hand_contrib) - omnisync.array_total(st.count_observed));
        PERFORM omnisync.require_representable('reserved', NEW.reserved, omnisync.array_total(st.reserved_contrib));
    END IF;
    INSERT INTO omnisync.outbox (table_id, k1, k2) VALUES (1, NEW.sku, NEW.location);
    RETURN NULL;
END
$$;

CREATE FUNCTION omnisync.capture_cart_item() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    me    text;
    delta bigint;
    k_cart text;
    k_sku  text;
    st    omnisync.cart_state;
    found_state boolean;
    s_sites text[];
    s_versions bigint[];
    s_quantity bigint[];
    i     int;
    stamp bigint;
BEGIN
    IF omnisync.is_applying() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.cart_id IS DISTINCT FROM OLD.cart_id OR NEW.sku IS DISTINCT FROM OLD.sku) THEN
        RAISE EXCEPTION 'the key (cart_id, sku) of a retail.cart_items row cannot change'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Delete the item and insert a new one.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        k_cart := OLD.cart_id; k_sku := OLD.sku; delta := 0;
    ELSE
        k_cart := NEW.cart_id; k_sku := NEW.sku;
        delta := NEW.quantity - CASE WHEN TG_OP = 'UPDATE' THEN OLD.quantity ELSE 0 END;
        IF TG_OP = 'UPDATE' AND delta = 0 THEN
            RETURN NULL;
        END IF;
    END IF;
    me := omnisync.require_site();
    SELECT * INTO st FROM omnisync.cart_state WHERE cart_id = k_cart AND sku = k_sku FOR UPDATE;
    found_state := FOUND;
    s_sites := coalesce(st.sites, '{}');
    s_versions := coalesce(st.versions, '{}');
    s_quantity := coalesce(st.quantity_contrib, '{}');
    i := array_position(s_sites, me);
    IF i IS NULL THEN
        s_sites := s_sites || me;
        s_versions := s_versions || 0::bigint;
        s_quantity := s_quantity || 0::bigint;
        i := cardinality(s_sites);
    END IF;
    s_versions[i] := s_versions[i] + 1;
    s_quantity[i] := s_quantity[i] + delta;
    IF TG_OP = 'DELETE' THEN
        -- A delete resets the quantity to 0 as of everything this site had seen.
        stamp := greatest(omnisync.wall_clock_us(), coalesce(st.max_hlc, 0) + 1);
        IF found_state THEN
            UPDATE omnisync.cart_state
               SET sites = s_sites, versions = s_versions, quantity_contrib = s_quantity,
                   max_hlc = stamp, delete_hlc = stamp, delete_site = me,
                   delete_sites = s_sites, delete_versions = s_versions, delete_observed = s_quantity
             WHERE cart_id = k_cart AND sku = k_sku;
        ELSE
            INSERT INTO omnisync.cart_state (cart_id, sku, sites, versions, quantity_contrib, max_hlc,
                                             delete_hlc, delete_site, delete_sites, delete_versions, delete_observed)
                VALUES (k_cart, k_sku, s_sites, s_versions, s_quantity, stamp,
                        stamp, me, s_sites, s_versions, s_quantity);
        END IF;
    ELSIF found_state THEN
        IF greatest(abs(NEW.quantity::numeric), abs(coalesce(OLD.quantity, 0)::numeric)) >= 4611686018427387904 THEN
            PERFORM omnisync.require_representable('quantity', NEW.quantity,
                omnisync.array_total(s_quantity) - omnisync.array_total(st.delete_observed));
        END IF;
        UPDATE omnisync.cart_state
           SET sites = s_sites, versions = s_versions, quantity_contrib = s_quantity
         WHERE cart_id = k_cart AND sku = k_sku;
    ELSE
        INSERT INTO omnisync.cart_state (cart_id, sku, sites, versions, quantity_contrib)
            VALUES (k_cart, k_sku, s_sites, s_versions, s_quantity);
    END IF;
    INSERT INTO omnisync.outbox (table_id, k1, k2) VALUES (2, k_cart, k_sku);
    RETURN NULL;
END
$$;

CREATE FUNCTION omnisync.capture_record() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    me    text;
    stamp bigint;
BEGIN
    IF omnisync.is_applying() THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'rows of retail.% are immutable', TG_TABLE_NAME
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Record a correction as a new row (for example a return).';
    END IF;
    me := omnisync.require_site();
    stamp := omnisync.wall_clock_us();
    IF TG_TABLE_NAME = 'orders' THEN
        INSERT INTO omnisync.order_state (order_id, origin, hlc) VALUES (NEW.order_id, me, stamp)
            ON CONFLICT (order_id) DO UPDATE SET origin = excluded.origin, hlc = excluded.hlc;
        INSERT INTO omnisync.outbox (table_id, k1) VALUES (3, NEW.order_id);
    ELSIF TG_TABLE_NAME = 'order_lines' THEN
        INSERT INTO omnisync.order_line_state (order_id, line_no, origin, hlc)
            VALUES (NEW.order_id, NEW.line_no, me, stamp)
            ON CONFLICT (order_id, line_no) DO UPDATE SET origin = excluded.origin, hlc = excluded.hlc;
        INSERT INTO omnisync.outbox (table_id, k1, k2) VALUES (4, NEW.order_id, NEW.line_no::text);
    ELSE
        INSERT INTO omnisync.return_state (return_id, origin, hlc) VALUES (NEW.return_id, me, stamp)
            ON CONFLICT (return_id) DO UPDATE SET origin = excluded.origin, hlc = excluded.hlc;
        INSERT INTO omnisync.outbox (table_id, k1) VALUES (5, NEW.return_id);
    END IF;
    RETURN NULL;
END
$$;

-- One wake-up per statement: notifications only say "look now", the outbox is the record.
CREATE FUNCTION omnisync.notify_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT omnisync.is_applying() THEN
        PERFORM pg_notify('omnisync', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION omnisync.refuse_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT omnisync.is_applying() THEN
        RAISE EXCEPTION 'retail.% cannot be truncated: the change would not reach other sites', TG_TABLE_NAME
            USING ERRCODE = 'feature_not_supported';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON retail.stock
    FOR EACH ROW EXECUTE FUNCTION omnisync.capture_stock();
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON retail.cart_items
    FOR EACH ROW EXECUTE FUNCTION omnisync.capture_cart_item();
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON retail.orders
    FOR EACH ROW EXECUTE FUNCTION omnisync.capture_record();
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON retail.order_lines
    FOR EACH ROW EXECUTE FUNCTION omnisync.capture_record();
CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON retail.returns
    FOR EACH ROW EXECUTE FUNCTION omnisync.capture_record();

CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON retail.stock
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.notify_change();
CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON retail.cart_items
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.notify_change();
CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON retail.orders
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.notify_change();
CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON retail.order_lines
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.notify_change();
CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON retail.returns
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.notify_change();

CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON retail.stock
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.refuse_truncate();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON retail.cart_items
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.refuse_truncate();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON retail.orders
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.refuse_truncate();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON retail.order_lines
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.refuse_truncate();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON retail.returns
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.refuse_truncate();

-- Physical counts ----------------------------------------------------------------------

CREATE FUNCTION retail.record_count(sku text, location text, counted bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p_sku      text := sku;
    p_location text := location;
    me         text;
    st         omnisync.stock_state;
    s_sites    text[];
    s_versions bigint[];
    s_on_hand  bigint[];
    s_reserved bigint[];
    i          int;
    stamp      bigint;
    previous   text;
BEGIN
    IF p_sku IS NULL OR p_location IS NULL OR counted IS NULL THEN
        RAISE EXCEPTION 'retail.record_count needs a sku, a location and a counted quantity'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    me := omnisync.require_site();
    -- The count writes the visible row itself; that write is not a sale.
    previous := current_setting('omnisync.applying', true);
    PERFORM set_config('omnisync.applying', 'on', true);
    INSERT INTO retail.stock AS s (sku, location, on_hand, reserved)
        VALUES (p_sku, p_location, 0, 0) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM retail.stock AS s WHERE s.sku = p_sku AND s.location = p_location FOR UPDATE;
    SELECT * INTO st FROM omnisync.stock_state AS t
        WHERE t.sku = p_sku AND t.location = p_location FOR UPDATE;
    s_sites := coalesce(st.sites, '{}');
    s_versions := coalesce(st.versions, '{}');
    s_on_hand := coalesce(st.on_hand_contrib, '{}');
    s_reserved := coalesce(st.reserved_contrib, '{}');
    i := array_position(s_sites, me);
    IF i IS NULL THEN
        s_sites := s_sites || me;
        s_versions := s_versions || 0::bigint;
        s_on_hand := s_on_hand || 0::bigint;
        s_reserved := s_reserved || 0::bigint;
        i := cardinality(s_sites);
    END IF;
    s_versions[i] := s_versions[i] + 1;
    stamp := greatest(omnisync.wall_clock_us(), coalesce(st.max_hlc, 0) + 1);
    INSERT INTO omnisync.stock_state AS t (sku, location, sites, versions, on_hand_contrib, reserved_contrib, max_hlc,
                                           count_hlc, count_site, count_base, count_sites, count_versions, count_observed)
        VALUES (p_sku, p_location, s_sites, s_versions, s_on_hand, s_reserved, stamp,
                stamp, me, counted, s_sites, s_versions, s_on_hand)
        ON CONFLICT ON CONSTRAINT stock_state_pkey DO UPDATE
           SET sites = excluded.sites, versions = excluded.versions,
               on_hand_contrib = excluded.on_hand_contrib, reserved_contrib = excluded.reserved_contrib,
               max_hlc = excluded.max_hlc, count_hlc = excluded.count_hlc, count_site = excluded.count_site,
               count_base = excluded.count_base, count_sites = excluded.count_sites,
               count_versions = excluded.count_versions, count_observed = excluded.count_observed;
    UPDATE retail.stock AS s SET on_hand = counted WHERE s.sku = p_sku AND s.location = p_location;
    PERFORM set_config('omnisync.applying', coalesce(previous, ''), true);
    INSERT INTO omnisync.outbox (table_id, k1, k2) VALUES (1, p_sku, p_location);
    PERFORM pg_notify('omnisync', '');
END
$$;
COMMENT ON FUNCTION retail.record_count(text, text, bigint) IS
    'A physical stock count: sets on_hand to counted as of everything this site had seen; sales elsewhere that the count could not have seen still apply on top.';
