-- PostgreSQL's 0009 adds a trigger that notifies every node of credential changes (LISTEN
-- vpcep_credentials). SQLite has no notifications and vpcep keeps no credential cache on it, so
-- this migration changes nothing here; it exists so that both trees have the same migrations.

