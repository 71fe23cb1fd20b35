//! Targets for fleet tests (`run --on`, `fleet::each`): PostgreSQL
//! targets in a group, on the test database or on a port nothing answers.

use super::service;

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `[postgres.NAME]` on the test database, in `group`.
pub fn good(name: &str, group: &str) -> String {
    format!("[postgres.{name}]\nurl = \"{}\"\ngroup = \"{group}\"\n\n", service("RUNBOOK_TEST_PG_URL"))
}

/// `[postgres.NAME]` on a closed port, in `group`.
pub fn bad(name: &str, group: &str, port: u16) -> String {
    format!("[postgres.{name}]\nhost = \"127.0.0.1\"\nport = {port}\nconnect_timeout = \"2s\"\ngroup = \"{group}\"\n\n")
}
