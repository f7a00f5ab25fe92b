-- Lifecycle with a transition delay (serve --transition-delay) and injected faults.
-- settled_status: where a resource in `creating` ends; transition_at: when its pending
-- transition (creating -> settled_status, or deleting -> gone) is due, in epoch milliseconds.

ALTER TABLE endpoint_services ADD COLUMN settled_status TEXT;
ALTER TABLE endpoint_services ADD COLUMN transition_at BIGINT;
-- A failed service's error list (`[{"code","message"}]`), JSON.
ALTER TABLE endpoint_services ADD COLUMN error TEXT;
ALTER TABLE endpoints ADD COLUMN settled_status TEXT;
ALTER TABLE endpoints ADD COLUMN transition_at BIGINT;
CREATE INDEX endpoint_services_transition ON endpoint_services (transition_at)
    WHERE transition_at IS NOT NULL;
CREATE INDEX endpoints_transition ON endpoints (transition_at) WHERE transition_at IS NOT NULL;

-- "Make the next N creations fail" per project.
CREATE TABLE fault_plans (
    project_id    TEXT PRIMARY KEY,
    remaining     BIGINT NOT NULL,
    error_code    TEXT NOT NULL,
    error_message TEXT NOT NULL
);
