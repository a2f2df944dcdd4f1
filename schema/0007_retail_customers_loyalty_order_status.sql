-- omnisync schema, migration 0007: customers, loyalty points and click-and-collect status (CONTRACT §7).
-- Forward-only: never edit a released migration; add the next number instead.
--
-- Generated from the built-in specs (Sources/Catalog/BuiltInTables.swift) by CaptureDDL:
-- each table, its state table, its capture trigger and, for loyalty points, its count
-- function, reached through omnisync.record_count. Do not edit; a test compares this file
-- with what the generator writes (OMNISYNC_UPDATE_SCHEMA=1 swift test rewrites it, then
-- scripts/embed-schema.sh).

CREATE TABLE "retail"."customers" (
    "customer_id" text NOT NULL,
    "name" text,
    "email" text,
    "phone" text,
    "language" text,
    "home_location" text,
    PRIMARY KEY ("customer_id")
);
COMMENT ON TABLE "retail"."customers" IS 'Customers, known in every channel. Each column: the last write wins. Never deleted.';

CREATE TABLE "omnisync"."state:retail.customers" (
    "customer_id" text NOT NULL,
    "state_format" bigint NOT NULL,
    "sites" text[] NOT NULL,
    "versions" bigint[] NOT NULL,
    "max_hlc" bigint NOT NULL,
    "deleted_hlc" bigint,
    "deleted_site" text,
    "deleted_sites" text[],
    "deleted_versions" bigint[],
    "name$value" text,
    "name$hlc" bigint,
    "name$site" text,
    "email$value" text,
    "email$hlc" bigint,
    "email$site" text,
    "phone$value" text,
    "phone$hlc" bigint,
    "phone$site" text,
    "language$value" text,
    "language$hlc" bigint,
    "language$site" text,
    "home_location$value" text,
    "home_location$hlc" bigint,
    "home_location$site" text,
    PRIMARY KEY ("customer_id")
);
-- Every write updates its state row in place; free space on the page keeps those updates HOT.
ALTER TABLE "omnisync"."state:retail.customers" SET (fillfactor = 50);
COMMENT ON TABLE "omnisync"."state:retail.customers" IS 'Replicated state of retail.customers rows (state format 1), written by its capture trigger and by omnisync.';

CREATE FUNCTION "omnisync"."capture:retail.customers"() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $capture$
DECLARE
    me text;
    st "omnisync"."state:retail.customers";
    found_state boolean;
    i int;
    stamp bigint;
    stamped boolean := false;
    k_1 text;
    w_0 boolean := false;
    w_1 boolean := false;
    w_2 boolean := false;
    w_3 boolean := false;
    w_4 boolean := false;
BEGIN
    IF omnisync.is_applying() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'rows of % are never deleted', 'retail.customers'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW."customer_id" IS DISTINCT FROM OLD."customer_id") THEN
        RAISE EXCEPTION 'the key (%) of a % row cannot change', 'customer_id', 'retail.customers'
            USING ERRCODE = 'feature_not_supported', HINT = 'Delete the row and insert a new one.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        k_1 := OLD."customer_id";
    ELSE
        k_1 := NEW."customer_id";
    END IF;
    me := omnisync.require_site();
    SELECT * INTO st FROM "omnisync"."state:retail.customers" AS s WHERE s."customer_id" = k_1 FOR UPDATE;
    found_state := FOUND;
    IF NOT found_state THEN
        st.state_format := 1;
        st.sites := '{}';
        st.versions := '{}';
        st.max_hlc := 0;
    ELSIF st.state_format IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'the sync state of this % row has format %; this capture writes format 1', 'retail.customers', st.state_format
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Run omnisync migrate for this site.';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        w_0 := TG_OP = 'INSERT' OR NEW."name"::text IS DISTINCT FROM st."name$value";
        w_1 := TG_OP = 'INSERT' OR NEW."email"::text IS DISTINCT FROM st."email$value";
        w_2 := TG_OP = 'INSERT' OR NEW."phone"::text IS DISTINCT FROM st."phone$value";
        w_3 := TG_OP = 'INSERT' OR NEW."language"::text IS DISTINCT FROM st."language$value";
        w_4 := TG_OP = 'INSERT' OR NEW."home_location"::text IS DISTINCT FROM st."home_location$value";
        IF TG_OP = 'UPDATE' AND NOT (w_0 OR w_1 OR w_2 OR w_3 OR w_4) THEN
            RETURN NULL;
        END IF;
    END IF;
    i := array_position(st.sites, me);
    IF i IS NULL THEN
        st.sites := st.sites || me;
        st.versions := st.versions || 0::bigint;
        i := cardinality(st.sites);
    END IF;
    st.versions[i] := st.versions[i] + 1;
    stamp := greatest(omnisync.wall_clock_us(), st.max_hlc + 1);
    IF w_0 THEN
        st."name$value" := NEW."name"::text;
        st."name$hlc" := stamp;
        st."name$site" := me;
        stamped := true;
    END IF;
    IF w_1 THEN
        st."email$value" := NEW."email"::text;
        st."email$hlc" := stamp;
        st."email$site" := me;
        stamped := true;
    END IF;
    IF w_2 THEN
        st."phone$value" := NEW."phone"::text;
        st."phone$hlc" := stamp;
        st."phone$site" := me;
        stamped := true;
    END IF;
    IF w_3 THEN
        st."language$value" := NEW."language"::text;
        st."language$hlc" := stamp;
        st."language$site" := me;
        stamped := true;
    END IF;
    IF w_4 THEN
        st."home_location$value" := NEW."home_location"::text;
        st."home_location$hlc" := stamp;
        st."home_location$site" := me;
        stamped := true;
    END IF;
    IF stamped THEN
        st.max_hlc := stamp;
    END IF;
    IF found_state THEN
        UPDATE "omnisync"."state:retail.customers" AS s SET "state_format" = st."state_format", "sites" = st."sites", "versions" = st."versions", "max_hlc" = st."max_hlc", "deleted_hlc" = st."deleted_hlc", "deleted_site" = st."deleted_site", "deleted_sites" = st."deleted_sites", "deleted_versions" = st."deleted_versions", "name$value" = st."name$value", "name$hlc" = st."name$hlc", "name$site" = st."name$site", "email$value" = st."email$value", "email$hlc" = st."email$hlc", "email$site" = st."email$site", "phone$value" = st."phone$value", "phone$hlc" = st."phone$hlc", "phone$site" = st."phone$site", "language$value" = st."language$value", "language$hlc" = st."language$hlc", "language$site" = st."language$site", "home_location$value" = st."home_location$value", "home_location$hlc" = st."home_location$hlc", "home_location$site" = st."home_location$site"
         WHERE s."customer_id" = k_1;
    ELSE
        INSERT INTO "omnisync"."state:retail.customers" ("customer_id", "state_format", "sites", "versions", "max_hlc", "deleted_hlc", "deleted_site", "deleted_sites", "deleted_versions", "name$value", "name$hlc", "name$site", "email$value", "email$hlc", "email$site", "phone$value", "phone$hlc", "phone$site", "language$value", "language$hlc", "language$site", "home_location$value", "home_location$hlc", "home_location$site")
            VALUES (k_1, st."state_format", st."sites", st."versions", st."max_hlc", st."deleted_hlc", st."deleted_site", st."deleted_sites", st."deleted_versions", st."name$value", st."name$hlc", st."name$site", st."email$value", st."email$hlc", st."email$site", st."phone$value", st."phone$hlc", st."phone$site", st."language$value", st."language$hlc", st."language$site", st."home_location$value", st."home_location$hlc", st."home_location$site");
    END IF;
    INSERT INTO omnisync.outbox (table_id, k1, k2, row_key)
        VALUES (6, k_1::text, NULL, ARRAY[k_1::text]);
    RETURN NULL;
END
$capture$;
COMMENT ON FUNCTION "omnisync"."capture:retail.customers"() IS 'Captures local changes of retail.customers into its sync state and the outbox (generated).';

CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON "retail"."customers"
    FOR EACH ROW EXECUTE FUNCTION "omnisync"."capture:retail.customers"();
CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON "retail"."customers"
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.notify_change();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON "retail"."customers"
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.refuse_truncate();

CREATE TABLE "retail"."loyalty" (
    "customer_id" text NOT NULL,
    "points" bigint NOT NULL DEFAULT 0,
    PRIMARY KEY ("customer_id")
);
COMMENT ON TABLE "retail"."loyalty" IS 'Loyalty points per customer: earned and redeemed in any channel, they add up; a count resets them (omnisync.record_count). Below zero after a merge: an over_redeem conflict. Never deleted.';

CREATE TABLE "omnisync"."state:retail.loyalty" (
    "customer_id" text NOT NULL,
    "state_format" bigint NOT NULL,
    "sites" text[] NOT NULL,
    "versions" bigint[] NOT NULL,
    "max_hlc" bigint NOT NULL,
    "deleted_hlc" bigint,
    "deleted_site" text,
    "deleted_sites" text[],
    "deleted_versions" bigint[],
    "points$contrib" bigint[],
    "points$reset_hlc" bigint,
    "points$reset_site" text,
    "points$reset_base" bigint,
    "points$reset_sites" text[],
    "points$reset_versions" bigint[],
    "points$reset_observed" bigint[],
    PRIMARY KEY ("customer_id")
);
-- Every write updates its state row in place; free space on the page keeps those updates HOT.
ALTER TABLE "omnisync"."state:retail.loyalty" SET (fillfactor = 50);
COMMENT ON TABLE "omnisync"."state:retail.loyalty" IS 'Replicated state of retail.loyalty rows (state format 1), written by its capture trigger and by omnisync.';

CREATE FUNCTION "omnisync"."capture:retail.loyalty"() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $capture$
DECLARE
    me text;
    st "omnisync"."state:retail.loyalty";
    found_state boolean;
    i int;
    stamp bigint;
    stamped boolean := false;
    k_1 text;
    w_0 boolean := false;
    d_0 bigint;
BEGIN
    IF omnisync.is_applying() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'rows of % are never deleted', 'retail.loyalty'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW."customer_id" IS DISTINCT FROM OLD."customer_id") THEN
        RAISE EXCEPTION 'the key (%) of a % row cannot change', 'customer_id', 'retail.loyalty'
            USING ERRCODE = 'feature_not_supported', HINT = 'Delete the row and insert a new one.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        k_1 := OLD."customer_id";
    ELSE
        k_1 := NEW."customer_id";
    END IF;
    me := omnisync.require_site();
    SELECT * INTO st FROM "omnisync"."state:retail.loyalty" AS s WHERE s."customer_id" = k_1 FOR UPDATE;
    found_state := FOUND;
    IF NOT found_state THEN
        st.state_format := 1;
        st.sites := '{}';
        st.versions := '{}';
        st.max_hlc := 0;
        st."points$contrib" := '{}';
    ELSIF st.state_format IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'the sync state of this % row has format %; this capture writes format 1', 'retail.loyalty', st.state_format
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Run omnisync migrate for this site.';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        d_0 := coalesce(NEW."points", 0) - CASE WHEN TG_OP = 'UPDATE' THEN coalesce(OLD."points", 0) ELSE 0 END;
        w_0 := d_0 <> 0;
        IF TG_OP = 'UPDATE' AND NOT (w_0) THEN
            RETURN NULL;
        END IF;
    END IF;
    i := array_position(st.sites, me);
    IF i IS NULL THEN
        st.sites := st.sites || me;
        st.versions := st.versions || 0::bigint;
        st."points$contrib" := st."points$contrib" || 0::bigint;
        i := cardinality(st.sites);
    END IF;
    st.versions[i] := st.versions[i] + 1;
    stamp := greatest(omnisync.wall_clock_us(), st.max_hlc + 1);
    IF w_0 THEN
        st."points$contrib"[i] := st."points$contrib"[i] + d_0;
    END IF;
    IF stamped THEN
        st.max_hlc := stamp;
    END IF;
    IF found_state THEN
        UPDATE "omnisync"."state:retail.loyalty" AS s SET "state_format" = st."state_format", "sites" = st."sites", "versions" = st."versions", "max_hlc" = st."max_hlc", "deleted_hlc" = st."deleted_hlc", "deleted_site" = st."deleted_site", "deleted_sites" = st."deleted_sites", "deleted_versions" = st."deleted_versions", "points$contrib" = st."points$contrib", "points$reset_hlc" = st."points$reset_hlc", "points$reset_site" = st."points$reset_site", "points$reset_base" = st."points$reset_base", "points$reset_sites" = st."points$reset_sites", "points$reset_versions" = st."points$reset_versions", "points$reset_observed" = st."points$reset_observed"
         WHERE s."customer_id" = k_1;
    ELSE
        INSERT INTO "omnisync"."state:retail.loyalty" ("customer_id", "state_format", "sites", "versions", "max_hlc", "deleted_hlc", "deleted_site", "deleted_sites", "deleted_versions", "points$contrib", "points$reset_hlc", "points$reset_site", "points$reset_base", "points$reset_sites", "points$reset_versions", "points$reset_observed")
            VALUES (k_1, st."state_format", st."sites", st."versions", st."max_hlc", st."deleted_hlc", st."deleted_site", st."deleted_sites", st."deleted_versions", st."points$contrib", st."points$reset_hlc", st."points$reset_site", st."points$reset_base", st."points$reset_sites", st."points$reset_versions", st."points$reset_observed");
    END IF;
    INSERT INTO omnisync.outbox (table_id, k1, k2, row_key)
        VALUES (7, k_1::text, NULL, ARRAY[k_1::text]);
    RETURN NULL;
END
$capture$;
COMMENT ON FUNCTION "omnisync"."capture:retail.loyalty"() IS 'Captures local changes of retail.loyalty into its sync state and the outbox (generated).';

CREATE FUNCTION "omnisync"."count:retail.loyalty"(row_key text[], column_name text, counted numeric) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $count$
DECLARE
    me text;
    st "omnisync"."state:retail.loyalty";
    i int;
    stamp bigint;
    previous text;
    units numeric;
    k_1 text;
BEGIN
    IF row_key IS NULL OR cardinality(row_key) <> 1 OR array_position(row_key, NULL) IS NOT NULL
       OR column_name IS NULL OR counted IS NULL THEN
        RAISE EXCEPTION 'a count of % needs its % key values (%) as text, a counter column and the counted quantity', 'retail.loyalty', 1, 'customer_id'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    k_1 := row_key[1]::text;
    IF column_name NOT IN ('points') THEN
        RAISE EXCEPTION '% is not a counter column of % (counters: %)', column_name, 'retail.loyalty', 'points'
            USING ERRCODE = 'undefined_column';
    END IF;
    me := omnisync.require_site();
    PERFORM 1 FROM "retail"."loyalty" AS r WHERE r."customer_id" = k_1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no % row has the key (%)', 'retail.loyalty', array_to_string(row_key, ', ')
            USING ERRCODE = 'no_data_found', HINT = 'Insert the row first; a count resets an existing row.';
    END IF;
    SELECT * INTO st FROM "omnisync"."state:retail.loyalty" AS s WHERE s."customer_id" = k_1 FOR UPDATE;
    IF NOT FOUND OR st.state_format IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'this % row has no sync state of format 1', 'retail.loyalty'
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Run omnisync migrate for this site.';
    END IF;
    i := array_position(st.sites, me);
    IF i IS NULL THEN
        st.sites := st.sites || me;
        st.versions := st.versions || 0::bigint;
        st."points$contrib" := st."points$contrib" || 0::bigint;
        i := cardinality(st.sites);
    END IF;
    st.versions[i] := st.versions[i] + 1;
    stamp := greatest(omnisync.wall_clock_us(), st.max_hlc + 1);
    IF column_name = 'points' THEN
        units := counted;
        IF units <> trunc(units) THEN
            RAISE EXCEPTION 'a count of % is a whole number, not %', 'points', counted
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        st."points$reset_hlc" := stamp;
        st."points$reset_site" := me;
        st."points$reset_base" := units;
        st."points$reset_sites" := st.sites;
        st."points$reset_versions" := st.versions;
        st."points$reset_observed" := st."points$contrib";
    END IF;
    st.max_hlc := stamp;
    UPDATE "omnisync"."state:retail.loyalty" AS s SET "state_format" = st."state_format", "sites" = st."sites", "versions" = st."versions", "max_hlc" = st."max_hlc", "deleted_hlc" = st."deleted_hlc", "deleted_site" = st."deleted_site", "deleted_sites" = st."deleted_sites", "deleted_versions" = st."deleted_versions", "points$contrib" = st."points$contrib", "points$reset_hlc" = st."points$reset_hlc", "points$reset_site" = st."points$reset_site", "points$reset_base" = st."points$reset_base", "points$reset_sites" = st."points$reset_sites", "points$reset_versions" = st."points$reset_versions", "points$reset_observed" = st."points$reset_observed"
     WHERE s."customer_id" = k_1;
    -- The count writes the visible value itself; that write is not a sale.
    previous := current_setting('omnisync.applying', true);
    PERFORM set_config('omnisync.applying', 'on', true);
    IF column_name = 'points' THEN
        UPDATE "retail"."loyalty" AS r SET "points" = counted WHERE r."customer_id" = k_1;
    END IF;
    PERFORM set_config('omnisync.applying', coalesce(previous, ''), true);
    INSERT INTO omnisync.outbox (table_id, k1, k2, row_key)
        VALUES (7, k_1::text, NULL, ARRAY[k_1::text]);
    IF omnisync.notify_wanted() THEN
        PERFORM pg_notify('omnisync', '');
    END IF;
END
$count$;
COMMENT ON FUNCTION "omnisync"."count:retail.loyalty"(text[], text, numeric) IS 'A physical count of one counter column of one retail.loyalty row (generated).';

CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON "retail"."loyalty"
    FOR EACH ROW EXECUTE FUNCTION "omnisync"."capture:retail.loyalty"();
CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON "retail"."loyalty"
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.notify_change();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON "retail"."loyalty"
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.refuse_truncate();

CREATE TABLE "retail"."order_status" (
    "order_id" text NOT NULL,
    "status" text NOT NULL,
    "location" text,
    PRIMARY KEY ("order_id")
);
COMMENT ON TABLE "retail"."order_status" IS 'Click and collect: where an order is to be collected, and its status, which only moves forward (placed, paid, ready, cancelled, collected); concurrent moves: a concurrent_status conflict. Never deleted.';

CREATE TABLE "omnisync"."state:retail.order_status" (
    "order_id" text NOT NULL,
    "state_format" bigint NOT NULL,
    "sites" text[] NOT NULL,
    "versions" bigint[] NOT NULL,
    "max_hlc" bigint NOT NULL,
    "deleted_hlc" bigint,
    "deleted_site" text,
    "deleted_sites" text[],
    "deleted_versions" bigint[],
    "status$value" text,
    "status$hlc" bigint,
    "status$site" text,
    "status$seen_sites" text[],
    "status$seen_versions" bigint[],
    "location$value" text,
    "location$hlc" bigint,
    "location$site" text,
    PRIMARY KEY ("order_id")
);
-- Every write updates its state row in place; free space on the page keeps those updates HOT.
ALTER TABLE "omnisync"."state:retail.order_status" SET (fillfactor = 50);
COMMENT ON TABLE "omnisync"."state:retail.order_status" IS 'Replicated state of retail.order_status rows (state format 1), written by its capture trigger and by omnisync.';

CREATE FUNCTION "omnisync"."capture:retail.order_status"() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $capture$
DECLARE
    me text;
    st "omnisync"."state:retail.order_status";
    found_state boolean;
    i int;
    stamp bigint;
    stamped boolean := false;
    k_1 text;
    w_0 boolean := false;
    r_0 int;
    w_1 boolean := false;
BEGIN
    IF omnisync.is_applying() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'rows of % are never deleted', 'retail.order_status'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW."order_id" IS DISTINCT FROM OLD."order_id") THEN
        RAISE EXCEPTION 'the key (%) of a % row cannot change', 'order_id', 'retail.order_status'
            USING ERRCODE = 'feature_not_supported', HINT = 'Delete the row and insert a new one.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        k_1 := OLD."order_id";
    ELSE
        k_1 := NEW."order_id";
    END IF;
    me := omnisync.require_site();
    SELECT * INTO st FROM "omnisync"."state:retail.order_status" AS s WHERE s."order_id" = k_1 FOR UPDATE;
    found_state := FOUND;
    IF NOT found_state THEN
        st.state_format := 1;
        st.sites := '{}';
        st.versions := '{}';
        st.max_hlc := 0;
    ELSIF st.state_format IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'the sync state of this % row has format %; this capture writes format 1', 'retail.order_status', st.state_format
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Run omnisync migrate for this site.';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        w_0 := NEW."status"::text IS DISTINCT FROM st."status$value";
        IF w_0 THEN
            IF NEW."status" IS NULL THEN
                RAISE EXCEPTION 'the status % of a % row cannot be set to NULL', 'status', 'retail.order_status'
                    USING ERRCODE = 'check_violation';
            END IF;
            r_0 := array_position(ARRAY['placed', 'paid', 'ready', 'cancelled', 'collected']::text[], NEW."status"::text);
            IF r_0 IS NULL THEN
                RAISE EXCEPTION '''%'' is not a status of %.% (%)', NEW."status", 'retail.order_status', 'status', 'placed, paid, ready, cancelled, collected'
                    USING ERRCODE = 'check_violation';
            END IF;
            IF st."status$value" IS NOT NULL AND r_0 < array_position(ARRAY['placed', 'paid', 'ready', 'cancelled', 'collected']::text[], st."status$value") THEN
                RAISE EXCEPTION 'status cannot go back from ''%'' to ''%''', st."status$value", NEW."status"
                    USING ERRCODE = 'check_violation', HINT = 'The order is placed, paid, ready, cancelled, collected.';
            END IF;
        END IF;
        w_1 := TG_OP = 'INSERT' OR NEW."location"::text IS DISTINCT FROM st."location$value";
        IF TG_OP = 'UPDATE' AND NOT (w_0 OR w_1) THEN
            RETURN NULL;
        END IF;
    END IF;
    i := array_position(st.sites, me);
    IF i IS NULL THEN
        st.sites := st.sites || me;
        st.versions := st.versions || 0::bigint;
        i := cardinality(st.sites);
    END IF;
    st.versions[i] := st.versions[i] + 1;
    stamp := greatest(omnisync.wall_clock_us(), st.max_hlc + 1);
    IF w_0 THEN
        st."status$value" := NEW."status"::text;
        st."status$hlc" := stamp;
        st."status$site" := me;
        st."status$seen_sites" := st.sites;
        st."status$seen_versions" := st.versions;
        stamped := true;
    END IF;
    IF w_1 THEN
        st."location$value" := NEW."location"::text;
        st."location$hlc" := stamp;
        st."location$site" := me;
        stamped := true;
    END IF;
    IF stamped THEN
        st.max_hlc := stamp;
    END IF;
    IF found_state THEN
        UPDATE "omnisync"."state:retail.order_status" AS s SET "state_format" = st."state_format", "sites" = st."sites", "versions" = st."versions", "max_hlc" = st."max_hlc", "deleted_hlc" = st."deleted_hlc", "deleted_site" = st."deleted_site", "deleted_sites" = st."deleted_sites", "deleted_versions" = st."deleted_versions", "status$value" = st."status$value", "status$hlc" = st."status$hlc", "status$site" = st."status$site", "status$seen_sites" = st."status$seen_sites", "status$seen_versions" = st."status$seen_versions", "location$value" = st."location$value", "location$hlc" = st."location$hlc", "location$site" = st."location$site"
         WHERE s."order_id" = k_1;
    ELSE
        INSERT INTO "omnisync"."state:retail.order_status" ("order_id", "state_format", "sites", "versions", "max_hlc", "deleted_hlc", "deleted_site", "deleted_sites", "deleted_versions", "status$value", "status$hlc", "status$site", "status$seen_sites", "status$seen_versions", "location$value", "location$hlc", "location$site")
            VALUES (k_1, st."state_format", st."sites", st."versions", st."max_hlc", st."deleted_hlc", st."deleted_site", st."deleted_sites", st."deleted_versions", st."status$value", st."status$hlc", st."status$site", st."status$seen_sites", st."status$seen_versions", st."location$value", st."location$hlc", st."location$site");
    END IF;
    INSERT INTO omnisync.outbox (table_id, k1, k2, row_key)
        VALUES (8, k_1::text, NULL, ARRAY[k_1::text]);
    RETURN NULL;
END
$capture$;
COMMENT ON FUNCTION "omnisync"."capture:retail.order_status"() IS 'Captures local changes of retail.order_status into its sync state and the outbox (generated).';

CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON "retail"."order_status"
    FOR EACH ROW EXECUTE FUNCTION "omnisync"."capture:retail.order_status"();
CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON "retail"."order_status"
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.notify_change();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON "retail"."order_status"
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.refuse_truncate();

CREATE OR REPLACE FUNCTION omnisync.record_count(table_name text, row_key text[], column_name text, counted numeric) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $dispatch$
DECLARE
    target regclass := to_regclass(table_name);
BEGIN
    IF target IS NULL THEN
        RAISE EXCEPTION 'table % does not exist', table_name
            USING ERRCODE = 'undefined_table', HINT = 'Name the table with its schema: SCHEMA.NAME.';
    END IF;
    IF target = to_regclass('"retail"."loyalty"') THEN
        PERFORM "omnisync"."count:retail.loyalty"(row_key, column_name, counted);
    ELSE
        RAISE EXCEPTION '% is not a replicated table with counters', table_name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the table with its schema: SCHEMA.NAME.';
    END IF;
END
$dispatch$;
COMMENT ON FUNCTION omnisync.record_count(text, text[], text, numeric) IS 'A physical count: sets one counter column of one row to counted as of everything this site had seen (CONTRACT §6.3).';
