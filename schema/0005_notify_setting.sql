-- omnisync schema, migration 0005: transactions that send no notification (two-phase commit).
-- Forward-only: never edit a released migration; add the next number instead.
--
-- PostgreSQL refuses to PREPARE TRANSACTION a transaction that sent a notification, and capture
-- notifies inside the application's transaction. A session or transaction that sets
-- omnisync.notify to off (SET omnisync.notify = off, or SET LOCAL in the transaction) sends none:
-- its changes still go to the outbox like any other and are delivered at the site's next wake-up
-- (another transaction's notification, or the daemon's safety poll). The notification only says
-- "look now"; the outbox is the record, so nothing depends on it but promptness.
--
-- Accepted as off, case-insensitive and ignoring surrounding spaces: off, false, no, 0 (the
-- spellings of a false boolean). Anything else, and the setting unset or empty, notifies: a
-- misspelt value makes PREPARE TRANSACTION fail loudly rather than delay changes quietly.

CREATE FUNCTION omnisync.notify_wanted() RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT lower(btrim(coalesce(current_setting('omnisync.notify', true), ''))) NOT IN ('off', 'false', 'no', '0') $$;
COMMENT ON FUNCTION omnisync.notify_wanted() IS
    'False when the session or transaction set omnisync.notify to off (or false, no, 0): capture then sends no notification, so the transaction can be prepared.';

-- One wake-up per statement, unless the application asked for none.
CREATE OR REPLACE FUNCTION omnisync.notify_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT omnisync.is_applying() AND omnisync.notify_wanted() THEN
        PERFORM pg_notify('omnisync', '');
    END IF;
    RETURN NULL;
END
$$;

-- Physical counts: as in 0003, with the same rule for the notification.
CREATE OR REPLACE FUNCTION retail.record_count(sku text, location text, counted bigint) RETURNS void
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
    IF omnisync.notify_wanted() THEN
        PERFORM pg_notify('omnisync', '');
    END IF;
END
$$;
