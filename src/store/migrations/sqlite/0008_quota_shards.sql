-- A project's count of each kind in 8 shards, each with its share of the quota (`quota_limit`,
-- set for the quota `for_quota`), so that creates in one project lock one shard each instead of
-- taking their turn on one row (docs/architecture.md, "Quotas"). A resource remembers the shard
-- it is counted in. The counts of 0006 move to shard 0, with no share yet.

CREATE TABLE project_quota_shards (
    project_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    shard       INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    quota_limit INTEGER NOT NULL DEFAULT 0,
    for_quota   INTEGER,
    PRIMARY KEY (project_id, kind, shard)
);

INSERT INTO project_quota_shards (project_id, kind, shard, count)
    SELECT project_id, kind, 0, count FROM project_resource_counts;

DROP TRIGGER endpoint_services_project_count_insert;
DROP TRIGGER endpoint_services_project_count_delete;
DROP TRIGGER endpoints_project_count_insert;
DROP TRIGGER endpoints_project_count_delete;
DROP TABLE project_resource_counts;

ALTER TABLE endpoint_services ADD COLUMN quota_shard INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN quota_shard INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER endpoint_services_quota_count_insert AFTER INSERT ON endpoint_services
BEGIN
    INSERT INTO project_quota_shards (project_id, kind, shard, count)
        VALUES (NEW.project_id, 'endpoint_service', NEW.quota_shard, 1)
        ON CONFLICT (project_id, kind, shard) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER endpoint_services_quota_count_delete AFTER DELETE ON endpoint_services
BEGIN
    UPDATE project_quota_shards SET count = count - 1
        WHERE project_id = OLD.project_id AND kind = 'endpoint_service'
          AND shard = OLD.quota_shard;
END;

CREATE TRIGGER endpoints_quota_count_insert AFTER INSERT ON endpoints
BEGIN
    INSERT INTO project_quota_shards (project_id, kind, shard, count)
        VALUES (NEW.project_id, 'endpoint', NEW.quota_shard, 1)
        ON CONFLICT (project_id, kind, shard) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER endpoints_quota_count_delete AFTER DELETE ON endpoints
BEGIN
    UPDATE project_quota_shards SET count = count - 1
        WHERE project_id = OLD.project_id AND kind = 'endpoint' AND shard = OLD.quota_shard;
END;
