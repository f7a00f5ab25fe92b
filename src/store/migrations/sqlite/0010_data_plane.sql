-- With --data-plane, every VPC's endpoints share one block of addresses (the README, "Data
-- plane"): an address is then looked up alone, not within a VPC.
CREATE INDEX endpoints_port_ip ON endpoints (port_ip);

-- Where the data plane forwards the connections of a service created without an `ip`: the
-- address registered for its `port_id`, by its project (`vpcep backends set --project-id`, or
-- `/_vpcep/v1/{project_id}/backends/{port_id}`) or, with an empty project_id, for every project
-- (`vpcep backends set` without one). A project's own registration wins.
CREATE TABLE backends (
    project_id TEXT NOT NULL,
    port_id    TEXT NOT NULL,
    address    TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (port_id, project_id)
);
