//! DOM ids in one place: templates, `hx-target`s, app.js and tests use the same names.

pub const DASHBOARD_LIVE: &str = "dashboard-live";
pub const ORCHESTRATOR_PANEL: &str = "orchestrator-panel";
pub const NOTIFICATIONS_PANEL: &str = "notifications-panel";
pub const HEALTH_PANEL: &str = "health-panel";
pub const CONNECTION_BANNER: &str = "connection-banner";
pub const AUTO_REFRESH: &str = "auto-refresh";

pub fn job_card(job_type: &str) -> String {
    format!("job-{job_type}")
}

pub fn selector(id: &str) -> String {
    format!("#{id}")
}

/// The swappable body of `/flow`.
pub const FLOW_CONTENT: &str = "flow-content";
/// Where `/flow` opens its dialogs (edit forms, delete-and-reassign).
pub const FLOW_DIALOG: &str = "flow-dialog";
/// The dashboard's "N items at risk" link.
pub const AT_RISK: &str = "at-risk";
/// The dashboard's "N statuses unmapped" link.
pub const FLOW_UNMAPPED: &str = "flow-unmapped";
