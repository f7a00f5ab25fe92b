-- Connections per service and status, kept by triggers, so that a list's total_count and a
-- service's connection_count cost the same with a hundred connections or a million.

CREATE TABLE service_connection_counts (
    endpoint_service_id TEXT NOT NULL REFERENCES endpoint_services (id) ON DELETE CASCADE,
    status              TEXT NOT NULL,
    count               BIGINT NOT NULL,
    PRIMARY KEY (endpoint_service_id, status)
);

INSERT INTO service_connection_counts (endpoint_service_id, status, count)
    SELECT endpoint_service_id, status, COUNT(*) FROM endpoints
    GROUP BY endpoint_service_id, status;

CREATE FUNCTION vpcep_count_connections() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE service_connection_counts SET count = count - 1
            WHERE endpoint_service_id = OLD.endpoint_service_id AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO service_connection_counts (endpoint_service_id, status, count)
            VALUES (NEW.endpoint_service_id, NEW.status, 1)
            ON CONFLICT (endpoint_service_id, status)
            DO UPDATE SET count = service_connection_counts.count + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER endpoints_count_insert_delete AFTER INSERT OR DELETE ON endpoints
    FOR EACH ROW EXECUTE FUNCTION vpcep_count_connections();

CREATE TRIGGER endpoints_count_status AFTER UPDATE OF status ON endpoints
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION vpcep_count_connections();
