-- omnisync schema, migration 0002: the retail tables applications read and write (CONTRACT §4).
-- Forward-only: never edit a released migration; add the next number instead.

CREATE SCHEMA IF NOT EXISTS retail;
COMMENT ON SCHEMA retail IS 'Retail data kept in sync across every store and the web shop by omnisync.';

CREATE TABLE retail.stock (
    sku      text   NOT NULL,
    location text   NOT NULL,
    on_hand  bigint NOT NULL DEFAULT 0,
    reserved bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, location)
);
COMMENT ON TABLE retail.stock IS
    'Stock per SKU and location. Every change is a delta that adds up across sites; rows are never deleted (use retail.record_count).';

CREATE TABLE retail.cart_items (
    cart_id  text   NOT NULL,
    sku      text   NOT NULL,
    quantity bigint NOT NULL,
    PRIMARY KEY (cart_id, sku)
);
COMMENT ON TABLE retail.cart_items IS
    'The shared customer cart. Quantity changes add up across sites; a DELETE removes only what its site had seen (add wins).';

CREATE TABLE retail.orders (
    order_id    text NOT NULL PRIMARY KEY,
    customer_id text,
    channel     text,
    placed_at   timestamptz
);
COMMENT ON TABLE retail.orders IS 'Orders from every channel. Insert only; copied to every site.';

CREATE TABLE retail.order_lines (
    order_id text   NOT NULL,
    line_no  int    NOT NULL,
    sku      text   NOT NULL,
    quantity bigint NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
COMMENT ON TABLE retail.order_lines IS 'Order lines. Insert only; copied to every site, even before their order arrives.';

CREATE TABLE retail.returns (
    return_id   text   NOT NULL PRIMARY KEY,
    order_id    text   NOT NULL,
    line_no     int    NOT NULL,
    quantity    bigint NOT NULL,
    location    text,
    returned_at timestamptz
);
COMMENT ON TABLE retail.returns IS
    'Returns in any channel. Insert only; copied to every site, even if it arrives before its order.';
CREATE INDEX returns_order_line ON retail.returns (order_id, line_no);

CREATE VIEW retail.order_line_returns AS
SELECT l.order_id,
       l.line_no,
       l.sku,
       l.quantity,
       coalesce(sum(r.quantity), 0)::bigint AS returned
FROM retail.order_lines AS l
LEFT JOIN retail.returns AS r ON r.order_id = l.order_id AND r.line_no = l.line_no
GROUP BY l.order_id, l.line_no, l.sku, l.quantity;
COMMENT ON VIEW retail.order_line_returns IS
    'Per order line: quantity bought and the sum returned in every channel (0 when none).';
