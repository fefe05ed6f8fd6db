//! kubesim's integration tests: one binary, one module per area.

mod apiserver;
mod cli;
mod common;
mod convergence;
mod determinism;
mod docs;
mod manifests;
mod node_status;
mod scenarios;
mod scheduling;
mod services;
mod shell;
mod store_model;
mod traffic;
mod workloads;
