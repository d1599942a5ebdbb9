//! GitHub.com and GitHub Enterprise Server (REST and GraphQL): connection client and the
//! `github_sync` job.

pub mod client;
pub mod graphql;
pub mod models;
mod repo;
pub mod rows;
pub mod session;
pub mod sync;

/// The web root behind a REST root, for links people open: `https://api.github.com` →
/// `https://github.com`; an Enterprise `https://host/api/v3` → `https://host`.
pub fn web_base(rest_root: &str) -> String {
    let root = rest_root.trim_end_matches('/');
    if let Some(rest) = root.strip_suffix("/api/v3") {
        return rest.to_string();
    }
    match root.split_once("://api.github.com") {
        Some((scheme, "")) => format!("{scheme}://github.com"),
        _ => root.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::web_base;

    #[test]
    fn web_links_point_at_the_site_not_the_api() {
        assert_eq!(web_base("https://api.github.com"), "https://github.com");
        assert_eq!(web_base("https://api.github.com/"), "https://github.com");
        assert_eq!(web_base("https://ghe.example.com/api/v3"), "https://ghe.example.com");
        assert_eq!(web_base("https://ghe.example.com/api/v3/"), "https://ghe.example.com");
        assert_eq!(web_base("http://127.0.0.1:9000/github"), "http://127.0.0.1:9000/github");
    }
}
