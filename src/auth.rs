//! Authentication delegated to the Backend Service (DESIGN §5).

pub mod backend;
pub mod csrf;
pub mod middleware;
pub mod session;

pub use backend::{AuthError, BackendClient, User};
pub use middleware::CurrentUser;
