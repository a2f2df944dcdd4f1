CREATE TABLE "omnisync"."state:pos.inventory" (
    "item_id" integer NOT NULL,
    "store_id" text NOT NULL,
    "state_format" bigint NOT NULL,
    "sites" text[] NOT NULL,
    "versions" bigint[] NOT NULL,
    "max_hlc" bigint NOT NULL,
    "deleted_hlc" bigint,
    "deleted_site" text,
    "deleted_sites" text[],
    "deleted_versions" bigint[],
    "qty$contrib" bigint[],
    "qty$reset_hlc" bigint,
    "qty$reset_site" text,
    "qty$reset_base" bigint,
    "qty$reset_sites" text[],
    "qty$reset_versions" bigint[],
    "qty$reset_observed" bigint[],
    "kg$contrib" bigint[],
    "kg$reset_hlc" bigint,
    "kg$reset_site" text,
    "kg$reset_base" bigint,
    "kg$reset_sites" text[],
    "kg$reset_versions" bigint[],
    "kg$reset_observed" bigint[],
    "price$value" text,
    "price$hlc" bigint,
    "price$site" text,
    "lastSoldAt$value" text,
    "first_price$value" text,
    "status$value" text,
    "status$hlc" bigint,
    "status$site" text,
    "status$seen_sites" text[],
    "status$seen_versions" bigint[],
    PRIMARY KEY ("item_id", "store_id")
);
-- Every write updates its state row in place; free space on the page keeps those updates HOT.
ALTER TABLE "omnisync"."state:pos.inventory" SET (fillfactor = 50);
COMMENT ON TABLE "omnisync"."state:pos.inventory" IS 'Replicated state of pos.inventory rows (state format 1), written by its capture trigger and by omnisync.';

CREATE FUNCTION "omnisync"."capture:pos.inventory"() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $capture$
DECLARE
    me text;
    st "omnisync"."state:pos.inventory";
    found_state boolean;
    i int;
    stamp bigint;
    stamped boolean := false;
    k_1 integer;
    k_2 text;
    w_0 boolean := false;
    d_0 bigint;
    w_1 boolean := false;
    d_1 bigint;
    w_2 boolean := false;
    w_3 boolean := false;
    w_4 boolean := false;
    w_5 boolean := false;
    r_5 int;
BEGIN
    IF omnisync.is_applying() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW."item_id" IS DISTINCT FROM OLD."item_id" OR NEW."store_id" IS DISTINCT FROM OLD."store_id") THEN
        RAISE EXCEPTION 'the key (%) of a % row cannot change', 'item_id, store_id', 'pos.inventory'
            USING ERRCODE = 'feature_not_supported', HINT = 'Delete the row and insert a new one.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        k_1 := OLD."item_id";
        k_2 := OLD."store_id";
    ELSE
        k_1 := NEW."item_id";
        k_2 := NEW."store_id";
    END IF;
    me := omnisync.require_site();
    SELECT * INTO st FROM "omnisync"."state:pos.inventory" AS s WHERE s."item_id" = k_1 AND s."store_id" = k_2 FOR UPDATE;
    found_state := FOUND;
    IF NOT found_state THEN
        st.state_format := 1;
        st.sites := '{}';
        st.versions := '{}';
        st.max_hlc := 0;
        st."qty$contrib" := '{}';
        st."kg$contrib" := '{}';
    ELSIF st.state_format IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'the sync state of this % row has format %; this capture writes format 1', 'pos.inventory', st.state_format
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Run omnisync migrate for this site.';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        d_0 := coalesce(NEW."qty", 0) - CASE WHEN TG_OP = 'UPDATE' THEN coalesce(OLD."qty", 0) ELSE 0 END;
        w_0 := d_0 <> 0;
        d_1 := ((coalesce(NEW."kg", 0) - CASE WHEN TG_OP = 'UPDATE' THEN coalesce(OLD."kg", 0) ELSE 0 END) * 1000)::bigint;
        w_1 := d_1 <> 0;
        w_2 := TG_OP = 'INSERT' OR NEW."price"::text IS DISTINCT FROM st."price$value";
        w_3 := to_char(NEW."lastSoldAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') IS DISTINCT FROM st."lastSoldAt$value";
        w_4 := NEW."first_price"::text IS DISTINCT FROM st."first_price$value";
        w_5 := NEW."status"::text IS DISTINCT FROM st."status$value";
        IF w_5 THEN
            IF NEW."status" IS NULL THEN
                RAISE EXCEPTION 'the status % of a % row cannot be set to NULL', 'status', 'pos.inventory'
                    USING ERRCODE = 'check_violation';
            END IF;
            r_5 := array_position(ARRAY['placed', 'paid', 'ready']::text[], NEW."status"::text);
            IF r_5 IS NULL THEN
                RAISE EXCEPTION '''%'' is not a status of %.% (%)', NEW."status", 'pos.inventory', 'status', 'placed, paid, ready'
                    USING ERRCODE = 'check_violation';
            END IF;
            IF st."status$value" IS NOT NULL AND r_5 < array_position(ARRAY['placed', 'paid', 'ready']::text[], st."status$value") THEN
                RAISE EXCEPTION 'status cannot go back from ''%'' to ''%''', st."status$value", NEW."status"
                    USING ERRCODE = 'check_violation', HINT = 'The order is placed, paid, ready.';
            END IF;
        END IF;
        IF TG_OP = 'UPDATE' AND NOT (w_0 OR w_1 OR w_2 OR w_3 OR w_4 OR w_5) THEN
            RETURN NULL;
        END IF;
    END IF;
    i := array_position(st.sites, me);
    IF i IS NULL THEN
        st.sites := st.sites || me;
        st.versions := st.versions || 0::bigint;
        st."qty$contrib" := st."qty$contrib" || 0::bigint;
        st."kg$contrib" := st."kg$contrib" || 0::bigint;
        i := cardinality(st.sites);
    END IF;
    st.versions[i] := st.versions[i] + 1;
    stamp := greatest(omnisync.wall_clock_us(), st.max_hlc + 1);
    IF TG_OP = 'DELETE' THEN
        st.deleted_hlc := stamp;
        st.deleted_site := me;
        st.deleted_sites := st.sites;
        st.deleted_versions := st.versions;
        st."qty$reset_hlc" := stamp;
        st."qty$reset_site" := me;
        st."qty$reset_base" := 0;
        st."qty$reset_sites" := st.sites;
        st."qty$reset_versions" := st.versions;
        st."qty$reset_observed" := st."qty$contrib";
        st."kg$reset_hlc" := stamp;
        st."kg$reset_site" := me;
        st."kg$reset_base" := 0;
        st."kg$reset_sites" := st.sites;
        st."kg$reset_versions" := st.versions;
        st."kg$reset_observed" := st."kg$contrib";
        st.max_hlc := stamp;
    ELSE
        IF w_0 THEN
            st."qty$contrib"[i] := st."qty$contrib"[i] + d_0;
        END IF;
        IF w_1 THEN
            st."kg$contrib"[i] := st."kg$contrib"[i] + d_1;
        END IF;
        IF w_2 THEN
            st."price$value" := NEW."price"::text;
            st."price$hlc" := stamp;
            st."price$site" := me;
            stamped := true;
        END IF;
        IF w_3 THEN
            st."lastSoldAt$value" := to_char(NEW."lastSoldAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
        END IF;
        IF w_4 THEN
            st."first_price$value" := NEW."first_price"::text;
        END IF;
        IF w_5 THEN
            st."status$value" := NEW."status"::text;
            st."status$hlc" := stamp;
            st."status$site" := me;
            st."status$seen_sites" := st.sites;
            st."status$seen_versions" := st.versions;
            stamped := true;
        END IF;
        IF stamped THEN
            st.max_hlc := stamp;
        END IF;
    END IF;
    IF found_state THEN
        UPDATE "omnisync"."state:pos.inventory" AS s SET "state_format" = st."state_format", "sites" = st."sites", "versions" = st."versions", "max_hlc" = st."max_hlc", "deleted_hlc" = st."deleted_hlc", "deleted_site" = st."deleted_site", "deleted_sites" = st."deleted_sites", "deleted_versions" = st."deleted_versions", "qty$contrib" = st."qty$contrib", "qty$reset_hlc" = st."qty$reset_hlc", "qty$reset_site" = st."qty$reset_site", "qty$reset_base" = st."qty$reset_base", "qty$reset_sites" = st."qty$reset_sites", "qty$reset_versions" = st."qty$reset_versions", "qty$reset_observed" = st."qty$reset_observed", "kg$contrib" = st."kg$contrib", "kg$reset_hlc" = st."kg$reset_hlc", "kg$reset_site" = st."kg$reset_site", "kg$reset_base" = st."kg$reset_base", "kg$reset_sites" = st."kg$reset_sites", "kg$reset_versions" = st."kg$reset_versions", "kg$reset_observed" = st."kg$reset_observed", "price$value" = st."price$value", "price$hlc" = st."price$hlc", "price$site" = st."price$site", "lastSoldAt$value" = st."lastSoldAt$value", "first_price$value" = st."first_price$value", "status$value" = st."status$value", "status$hlc" = st."status$hlc", "status$site" = st."status$site", "status$seen_sites" = st."status$seen_sites", "status$seen_versions" = st."status$seen_versions"
         WHERE s."item_id" = k_1 AND s."store_id" = k_2;
    ELSE
        INSERT INTO "omnisync"."state:pos.inventory" ("item_id", "store_id", "state_format", "sites", "versions", "max_hlc", "deleted_hlc", "deleted_site", "deleted_sites", "deleted_versions", "qty$contrib", "qty$reset_hlc", "qty$reset_site", "qty$reset_base", "qty$reset_sites", "qty$reset_versions", "qty$reset_observed", "kg$contrib", "kg$reset_hlc", "kg$reset_site", "kg$reset_base", "kg$reset_sites", "kg$reset_versions", "kg$reset_observed", "price$value", "price$hlc", "price$site", "lastSoldAt$value", "first_price$value", "status$value", "status$hlc", "status$site", "status$seen_sites", "status$seen_versions")
            VALUES (k_1, k_2, st."state_format", st."sites", st."versions", st."max_hlc", st."deleted_hlc", st."deleted_site", st."deleted_sites", st."deleted_versions", st."qty$contrib", st."qty$reset_hlc", st."qty$reset_site", st."qty$reset_base", st."qty$reset_sites", st."qty$reset_versions", st."qty$reset_observed", st."kg$contrib", st."kg$reset_hlc", st."kg$reset_site", st."kg$reset_base", st."kg$reset_sites", st."kg$reset_versions", st."kg$reset_observed", st."price$value", st."price$hlc", st."price$site", st."lastSoldAt$value", st."first_price$value", st."status$value", st."status$hlc", st."status$site", st."status$seen_sites", st."status$seen_versions");
    END IF;
    INSERT INTO omnisync.outbox (table_id, k1, k2, row_key)
        VALUES (1001, k_1::text, k_2::text, ARRAY[k_1::text, k_2::text]);
    RETURN NULL;
END
$capture$;
COMMENT ON FUNCTION "omnisync"."capture:pos.inventory"() IS 'Captures local changes of pos.inventory into its sync state and the outbox (generated).';

CREATE FUNCTION "omnisync"."clamp:pos.inventory"() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $clamp$
DECLARE
    v_3 text;
    v_4 text;
BEGIN
    IF omnisync.is_applying() THEN
        RETURN NEW;
    END IF;
    SELECT s."lastSoldAt$value", s."first_price$value" INTO v_3, v_4 FROM "omnisync"."state:pos.inventory" AS s WHERE s."item_id" = NEW."item_id" AND s."store_id" = NEW."store_id";
    IF v_3 IS NOT NULL AND (NEW."lastSoldAt" IS NULL OR v_3 COLLATE "C" > to_char(NEW."lastSoldAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') COLLATE "C") THEN
        NEW."lastSoldAt" := v_3::timestamp with time zone;
    END IF;
    IF v_4 IS NOT NULL AND (NEW."first_price" IS NULL OR v_4::numeric < NEW."first_price"::numeric OR (v_4::numeric = NEW."first_price"::numeric AND v_4 COLLATE "C" < NEW."first_price"::text COLLATE "C")) THEN
        NEW."first_price" := v_4::numeric;
    END IF;
    RETURN NEW;
END
$clamp$;
COMMENT ON FUNCTION "omnisync"."clamp:pos.inventory"() IS 'Keeps the greatest/least columns of pos.inventory at their merged extreme (generated).';

CREATE FUNCTION "omnisync"."count:pos.inventory"(row_key text[], column_name text, counted numeric) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $count$
DECLARE
    me text;
    st "omnisync"."state:pos.inventory";
    i int;
    stamp bigint;
    previous text;
    units numeric;
    k_1 integer;
    k_2 text;
BEGIN
    IF row_key IS NULL OR cardinality(row_key) <> 2 OR array_position(row_key, NULL) IS NOT NULL
       OR column_name IS NULL OR counted IS NULL THEN
        RAISE EXCEPTION 'a count of % needs its % key values (%) as text, a counter column and the counted quantity', 'pos.inventory', 2, 'item_id, store_id'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    k_1 := row_key[1]::integer;
    k_2 := row_key[2]::text;
    IF column_name NOT IN ('qty', 'kg') THEN
        RAISE EXCEPTION '% is not a counter column of % (counters: %)', column_name, 'pos.inventory', 'qty, kg'
            USING ERRCODE = 'undefined_column';
    END IF;
    me := omnisync.require_site();
    PERFORM 1 FROM "pos"."inventory" AS r WHERE r."item_id" = k_1 AND r."store_id" = k_2 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no % row has the key (%)', 'pos.inventory', array_to_string(row_key, ', ')
            USING ERRCODE = 'no_data_found', HINT = 'Insert the row first; a count resets an existing row.';
    END IF;
    SELECT * INTO st FROM "omnisync"."state:pos.inventory" AS s WHERE s."item_id" = k_1 AND s."store_id" = k_2 FOR UPDATE;
    IF NOT FOUND OR st.state_format IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'this % row has no sync state of format 1', 'pos.inventory'
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Run omnisync migrate for this site.';
    END IF;
    i := array_position(st.sites, me);
    IF i IS NULL THEN
        st.sites := st.sites || me;
        st.versions := st.versions || 0::bigint;
        st."qty$contrib" := st."qty$contrib" || 0::bigint;
        st."kg$contrib" := st."kg$contrib" || 0::bigint;
        i := cardinality(st.sites);
    END IF;
    st.versions[i] := st.versions[i] + 1;
    stamp := greatest(omnisync.wall_clock_us(), st.max_hlc + 1);
    IF column_name = 'qty' THEN
        units := counted;
        IF units <> trunc(units) THEN
            RAISE EXCEPTION 'a count of % is a whole number, not %', 'qty', counted
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        st."qty$reset_hlc" := stamp;
        st."qty$reset_site" := me;
        st."qty$reset_base" := units;
        st."qty$reset_sites" := st.sites;
        st."qty$reset_versions" := st.versions;
        st."qty$reset_observed" := st."qty$contrib";
    ELSIF column_name = 'kg' THEN
        units := counted * 1000;
        IF units <> trunc(units) THEN
            RAISE EXCEPTION 'a count of % has at most 3 decimals, not %', 'kg', counted
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        st."kg$reset_hlc" := stamp;
        st."kg$reset_site" := me;
        st."kg$reset_base" := units;
        st."kg$reset_sites" := st.sites;
        st."kg$reset_versions" := st.versions;
        st."kg$reset_observed" := st."kg$contrib";
    END IF;
    st.max_hlc := stamp;
    UPDATE "omnisync"."state:pos.inventory" AS s SET "state_format" = st."state_format", "sites" = st."sites", "versions" = st."versions", "max_hlc" = st."max_hlc", "deleted_hlc" = st."deleted_hlc", "deleted_site" = st."deleted_site", "deleted_sites" = st."deleted_sites", "deleted_versions" = st."deleted_versions", "qty$contrib" = st."qty$contrib", "qty$reset_hlc" = st."qty$reset_hlc", "qty$reset_site" = st."qty$reset_site", "qty$reset_base" = st."qty$reset_base", "qty$reset_sites" = st."qty$reset_sites", "qty$reset_versions" = st."qty$reset_versions", "qty$reset_observed" = st."qty$reset_observed", "kg$contrib" = st."kg$contrib", "kg$reset_hlc" = st."kg$reset_hlc", "kg$reset_site" = st."kg$reset_site", "kg$reset_base" = st."kg$reset_base", "kg$reset_sites" = st."kg$reset_sites", "kg$reset_versions" = st."kg$reset_versions", "kg$reset_observed" = st."kg$reset_observed", "price$value" = st."price$value", "price$hlc" = st."price$hlc", "price$site" = st."price$site", "lastSoldAt$value" = st."lastSoldAt$value", "first_price$value" = st."first_price$value", "status$value" = st."status$value", "status$hlc" = st."status$hlc", "status$site" = st."status$site", "status$seen_sites" = st."status$seen_sites", "status$seen_versions" = st."status$seen_versions"
     WHERE s."item_id" = k_1 AND s."store_id" = k_2;
    -- The count writes the visible value itself; that write is not a sale.
    previous := current_setting('omnisync.applying', true);
    PERFORM set_config('omnisync.applying', 'on', true);
    IF column_name = 'qty' THEN
        UPDATE "pos"."inventory" AS r SET "qty" = counted WHERE r."item_id" = k_1 AND r."store_id" = k_2;
    ELSIF column_name = 'kg' THEN
        UPDATE "pos"."inventory" AS r SET "kg" = counted WHERE r."item_id" = k_1 AND r."store_id" = k_2;
    END IF;
    PERFORM set_config('omnisync.applying', coalesce(previous, ''), true);
    INSERT INTO omnisync.outbox (table_id, k1, k2, row_key)
        VALUES (1001, k_1::text, k_2::text, ARRAY[k_1::text, k_2::text]);
    IF omnisync.notify_wanted() THEN
        PERFORM pg_notify('omnisync', '');
    END IF;
END
$count$;
COMMENT ON FUNCTION "omnisync"."count:pos.inventory"(text[], text, numeric) IS 'A physical count of one counter column of one pos.inventory row (generated).';

CREATE TRIGGER capture AFTER INSERT OR UPDATE OR DELETE ON "pos"."inventory"
    FOR EACH ROW EXECUTE FUNCTION "omnisync"."capture:pos.inventory"();
CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON "pos"."inventory"
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.notify_change();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON "pos"."inventory"
    FOR EACH STATEMENT EXECUTE FUNCTION omnisync.refuse_truncate();
CREATE TRIGGER clamp BEFORE INSERT OR UPDATE ON "pos"."inventory"
    FOR EACH ROW EXECUTE FUNCTION "omnisync"."clamp:pos.inventory"();
