-- omnisync schema, migration 0001: the daemon's own bookkeeping.
-- Forward-only: never edit a released migration; add the next number instead.

CREATE SCHEMA IF NOT EXISTS omnisync;
COMMENT ON SCHEMA omnisync IS 'Internal state of omnisync: sync metadata, outbox, cursors, conflicts. Not for applications.';

CREATE TABLE omnisync.schema_migrations (
    version    int         NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE omnisync.schema_migrations IS 'Migrations applied to this database by omnisync migrate.';

CREATE TABLE omnisync.site (
    singleton   boolean     NOT NULL DEFAULT true PRIMARY KEY CHECK (singleton),
    name        text        NOT NULL CHECK (name ~ '^[a-z0-9-]{1,63}$'),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE omnisync.site IS
    'The site name this database belongs to; omnisync refuses to treat it as any other site.';

CREATE FUNCTION omnisync.local_site() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT name FROM omnisync.site $$;
COMMENT ON FUNCTION omnisync.local_site() IS 'The name of the site this database belongs to.';
