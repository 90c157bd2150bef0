//! Process-level faults (issue 14, docs/reliability.md), each against the real `quay` binary:
//! SIGKILL in the middle of concurrent pushes ([`crash`]), PostgreSQL restarted or down under
//! load ([`db_outage`]), blob storage filling up mid-write ([`storage_full`]) or going away
//! ([`s3_outage`]), three pods and two workers behind nginx with one of each killed ([`pods`]),
//! slow and abusive clients and memory under a long mixed load ([`abuse`]), and a whole run's
//! logs and error bodies searched for every secret it used ([`secrets`]). Shared: a registry
//! client that records what was acknowledged ([`client`]) and the installation's rows and
//! objects ([`installation`]).

#[path = "../support/mod.rs"]
mod support;

mod abuse;
mod client;
mod crash;
mod db_outage;
mod installation;
mod pods;
mod s3_outage;
mod secrets;
mod storage_full;
