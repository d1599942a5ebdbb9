//! Pure rules with unit tests; no database, HTTP or HTML here.

pub mod flow;
pub mod integration;
pub mod job;
pub mod links;
pub mod metrics;
pub mod settings;
pub mod team;
pub mod text;
