//! Jira Cloud (REST v3) and Data Center (REST v2).

pub mod client;
pub mod models;
pub mod sync;

/// An issue's page in Jira: `{base}/browse/{key}` (a Data Center context path is kept).
pub fn browse_url(base: &str, key: &str) -> String {
    let key: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    format!("{}/browse/{key}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn browse_links_keep_the_context_path() {
        assert_eq!(
            super::browse_url("https://acme.atlassian.net/", "OPS-7"),
            "https://acme.atlassian.net/browse/OPS-7"
        );
        assert_eq!(
            super::browse_url("https://jira.example.com/jira", "OPS-7"),
            "https://jira.example.com/jira/browse/OPS-7"
        );
    }
}
