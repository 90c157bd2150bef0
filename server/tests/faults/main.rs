//! Process-level faults (issue 14, docs/reliability.md), each against the real `quay` binary:
//! SIGKILL in the middle of concurrent pushes ([`crash`]) and PostgreSQL restarted or down under
//! load ([`db_outage`]). Shared: a registry client that records what was acknowledged
//! ([`client`]) and the installation's rows and objects ([`installation`]).

#[path = "../support/mod.rs"]
mod support;

mod client;
mod crash;
mod db_outage;
mod installation;
