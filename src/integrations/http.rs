//! The outbound HTTP client for integrations, with an SSRF guard: only http(s), and hosts that
//! resolve to loopback, private, link-local or metadata addresses are refused unless
//! `ALLOW_PRIVATE_INTEGRATION_HOSTS=true`. The check happens in the resolver, so the address
//! connected to is the address checked (no DNS-rebinding window), and again for redirects.

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Connect timeout for integration calls.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed at most (each target is checked like the original URL).
const MAX_REDIRECTS: usize = 5;

/// Why an address was refused; found in a reqwest error's source chain.
#[derive(Debug, thiserror::Error)]
#[error("{0} is a private, loopback, link-local or metadata address")]
pub struct BlockedAddress(pub String);

#[derive(Clone, Copy, Debug)]
pub struct Guard {
    pub allow_private: bool,
}

/// How integration calls leave the process: address policy and per-request timeout.
#[derive(Clone, Copy, Debug)]
pub struct Outbound {
    pub guard: Guard,
    pub timeout: Duration,
}

impl Outbound {
    /// A sync's start against `base_url`: the URL parsed and checked by the guard, and a client
    /// that checks every address it connects to. `Err` says what is wrong, for the run's error.
    pub fn connect(&self, base_url: &str) -> Result<(Url, reqwest::Client), String> {
        let base = Url::parse(base_url).map_err(|e| format!("invalid base URL: {e}"))?;
        self.guard.check_url(&base).map_err(|e| e.to_string())?;
        let http = client(self.guard, self.timeout).map_err(|e| e.to_string())?;
        Ok((base, http))
    }
}

impl Guard {
    /// Checks scheme and IP-literal hosts before any request (literals skip the resolver).
    pub fn check_url(&self, url: &Url) -> Result<(), BlockedAddress> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(BlockedAddress(format!("scheme {}", url.scheme())));
        }
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if self.allow_private || is_public(ip) {
            Ok(())
        } else {
            Err(BlockedAddress(ip.to_string()))
        }
    }
}

impl Guard {
    /// The check made when an integration is saved (with or without a connection test): the
    /// URL as `check_url`, and a host name must not resolve to a refused address either. A
    /// name that does not resolve now is let through: every call resolves it again through
    /// the guarded resolver, so it can never reach a refused address later.
    pub async fn check_destination(&self, url: &Url) -> Result<(), BlockedAddress> {
        self.check_url(url)?;
        let Some(Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        if self.allow_private {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let Ok(addrs) = tokio::net::lookup_host((host, port)).await else {
            return Ok(());
        };
        match addrs.map(|a| a.ip()).find(|ip| !is_public(*ip)) {
            Some(bad) => Err(BlockedAddress(format!("{host} ({bad})"))),
            None => Ok(()),
        }
    }
}

struct GuardedResolver {
    guard: Guard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !guard.allow_private
                && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip()))
            {
                return Err(
                    Box::new(BlockedAddress(format!("{host} ({})", bad.ip()))) as Box<dyn StdError + Send + Sync>
                );
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A client for one integration: guarded resolver, no proxy, bounded and checked redirects.
///
/// A redirect is followed only within the origin (scheme, host, port) of the request's own URL.
/// Credentials travel in headers reqwest does not know to drop on a redirect elsewhere
/// (GitLab's `PRIVATE-TOKEN`), and no API call we make is redirected to another server, so a
/// redirect that leaves the origin is not followed: the client stops there and the caller sees
/// the 3xx answer as a failure. (An `http://` address that redirects to `https://` must be saved
/// as `https://`.) No `Referer` either: a webhook's address is its secret.
pub fn client(guard: Guard, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let redirect = reqwest::redirect::Policy::custom(move |attempt| {
        let first = attempt.previous().first().map(Url::origin);
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if first.as_ref().is_some_and(|first| *first != attempt.url().origin()) {
            tracing::warn!(
                from = %first.map(|o| o.ascii_serialization()).unwrap_or_default(),
                to = %attempt.url().origin().ascii_serialization(),
                "a redirect to another origin (scheme, host or port) is not followed; credentials stay with their address"
            );
            attempt.stop()
        } else if let Err(e) = guard.check_url(attempt.url()) {
            attempt.error(e)
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { guard }))
        .no_proxy()
        .redirect(redirect)
        .referer(false)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout)
        .user_agent(concat!("pulse-etl/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Publicly routable unicast addresses only.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT, some metadata services)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    let v4_at = |i: usize| {
        Ipv4Addr::new(
            (seg[i] >> 8) as u8,
            seg[i] as u8,
            (seg[i + 1] >> 8) as u8,
            seg[i + 1] as u8,
        )
    };
    // Forms that carry an IPv4 address, which is what they reach: IPv4-compatible (`::a.b.c.d`,
    // deprecated), IPv4-translated (`::ffff:0:a.b.c.d`), 6to4 (`2002:AABB:CCDD::/48`). Teredo
    // (`2001:0::/32`) tunnels to its server (bits 32–63) and its client (the last 32, inverted).
    if seg[..6] == [0; 6] || seg[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return is_public_v4(v4_at(6));
    }
    if seg[0] == 0x2002 {
        return is_public_v4(v4_at(1));
    }
    if seg[0] == 0x2001 && seg[1] == 0 {
        let client = Ipv4Addr::from(!u32::from(v4_at(6)));
        return is_public_v4(v4_at(2)) && is_public_v4(client);
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local
        || (seg[0] & 0xffc0) == 0xfe80 // link local
        || (seg[0] & 0xffc0) == 0xfec0 // site local (deprecated, still routed inside sites)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x0100 && seg[1..4] == [0, 0, 0]) // discard-only
        || (seg[0] == 0x64 && seg[1] == 0xff9b)) // NAT64 (well-known and local-use) can reach private IPv4
}

/// Finds an error of type `T` anywhere in a source chain.
pub fn find_in_chain<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        cur = e.source();
    }
    None
}

/// The whole source chain as one string (for classifying transport errors).
pub fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        parts.push(e.to_string());
        cur = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(url: &str) -> bool {
        Guard { allow_private: false }
            .check_url(&Url::parse(url).unwrap())
            .is_err()
    }

    #[test]
    fn private_and_metadata_literals_are_refused() {
        for url in [
            "http://127.0.0.1/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.100.100.200/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://0.0.0.0/",
            "ftp://example.com/",
            // IPv4-compatible, IPv4-translated, 6to4 and Teredo forms of private addresses
            "http://[::127.0.0.1]/",
            "http://[::10.0.0.1]/",
            "http://[::169.254.169.254]/",
            "http://[::ffff:0:127.0.0.1]/",
            "http://[::ffff:0:192.168.0.1]/",
            "http://[2002:7f00:1::1]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://[2002:c0a8:0101::]/",
            "http://[2001:0:7f00:1::]/",
            "http://[2001:0:5ef5:79fb:0:0:80ff:fffe]/",
            "http://[fec0::1]/",
            "http://[feff::1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[100::1]/",
            "http://[::]/",
            "http://[ff02::1]/",
        ] {
            assert!(blocked(url), "{url} should be blocked");
        }
        for url in [
            "https://example.atlassian.net/",
            "https://93.184.216.34/",
            "https://[2606:4700::1]/",
            "https://[::ffff:93.184.216.34]/",
            "https://[2002:5db8:d822::1]/",
        ] {
            assert!(!blocked(url), "{url} should pass");
        }
        assert!(
            Guard { allow_private: true }
                .check_url(&Url::parse("http://127.0.0.1/").unwrap())
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_by_the_resolver() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let c = client(Guard { allow_private: false }, Duration::from_secs(5)).unwrap();
        let err = c.get("http://localhost:9/").send().await.unwrap_err();
        assert!(find_in_chain::<BlockedAddress>(&err).is_some(), "{}", chain_text(&err));
    }
}
