-- omnisync: the rights an application role (a till, the web shop) needs on the retail tables,
-- when it is not the role that ran `omnisync migrate` (that role owns them and needs nothing).
--
-- Not a migration: an operator applies it to a site's database after `omnisync migrate`, and
-- again after every upgrade (it is idempotent), as a superuser or as the owner:
--
--     psql "dbname=pos" -v role=pos_app -f application_role.sql
--
-- The role must exist. Writes follow the contract: stock and cart items change, orders, order
-- lines and returns are only inserted; stock rows are never deleted (record a count instead).
-- Customers, loyalty points and order statuses are inserted and updated, never deleted; a count
-- of a customer's points goes through omnisync.record_count.
-- The capture and notify triggers are SECURITY DEFINER functions of the owner, so the application
-- needs no other right in the omnisync schema than to call omnisync.record_count, and
-- omnisync.follow and omnisync.unfollow.

\set ON_ERROR_STOP on

SELECT 'DO $refuse$ BEGIN RAISE EXCEPTION ''this database has no omnisync schema: run omnisync migrate first''; END $refuse$'
WHERE to_regclass('omnisync.outbox') IS NULL \gexec

BEGIN;
GRANT USAGE ON SCHEMA retail TO :"role";
GRANT SELECT, INSERT, UPDATE ON retail.stock TO :"role";
GRANT SELECT, INSERT, UPDATE, DELETE ON retail.cart_items TO :"role";
GRANT SELECT, INSERT ON retail.orders, retail.order_lines, retail.returns TO :"role";
GRANT SELECT ON retail.order_line_returns TO :"role";
GRANT EXECUTE ON FUNCTION retail.record_count(text, text, bigint) TO :"role";
GRANT SELECT, INSERT, UPDATE ON retail.customers, retail.loyalty, retail.order_status TO :"role";
GRANT USAGE ON SCHEMA omnisync TO :"role";
GRANT EXECUTE ON FUNCTION omnisync.record_count(text, text[], text, numeric) TO :"role";
-- A till follows the customer in front of it (CONTRACT §8).
SELECT format('GRANT EXECUTE ON FUNCTION omnisync.follow(text, text), omnisync.unfollow(text, text) TO %I', :'role')
WHERE to_regprocedure('omnisync.follow(text, text)') IS NOT NULL \gexec
COMMIT;
