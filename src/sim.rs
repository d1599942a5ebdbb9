//! Simulated upstreams for the demo, tests and benchmarks. The product never imports this
//! module; only the CLI (`pulse-etl sim`, `pulse-etl demo`) and tests wire it in.

pub mod backend;
pub mod server;

pub use server::{SimHandle, SimOptions, SimUrls};
