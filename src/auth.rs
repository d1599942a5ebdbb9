//! Authentication delegated to the Backend Service (DESIGN §5).

pub mod backend;
pub mod csrf;
pub mod middleware;
pub mod session;
pub mod throttle;

pub use backend::{AuthError, BackendClient, User};
pub use middleware::CurrentUser;

/// One entry of the route table.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// Who may call a route (DESIGN §5): `routes::ROUTES` gives it for every route, the middleware
/// enforces it, and the access-matrix tests check each route against every kind of caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No credentials needed (login, health, metrics, static assets).
    Public,
    /// Any logged-in user: reads, and logging out.
    User,
    /// Administrators only: every mutation (with a session cookie, also a CSRF token).
    Admin,
}
