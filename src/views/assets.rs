//! Static files embedded in the binary, served under a content-hashed URL.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

pub const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../static/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/app.js"),
    },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/vendor/htmx-2.0.11.min.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../static/favicon.svg"),
    },
];

pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// A short hash of every asset, so a new build never serves stale cached files.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for a in ASSETS {
        hasher.update(a.bytes);
    }
    hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
});

/// URL of an embedded asset, e.g. `/static/app.css?v=1a2b3c`.
pub fn url(name: &str) -> String {
    format!("/static/{name}?v={}", *VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_htmx_is_the_pinned_release() {
        let digest: String = Sha256::digest(find("htmx.min.js").expect("htmx").bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
        );
    }
}
