-- omnisync schema, migration 0006: room in the bookkeeping for declared tables.
-- Forward-only: never edit a released migration; add the next number instead.
--
-- A declared table's id is derived from its name: 2^30 plus 30 bits of a hash (Catalog's TableID),
-- so table_id widens from smallint to integer wherever it is stored. Built-in ids (1-8) keep their
-- meaning, so records written before the upgrade are delivered as before. The statement rewrites
-- the outbox; applications writing replicated tables wait for it (migrate holds the lock briefly
-- on a pruned outbox).
ALTER TABLE omnisync.outbox ALTER COLUMN table_id TYPE integer;
ALTER TABLE omnisync.quarantine ALTER COLUMN table_id TYPE integer;

-- A declared table's key may have any number of columns: its records carry the whole key, each
-- column as text in key order. k1 and k2 keep its first two columns, as v1's records have them.
ALTER TABLE omnisync.outbox ADD COLUMN row_key text[];

COMMENT ON TABLE omnisync.outbox IS
    'Rows changed by local transactions (table_id: 1 stock, 2 cart_items, 3 orders, 4 order_lines, 5 returns, 6-8 the retail tables of v2, from 2^30 declared tables; row_key: the whole key of a declared table''s row). Pruned once every configured site has received them.';

-- The hash of the table catalog (the built-in tables and the declarations) this database's
-- capture was installed for, written by migrate; a daemon whose catalog differs refuses the site
-- rather than misread its states. NULL until migrate records one.
ALTER TABLE omnisync.site ADD COLUMN catalog_hash text;

-- Conflict kinds beyond v1's four: a status rule's concurrent_status, and the kind of every
-- check a table declares (check.KIND: 1-63 characters of a-z 0-9 _, the same rule as the catalog's).
ALTER TABLE omnisync.conflicts DROP CONSTRAINT conflicts_kind_check;
ALTER TABLE omnisync.conflicts ADD CONSTRAINT conflicts_kind_check CHECK (kind ~ '^[a-z0-9_]{1,63}$');
