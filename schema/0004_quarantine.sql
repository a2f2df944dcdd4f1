-- omnisync schema, migration 0004: quarantine of changes that cannot be applied.
-- Forward-only: never edit a released migration; add the next number instead.

-- A row whose change from a source could not be read or applied here (corrupt metadata, a value
-- this database rejects). Later changes of the same row from that source wait behind it, so the
-- row's history stays in order; every other row keeps flowing. A person fixes the cause and runs
-- `omnisync quarantine retry ID` (the row's current state is shipped again) or `discard ID`.
CREATE TABLE omnisync.quarantine (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_site text        NOT NULL,
    table_id    smallint    NOT NULL,
    k1          text        NOT NULL,
    k2          text        NOT NULL DEFAULT '',
    reason      text        NOT NULL,
    held        bigint      NOT NULL DEFAULT 1,
    retry       boolean     NOT NULL DEFAULT false,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_site, table_id, k1, k2)
);
COMMENT ON TABLE omnisync.quarantine IS
    'Rows of a source whose changes could not be applied here; later changes of the row wait until retry or discard. held counts the changes held.';
