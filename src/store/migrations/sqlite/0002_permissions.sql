-- Whitelists of endpoint services (the VPCEP API reference's permission operations; docs/api.md §3).

CREATE TABLE endpoint_service_permissions (
    id                  TEXT PRIMARY KEY,
    endpoint_service_id TEXT NOT NULL REFERENCES endpoint_services (id) ON DELETE CASCADE,
    permission          TEXT NOT NULL,
    permission_type     TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (endpoint_service_id, permission)
);
CREATE INDEX endpoint_service_permissions_created
    ON endpoint_service_permissions (endpoint_service_id, created_at, id);
CREATE INDEX endpoint_service_permissions_updated
    ON endpoint_service_permissions (endpoint_service_id, updated_at, id);
