//! Black-box tests of vpcep over real HTTP that hold on both backends: every test starts its own
//! server on a fresh database and a free port (see `support`). scripts/test.sh runs this binary
//! twice: on SQLite, then with `VPCEP_TEST_BACKEND=postgres` on PostgreSQL. The tests of one
//! backend only are the binaries tests/sqlite.rs and tests/postgres.rs. The contract is
//! `docs/api.md`.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod connections;
mod console;
mod data_plane;
mod durability;
mod endpoints;
mod go_clients;
mod hints;
mod isolation;
mod lifecycle;
mod memory;
mod observability;
mod openapi;
mod permissions;
mod public;
mod quotas;
mod reset;
mod seed;
mod services;
mod signer;
mod signing;
mod startup;
mod status_codes;
mod tags;
mod upgrades;
