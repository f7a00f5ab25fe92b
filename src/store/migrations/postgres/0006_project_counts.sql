-- Endpoint services and endpoints per project, kept by triggers, so that a quota check at
-- create and ListQuotaDetails cost the same with ten resources or a million. Creates in one
-- project already take their turn (the quota check serializes them), so one row per kind does
-- not add waiting.

CREATE TABLE project_resource_counts (
    project_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (project_id, kind)
);

INSERT INTO project_resource_counts (project_id, kind, count)
    SELECT project_id, 'endpoint_service', COUNT(*) FROM endpoint_services GROUP BY project_id;
INSERT INTO project_resource_counts (project_id, kind, count)
    SELECT project_id, 'endpoint', COUNT(*) FROM endpoints GROUP BY project_id;

CREATE FUNCTION vpcep_count_project_resources() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    resource_kind TEXT := CASE TG_TABLE_NAME WHEN 'endpoints' THEN 'endpoint'
                                             ELSE 'endpoint_service' END;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO project_resource_counts (project_id, kind, count)
            VALUES (NEW.project_id, resource_kind, 1)
            ON CONFLICT (project_id, kind)
            DO UPDATE SET count = project_resource_counts.count + 1;
    ELSE
        UPDATE project_resource_counts SET count = count - 1
            WHERE project_id = OLD.project_id AND kind = resource_kind;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER endpoint_services_project_count AFTER INSERT OR DELETE ON endpoint_services
    FOR EACH ROW EXECUTE FUNCTION vpcep_count_project_resources();

CREATE TRIGGER endpoints_project_count AFTER INSERT OR DELETE ON endpoints
    FOR EACH ROW EXECUTE FUNCTION vpcep_count_project_resources();
