//! The harness shared by the black-box test binaries: `tests/api` (both backends, run once per
//! backend), `tests/sqlite.rs` (SQLite only) and `tests/postgres.rs` (PostgreSQL only). Each test
//! starts real `vpcep serve` processes on fresh databases and talks to them over HTTP.
//!
//! A binary includes it with `mod support;` (or `#[path = "../support/mod.rs"] mod support;`
//! from a folder) and reads everything through the re-exports below: `use crate::support::*`.

// Each binary uses a part of the harness: what one leaves unused is not dead.
#![allow(dead_code, unused_imports)]

pub mod assert;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod data_plane;
pub mod db;
pub mod metrics;
pub mod nodes;
pub mod raw;
pub mod server;

pub use assert::*;
pub use cli::*;
pub use client::*;
pub use cluster::*;
pub use db::*;
pub use nodes::*;
pub use raw::*;
pub use server::*;
