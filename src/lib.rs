//! kubesim: a deterministic discrete-event simulator of a Kubernetes cluster.

pub mod allocator;
pub mod api;
pub mod apiserver;
pub mod client;
pub mod controllers;
pub mod dns;
pub mod inspect;
pub mod invariants;
pub mod network;
pub mod node;
pub mod output;
pub mod scenario;
pub mod scheduler;
pub mod shell;
pub mod sim;
pub mod simulation;
pub mod store;

pub use simulation::{Outcome, RunOptions, Simulation};
pub mod cli;
