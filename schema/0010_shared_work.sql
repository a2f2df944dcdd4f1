-- omnisync schema, migration 0010: which daemon applies each link here (CONTRACT §9, guarantee 8).
-- Forward-only: never edit a released migration; add the next number instead.
--
-- Several daemons with the same configuration share the links: the link from a source to this
-- site is applied by the daemon whose apply session here holds the session-level advisory lock
-- of that source (pg_locks). The lock alone decides; this table only names the daemon behind a
-- session, for `omnisync status`: each daemon session that applies here writes one row when it
-- connects and removes the rows of sessions that are gone.
CREATE TABLE omnisync.daemon_sessions (
    backend_pid integer PRIMARY KEY,
    daemon      text NOT NULL,
    since       timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE omnisync.daemon_sessions IS
    'The daemon (host:pid) behind each omnisync apply session of this database; the advisory locks in pg_locks say which links it holds.';
