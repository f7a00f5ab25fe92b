//! vpcep: a VPC Endpoint control plane that speaks the Huawei Cloud VPCEP v1 REST API.
//!
//! - `api`: HTTP only (router, extractors, the error catalogue, one module per resource)
//! - `auth`: credentials and tokens (request signing joins here)
//! - `domain`: the rules, with no I/O
//! - `store`: the storage flows, the primitives they use, and the two backends
//! - `server`: binding, serving connections, graceful shutdown
//! - `dataplane`: with `--data-plane`, the TCP forwarding of accepted connections
//! - `metrics`: the Prometheus metrics' names, help texts and buckets, and what a scrape reads
//! - `cli`: the commands (`serve`, `credentials`, `inject`, `reset`)

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dataplane;
pub mod domain;
pub mod metrics;
pub mod server;
pub mod store;
