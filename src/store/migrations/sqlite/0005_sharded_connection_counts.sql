-- PostgreSQL spreads a service's connection counts over 16 rows per status (its 0005), so that
-- concurrent writers do not queue on one row lock. SQLite has a single writer and nothing to
-- spread: it keeps one row per status, in shard 0, and only gains the column, so that both
-- backends keep the same tables and columns.
ALTER TABLE service_connection_counts ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;
