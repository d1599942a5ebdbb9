//! Addresses: which integration URLs are accepted, and the pages issues and pull requests link to.

use url::Url;

/// Accepts only absolute http(s) URLs with a host.
pub fn parse_http_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("must use http or https (got {})", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(url)
}

/// An issue's page in Jira: `{base}/browse/{key}` (a Data Center context path kept).
pub fn jira_browse_url(base: &str, key: &str) -> String {
    let key: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    format!("{}/browse/{key}", base.trim_end_matches('/'))
}

/// The web root of a GitHub whose REST API is at `rest_root`: `https://api.github.com` →
/// `https://github.com`, Enterprise `https://host/api/v3` → `https://host`.
pub fn github_web_base(rest_root: &str) -> String {
    let root = rest_root.trim_end_matches('/');
    if let Some(rest) = root.strip_suffix("/api/v3") {
        return rest.to_string();
    }
    match root.split_once("://api.github.com") {
        Some((scheme, "")) => format!("{scheme}://github.com"),
        _ => root.to_string(),
    }
}

/// Where a repository's pull requests are on the web, without the number: GitHub's
/// `{web}/{owner}/{name}/pull`, GitLab's `{base}/{group…}/{project}/-/merge_requests`.
pub fn pull_request_base(kind: super::integration::IntegrationKind, base: &str, owner: &str, name: &str) -> String {
    match kind {
        super::integration::IntegrationKind::Gitlab => {
            let root = base.trim_end_matches('/');
            let root = root.strip_suffix("/api/v4").unwrap_or(root);
            format!("{root}/{owner}/{name}/-/merge_requests")
        }
        _ => format!("{}/{owner}/{name}/pull", github_web_base(base)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_requests_link_to_gitlab_and_pull_requests_to_github() {
        use crate::domain::integration::IntegrationKind;
        assert_eq!(
            pull_request_base(
                IntegrationKind::Gitlab,
                "https://git.example.com/",
                "acme/platform",
                "api"
            ),
            "https://git.example.com/acme/platform/api/-/merge_requests"
        );
        assert_eq!(
            pull_request_base(IntegrationKind::Github, "https://api.github.com", "acme", "api"),
            "https://github.com/acme/api/pull"
        );
    }

    #[test]
    fn browse_links_keep_the_context_path() {
        assert_eq!(
            jira_browse_url("https://acme.atlassian.net/", "OPS-7"),
            "https://acme.atlassian.net/browse/OPS-7"
        );
        assert_eq!(
            jira_browse_url("https://jira.example.com/jira", "OPS-7"),
            "https://jira.example.com/jira/browse/OPS-7"
        );
    }

    #[test]
    fn web_links_point_at_the_site_not_the_api() {
        assert_eq!(github_web_base("https://api.github.com"), "https://github.com");
        assert_eq!(github_web_base("https://api.github.com/"), "https://github.com");
        assert_eq!(
            github_web_base("https://ghe.example.com/api/v3"),
            "https://ghe.example.com"
        );
        assert_eq!(
            github_web_base("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com"
        );
        assert_eq!(
            github_web_base("http://127.0.0.1:9000/github"),
            "http://127.0.0.1:9000/github"
        );
    }
}
