-- Endpoint services and endpoints per project, kept by triggers, so that a quota check at
-- create and ListQuotaDetails cost the same with ten resources or a million.

CREATE TABLE project_resource_counts (
    project_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (project_id, kind)
);

INSERT INTO project_resource_counts (project_id, kind, count)
    SELECT project_id, 'endpoint_service', COUNT(*) FROM endpoint_services GROUP BY project_id;
INSERT INTO project_resource_counts (project_id, kind, count)
    SELECT project_id, 'endpoint', COUNT(*) FROM endpoints GROUP BY project_id;

CREATE TRIGGER endpoint_services_project_count_insert AFTER INSERT ON endpoint_services
BEGIN
    INSERT INTO project_resource_counts (project_id, kind, count)
        VALUES (NEW.project_id, 'endpoint_service', 1)
        ON CONFLICT (project_id, kind) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER endpoint_services_project_count_delete AFTER DELETE ON endpoint_services
BEGIN
    UPDATE project_resource_counts SET count = count - 1
        WHERE project_id = OLD.project_id AND kind = 'endpoint_service';
END;

CREATE TRIGGER endpoints_project_count_insert AFTER INSERT ON endpoints
BEGIN
    INSERT INTO project_resource_counts (project_id, kind, count)
        VALUES (NEW.project_id, 'endpoint', 1)
        ON CONFLICT (project_id, kind) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER endpoints_project_count_delete AFTER DELETE ON endpoints
BEGIN
    UPDATE project_resource_counts SET count = count - 1
        WHERE project_id = OLD.project_id AND kind = 'endpoint';
END;
