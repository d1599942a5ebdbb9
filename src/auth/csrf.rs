//! Synchronizer-token CSRF protection for cookie-authenticated requests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// Header htmx (and API clients using the cookie) send the token in.
pub const HEADER: &str = "X-CSRF-Token";
/// Hidden form field for forms posted without JavaScript.
pub const FORM_FIELD: &str = "csrf_token";

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Constant-time comparison; an empty expected token never matches.
pub fn matches(expected: &str, given: &str) -> bool {
    !expected.is_empty() && expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// Finds the CSRF field in an `application/x-www-form-urlencoded` body.
pub fn from_form(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == FORM_FIELD)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_compare_exactly() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(matches(&a, &a));
        assert!(!matches(&a, &b));
        assert!(!matches("", ""));
    }

    #[test]
    fn the_form_field_is_found_among_others() {
        assert_eq!(from_form(b"name=x&csrf_token=abc%2B1&z=2").as_deref(), Some("abc+1"));
        assert_eq!(from_form(b"name=x"), None);
    }
}
