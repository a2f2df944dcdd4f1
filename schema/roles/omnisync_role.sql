-- omnisync: the daemon's database role, with exactly the rights `omnisync run` needs.
--
-- Not a migration: an operator applies it to every site's database, after `omnisync migrate`
-- and again after every upgrade (it is idempotent), as a superuser or as the role that ran
-- `omnisync migrate` (that role owns the retail and omnisync schemas and keeps them):
--
--     psql "dbname=shop" -v role=omnisync -f omnisync_role.sql
--
-- `role` defaults to omnisync. The role is created (LOGIN, no password: set one with \password
-- or use a certificate) when it does not exist, which takes a superuser or CREATEROLE; a role
-- that exists is left as it is. The script refuses a superuser and the owner of the schemas.
--
-- What the daemon does with each right:
--   retail.*            reads, locks (SELECT ... FOR UPDATE) and writes the merged rows;
--                       deletes only cart items whose merged state is gone, and the rows a
--                       store unfollowed (cart items, customers, points and order statuses
--                       routed by a follow; rows it did not write)
--   omnisync.*_state, omnisync."state:retail.*"  reads and upserts the replicated state of every row;
--                       deletes the states of unfollowed rows with them
--   omnisync.outbox     reads the changes to deliver; deletes those every site has received;
--                       records a routed row again for a store that wrote it outside its routes
--   omnisync.follows    reads what the site follows (omnisync.follow); forgets an unfollow once
--                       the rows it took away are gone
--   omnisync.cursors    where each source's changes are applied up to (written at the target)
--   omnisync.daemon_sessions  names the daemon behind each of its apply sessions, for status
--                       (several daemons share the links through advisory locks)
--   omnisync.delivery_acks  what each target has received (written at the source)
--   omnisync.conflicts  records conflicts; `omnisync conflicts resolve` marks them resolved
--   omnisync.site, omnisync.schema_migrations, omnisync.declared_table  read to check the site's
--                       name, schema version and the declared tables migrate installed
--   declared tables     (each [table] of the configuration) as the retail tables, and their states
-- It owns nothing, creates nothing and never runs DDL: the capture triggers are SECURITY DEFINER
-- functions of the owner, so applications' writes are captured whoever makes them.

\set ON_ERROR_STOP on
\if :{?role}
\else
\set role omnisync
\endif

-- Each refusal is an error, so that psql (ON_ERROR_STOP) exits non-zero and changes nothing.
SELECT 'DO $refuse$ BEGIN RAISE EXCEPTION ''this database has no omnisync schema: run omnisync migrate first''; END $refuse$'
WHERE to_regclass('omnisync.outbox') IS NULL \gexec

SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec

SELECT format('DO $refuse$ BEGIN RAISE EXCEPTION %L; END $refuse$',
              format('role %s is a superuser or bypasses row security: the daemon needs an ordinary role', :'role'))
FROM pg_roles WHERE rolname = :'role' AND (rolsuper OR rolbypassrls) \gexec

-- Revoking below would strip the owner of its own rights.
SELECT format('DO $refuse$ BEGIN RAISE EXCEPTION %L; END $refuse$',
              format('role %s owns schema %s: the daemon needs a role of its own, not the owner', :'role', nspname))
FROM pg_namespace WHERE nspname IN ('retail', 'omnisync') AND nspowner = (SELECT oid FROM pg_roles WHERE rolname = :'role')
\gexec

BEGIN;

SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'role') \gexec

-- Start from nothing, so that re-running after an upgrade leaves exactly the rights below.
REVOKE ALL ON ALL TABLES IN SCHEMA retail, omnisync FROM :"role";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA retail, omnisync FROM :"role";
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA retail, omnisync FROM :"role";
REVOKE ALL ON SCHEMA retail, omnisync FROM :"role";

GRANT USAGE ON SCHEMA retail, omnisync TO :"role";

GRANT SELECT, INSERT, UPDATE ON retail.stock, retail.orders, retail.order_lines, retail.returns TO :"role";
GRANT SELECT, INSERT, UPDATE, DELETE ON retail.cart_items TO :"role";
-- Deleted only where a store unfollowed a customer (rows it did not write; CONTRACT §8).
GRANT SELECT, INSERT, UPDATE, DELETE ON retail.customers, retail.loyalty, retail.order_status TO :"role";

GRANT SELECT ON omnisync.site, omnisync.schema_migrations TO :"role";
GRANT SELECT, INSERT, UPDATE
    ON omnisync.stock_state, omnisync.cart_state, omnisync.order_state, omnisync.order_line_state,
       omnisync.return_state, omnisync.cursors, omnisync.delivery_acks, omnisync.conflicts,
       omnisync."state:retail.customers", omnisync."state:retail.loyalty", omnisync."state:retail.order_status"
    TO :"role";
GRANT DELETE ON omnisync.cart_state,
       omnisync."state:retail.customers", omnisync."state:retail.loyalty", omnisync."state:retail.order_status"
    TO :"role";
GRANT SELECT, INSERT, DELETE ON omnisync.outbox TO :"role";
SELECT format('GRANT SELECT, DELETE ON omnisync.follows TO %I', :'role') WHERE to_regclass('omnisync.follows') IS NOT NULL \gexec
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON omnisync.daemon_sessions TO %I', :'role')
WHERE to_regclass('omnisync.daemon_sessions') IS NOT NULL \gexec
-- Held rows are counted, released on retry and discarded by a person through the daemon's role.
GRANT SELECT, INSERT, UPDATE, DELETE ON omnisync.quarantine TO :"role";

-- The application's declared tables and their states, as migrate installed them (names quoted).
-- Run the script again after a migrate that declares a new table.
GRANT SELECT ON omnisync.declared_table TO :"role";
SELECT DISTINCT format('GRANT USAGE ON SCHEMA %I TO %I', (parse_ident(name))[1], :'role') FROM omnisync.declared_table \gexec
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %I', name, :'role') FROM omnisync.declared_table ORDER BY table_id \gexec
SELECT format('GRANT SELECT, INSERT, UPDATE ON %s TO %I', state_table, :'role') FROM omnisync.declared_table ORDER BY table_id \gexec

COMMIT;
