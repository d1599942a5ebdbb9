//! maud views: pure functions of borrowed view structs, no database access.

pub mod analytics;
pub mod api;
pub mod assets;
pub mod auth;
pub mod charts;
pub mod components;
pub mod dashboard;
pub mod flow;
pub mod ids;
pub mod integrations;
pub mod jobs;
pub mod layout;
pub mod teams;
