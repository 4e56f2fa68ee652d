//! The integration tests: one binary, one module per command, a small shared harness.
//! Every test is bounded in time (see `harness::tt`), and talks only to 127.0.0.1.

mod archives;
mod browser;
mod combine;
mod count;
mod docs;
mod fake;
mod fetch;
mod harness;
mod hostile;
mod kafka;
mod reliability;
mod report;
mod serve;
mod sources;
mod tags;
