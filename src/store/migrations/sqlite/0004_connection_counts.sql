-- Connections per service and status, kept by triggers, so that a list's total_count and a
-- service's connection_count cost the same with a hundred connections or a million.

CREATE TABLE service_connection_counts (
    endpoint_service_id TEXT NOT NULL REFERENCES endpoint_services (id) ON DELETE CASCADE,
    status              TEXT NOT NULL,
    count               INTEGER NOT NULL,
    PRIMARY KEY (endpoint_service_id, status)
);

INSERT INTO service_connection_counts (endpoint_service_id, status, count)
    SELECT endpoint_service_id, status, COUNT(*) FROM endpoints
    GROUP BY endpoint_service_id, status;

CREATE TRIGGER endpoints_count_insert AFTER INSERT ON endpoints
BEGIN
    INSERT OR IGNORE INTO service_connection_counts (endpoint_service_id, status, count)
        VALUES (NEW.endpoint_service_id, NEW.status, 0);
    UPDATE service_connection_counts SET count = count + 1
        WHERE endpoint_service_id = NEW.endpoint_service_id AND status = NEW.status;
END;

CREATE TRIGGER endpoints_count_delete AFTER DELETE ON endpoints
BEGIN
    UPDATE service_connection_counts SET count = count - 1
        WHERE endpoint_service_id = OLD.endpoint_service_id AND status = OLD.status;
END;

CREATE TRIGGER endpoints_count_status AFTER UPDATE OF status ON endpoints
    WHEN OLD.status <> NEW.status
BEGIN
    UPDATE service_connection_counts SET count = count - 1
        WHERE endpoint_service_id = OLD.endpoint_service_id AND status = OLD.status;
    INSERT OR IGNORE INTO service_connection_counts (endpoint_service_id, status, count)
        VALUES (NEW.endpoint_service_id, NEW.status, 0);
    UPDATE service_connection_counts SET count = count + 1
        WHERE endpoint_service_id = NEW.endpoint_service_id AND status = NEW.status;
END;
