-- omnisync schema, migration 0009: what this site follows (CONTRACT §8).
-- Forward-only: never edit a released migration; add the next number instead.
--
-- A till follows a value of a namespace, a customer in front of it or a cart:
--     SELECT omnisync.follow('customer', 'C-42');
-- and the rows of the tables routed 'follow customer COLUMN' with that value are meant for this
-- site from then on, until SELECT omnisync.unfollow('customer', 'C-42'). An unfollow leaves the
-- row with unfollowed_at set instead of deleting it: whoever removes the followed rows from this
-- site later still finds what was unfollowed, even after a restart. Following again gives the row
-- a new id, so that "followed since" can be told apart from an earlier follow of the same value.
CREATE TABLE omnisync.follows (
    id            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    namespace     text NOT NULL CHECK (namespace ~ '^[a-z0-9_]{1,63}$'),
    value         text NOT NULL,
    followed_at   timestamptz NOT NULL DEFAULT now(),
    unfollowed_at timestamptz,
    PRIMARY KEY (namespace, value)
);

COMMENT ON TABLE omnisync.follows IS
    'Values this site follows (omnisync.follow), and values it unfollowed (unfollowed_at set). Written through omnisync.follow and omnisync.unfollow.';

-- Both return whether they changed anything, and wake the daemon when they did.
CREATE FUNCTION omnisync.follow(p_namespace text, p_value text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    changed boolean;
BEGIN
    IF p_namespace IS NULL OR p_namespace !~ '^[a-z0-9_]{1,63}$' THEN
        RAISE EXCEPTION 'omnisync.follow: the namespace % must be 1-63 characters of a-z 0-9 _', quote_nullable(p_namespace)
            USING ERRCODE = '22023';
    END IF;
    IF p_value IS NULL THEN
        RAISE EXCEPTION 'omnisync.follow: the value to follow in % is NULL', p_namespace USING ERRCODE = '22004';
    END IF;
    INSERT INTO omnisync.follows AS f (namespace, value) VALUES (p_namespace, p_value)
    ON CONFLICT (namespace, value) DO UPDATE SET id = DEFAULT, followed_at = now(), unfollowed_at = NULL
        WHERE f.unfollowed_at IS NOT NULL;
    changed := FOUND;
    IF changed THEN
        PERFORM pg_notify('omnisync', 'follow');
    END IF;
    RETURN changed;
END
$$;

CREATE FUNCTION omnisync.unfollow(p_namespace text, p_value text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    changed boolean;
BEGIN
    UPDATE omnisync.follows SET unfollowed_at = now()
    WHERE namespace = p_namespace AND value = p_value AND unfollowed_at IS NULL;
    changed := FOUND;
    IF changed THEN
        PERFORM pg_notify('omnisync', 'follow');
    END IF;
    RETURN changed;
END
$$;

COMMENT ON FUNCTION omnisync.follow(text, text) IS
    'Follows a value of a namespace at this site (CONTRACT §8); true if it was not followed yet.';
COMMENT ON FUNCTION omnisync.unfollow(text, text) IS
    'Stops following a value of a namespace at this site; true if it was followed.';

-- Per source: the greatest omnisync.follows.id whose rows that source has copied here (the first
-- copy of a new follow: rows written long before it are brought too).
ALTER TABLE omnisync.cursors ADD COLUMN follows_copied bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN omnisync.cursors.follows_copied IS
    'The greatest omnisync.follows.id of this site whose rows the source has copied here.';
