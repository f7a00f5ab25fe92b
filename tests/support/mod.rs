//! The harness of the black-box test binaries (`tests/api`): each test starts real `vpcep serve`
//! processes on fresh databases and talks to them over HTTP.
//!
//! A binary includes it with `mod support;` (or `#[path = "../support/mod.rs"] mod support;`
//! from a folder) and reads everything through the re-exports below: `use crate::support::*`.

pub mod assert;
pub mod cli;
pub mod client;
pub mod db;
pub mod raw;
pub mod server;

pub use assert::*;
pub use cli::*;
pub use client::*;
pub use db::*;
pub use raw::*;
pub use server::*;
