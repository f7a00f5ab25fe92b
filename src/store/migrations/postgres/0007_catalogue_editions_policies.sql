-- The public catalogue (services every tenant sees and may connect to without a whitelist),
-- the editions and backend resources of the v2 operations, and the policy of gateway endpoints.
-- Public services belong to the project '_public', which no path can name.

ALTER TABLE endpoint_services ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE endpoint_services ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE endpoint_services ADD COLUMN is_charge BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE endpoint_services ADD COLUMN supported_editions TEXT NOT NULL DEFAULT '["basic"]';
ALTER TABLE endpoint_services ADD COLUMN server_resources TEXT NOT NULL DEFAULT '[]';
CREATE INDEX endpoint_services_public ON endpoint_services (created_at, id) WHERE public;

ALTER TABLE endpoints ADD COLUMN policy_statement TEXT NOT NULL DEFAULT '[]';
ALTER TABLE endpoints ADD COLUMN edition TEXT NOT NULL DEFAULT 'basic';
