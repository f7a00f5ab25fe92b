-- With --data-plane, every VPC's endpoints share one block of addresses (the README, "Data plane"): an
-- address is then looked up alone, not within a VPC.
CREATE INDEX endpoints_port_ip ON endpoints (port_ip);
