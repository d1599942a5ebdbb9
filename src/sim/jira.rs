//! Simulated Jira Cloud (REST v3) and Jira Data Center (REST v2).

use actix_web::web;

/// Routes relative to the Jira Cloud site root.
pub fn configure_cloud(_cfg: &mut web::ServiceConfig) {}

/// Routes relative to the Data Center context path.
pub fn configure_dc(_cfg: &mut web::ServiceConfig) {}
