//! Black-box tests of vpcep over real HTTP: every test starts its own server on a fresh SQLite
//! database and a free port (see `support`). The contract is `docs/api.md`.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod connections;
mod durability;
mod endpoints;
mod faults;
mod go_clients;
mod hints;
mod isolation;
mod lifecycle;
mod openapi;
mod permissions;
mod postgres;
mod reset;
mod seed;
mod services;
mod signer;
mod signing;
mod startup;
mod status_codes;
