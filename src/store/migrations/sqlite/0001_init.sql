-- vpcep schema, SQLite edition. Timestamps are whole seconds since the Unix epoch, UTC.
-- JSON-valued columns hold serde_json text. Never edit an applied migration: add a new file.

CREATE TABLE credentials (
    access_key   TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    domain_id    TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    secret_key   TEXT NOT NULL,
    -- Only the SHA-256 of a token is kept: a leaked database does not leak working tokens.
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
);
CREATE INDEX credentials_project ON credentials (project_id);

CREATE TABLE endpoint_services (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL,
    domain_id        TEXT NOT NULL,
    name             TEXT,
    service_name     TEXT NOT NULL,
    port_id          TEXT NOT NULL,
    vpc_id           TEXT NOT NULL,
    pool_id          TEXT NOT NULL,
    server_type      TEXT NOT NULL,
    service_type     TEXT NOT NULL,
    approval_enabled INTEGER NOT NULL,
    status           TEXT NOT NULL,
    ip               TEXT,
    tcp_proxy        TEXT NOT NULL,
    description      TEXT NOT NULL,
    enable_policy    INTEGER NOT NULL,
    ip_version       TEXT NOT NULL,
    ports            TEXT NOT NULL,
    tags             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX endpoint_services_project_created ON endpoint_services (project_id, created_at, id);
CREATE INDEX endpoint_services_project_updated ON endpoint_services (project_id, updated_at, id);
CREATE INDEX endpoint_services_port ON endpoint_services (port_id);
CREATE INDEX endpoint_services_name ON endpoint_services (service_name);

-- marker_id is the rowid: AUTOINCREMENT guarantees a value is never handed out twice, even after
-- the row is deleted (docs/api.md §3).
CREATE TABLE endpoints (
    marker_id              INTEGER PRIMARY KEY AUTOINCREMENT,
    id                     TEXT NOT NULL UNIQUE,
    project_id             TEXT NOT NULL,
    domain_id              TEXT NOT NULL,
    endpoint_service_id    TEXT NOT NULL REFERENCES endpoint_services (id),
    vpc_id                 TEXT NOT NULL,
    subnet_id              TEXT,
    port_ip                INTEGER NOT NULL,
    enable_dns             INTEGER NOT NULL,
    description            TEXT NOT NULL,
    -- The service owner's text, set by the seed operation; never the consumer's description.
    connection_description TEXT NOT NULL DEFAULT '',
    status                 TEXT NOT NULL,
    ever_accepted          INTEGER NOT NULL,
    whitelist              TEXT NOT NULL,
    enable_whitelist       INTEGER NOT NULL,
    tags                   TEXT NOT NULL,
    routetables            TEXT NOT NULL,
    policy_document        TEXT,
    error                  TEXT,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
CREATE UNIQUE INDEX endpoints_vpc_ip ON endpoints (vpc_id, port_ip);
CREATE INDEX endpoints_service_created ON endpoints (endpoint_service_id, created_at, id);
CREATE INDEX endpoints_service_updated ON endpoints (endpoint_service_id, updated_at, id);
CREATE INDEX endpoints_service_status ON endpoints (endpoint_service_id, status);
CREATE INDEX endpoints_project_created ON endpoints (project_id, created_at, id);
CREATE INDEX endpoints_project_updated ON endpoints (project_id, updated_at, id);

-- Start marker ids where the public examples live (16777510, ...), above 2^24.
INSERT INTO sqlite_sequence (name, seq) VALUES ('endpoints', 16777215);
