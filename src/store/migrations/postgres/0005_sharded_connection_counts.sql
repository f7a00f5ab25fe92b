-- A service's connection counts are spread over 16 rows per status, picked by the endpoint's id,
-- so that concurrent creations, deletions and status changes of one service's connections do
-- not all queue on one row lock until each of them commits (with one row, CreateEndpoint on a
-- busy service ran one transaction at a time). Readers sum the rows, as before. SQLite has one
-- writer: it keeps one row per status, in shard 0.

ALTER TABLE service_connection_counts DROP CONSTRAINT service_connection_counts_pkey;
ALTER TABLE service_connection_counts ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
DELETE FROM service_connection_counts;
INSERT INTO service_connection_counts (endpoint_service_id, status, shard, count)
    SELECT endpoint_service_id, status, hashtext(id) & 15, COUNT(*) FROM endpoints
    GROUP BY 1, 2, 3;
ALTER TABLE service_connection_counts ADD PRIMARY KEY (endpoint_service_id, status, shard);
ALTER TABLE service_connection_counts ALTER COLUMN shard DROP DEFAULT;

-- Both directions are upserts: a row's shard is computed again when it leaves, and should that
-- ever differ from where it was counted, one shard goes below zero while the sum stays right.
CREATE OR REPLACE FUNCTION vpcep_count_connections() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO service_connection_counts (endpoint_service_id, status, shard, count)
            VALUES (OLD.endpoint_service_id, OLD.status, hashtext(OLD.id) & 15, -1)
            ON CONFLICT (endpoint_service_id, status, shard)
            DO UPDATE SET count = service_connection_counts.count - 1;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO service_connection_counts (endpoint_service_id, status, shard, count)
            VALUES (NEW.endpoint_service_id, NEW.status, hashtext(NEW.id) & 15, 1)
            ON CONFLICT (endpoint_service_id, status, shard)
            DO UPDATE SET count = service_connection_counts.count + 1;
    END IF;
    RETURN NULL;
END;
$$;
