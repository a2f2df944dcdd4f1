-- omnisync schema, migration 0008: what migrate installed for each declared table.
-- Forward-only: never edit a released migration; add the next number instead.
--
-- One row per application table whose capture migrate installed: its id in the outbox, its name
-- and its state table's (both quoted, as SQL takes them: the role script grants on them), and the description it was installed from (Catalog's CaptureTable description text: every key
-- column and replicated column with the type it had then, and its rule). Every daemon session reads
-- these rows, so a column the application adds later is not replicated until migrate covers it,
-- and two sites whose columns differ are told apart before any state is read.
CREATE TABLE omnisync.declared_table (
    table_id     integer PRIMARY KEY CHECK (table_id >= 1073741824),
    name         text NOT NULL UNIQUE,
    state_table  text NOT NULL,
    description  text NOT NULL,
    installed_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE omnisync.declared_table IS
    'Declared application tables whose capture omnisync migrate installed, with the description (columns, types, rules) it was installed from. Written by migrate only.';

