-- A project's count of each kind in 8 shards, each with its share of the quota (`quota_limit`,
-- set for the quota `for_quota`), so that creates in one project lock one shard each instead of
-- taking their turn on one row (docs/architecture.md, "Quotas"). A resource remembers the shard
-- it is counted in. The counts of 0006 move to shard 0, with no share yet.

CREATE TABLE project_quota_shards (
    project_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    shard       INTEGER NOT NULL,
    count       BIGINT NOT NULL,
    quota_limit BIGINT NOT NULL DEFAULT 0,
    for_quota   BIGINT,
    PRIMARY KEY (project_id, kind, shard)
);

INSERT INTO project_quota_shards (project_id, kind, shard, count)
    SELECT project_id, kind, 0, count FROM project_resource_counts;

DROP TRIGGER endpoint_services_project_count ON endpoint_services;
DROP TRIGGER endpoints_project_count ON endpoints;
DROP FUNCTION vpcep_count_project_resources();
DROP TABLE project_resource_counts;

ALTER TABLE endpoint_services ADD COLUMN quota_shard INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN quota_shard INTEGER NOT NULL DEFAULT 0;

CREATE FUNCTION vpcep_count_quota_shards() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    resource_kind TEXT := CASE TG_TABLE_NAME WHEN 'endpoints' THEN 'endpoint'
                                             ELSE 'endpoint_service' END;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO project_quota_shards (project_id, kind, shard, count)
            VALUES (NEW.project_id, resource_kind, NEW.quota_shard, 1)
            ON CONFLICT (project_id, kind, shard)
            DO UPDATE SET count = project_quota_shards.count + 1;
    ELSE
        UPDATE project_quota_shards SET count = count - 1
            WHERE project_id = OLD.project_id AND kind = resource_kind
              AND shard = OLD.quota_shard;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER endpoint_services_quota_count AFTER INSERT OR DELETE ON endpoint_services
    FOR EACH ROW EXECUTE FUNCTION vpcep_count_quota_shards();

CREATE TRIGGER endpoints_quota_count AFTER INSERT OR DELETE ON endpoints
    FOR EACH ROW EXECUTE FUNCTION vpcep_count_quota_shards();
