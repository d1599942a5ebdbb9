//! Who sent a request. Forwarding headers (`X-Forwarded-For`, `X-Forwarded-Proto`,
//! `X-Forwarded-Host`, `Forwarded`) are anyone's to write, so they count only on connections
//! from a configured proxy; otherwise the client is the TCP peer and the scheme is plain HTTP
//! (the service itself never terminates TLS).

use std::net::{IpAddr, Ipv6Addr};

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The reverse proxies whose forwarding headers are believed (`TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.5, 10.1.0.0/16, ::1`: addresses or CIDR ranges, comma-separated.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => return Err(format!("{item:?} is neither an IP address nor a CIDR range")),
                },
            };
            nets.push(net);
        }
        Ok(Self(nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The client of a request and how it reached us, as far as we can believe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAddr {
    pub ip: IpAddr,
    /// `http` or `https` as the browser used it.
    pub scheme: String,
    /// `host[:port]` as the browser addressed it.
    pub host: String,
}

impl ClientAddr {
    pub fn of(req: &HttpRequest, trusted: &TrustedProxies) -> Self {
        let peer = req.peer_addr().map(|a| canonical(a.ip()));
        let host_header = req
            .headers()
            .get(actix_web::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let plain = |ip| ClientAddr {
            ip,
            scheme: "http".into(),
            host: host_header.clone(),
        };
        let Some(peer) = peer else {
            return plain(IpAddr::from(Ipv6Addr::UNSPECIFIED));
        };
        if !trusted.contains(peer) {
            return plain(peer);
        }
        let h = req.headers();
        let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        // The rightmost address no trusted proxy added is the client (earlier entries are the
        // client's own claims).
        let forwarded_for: Vec<IpAddr> = text("x-forwarded-for")
            .map(|v| v.split(',').filter_map(|s| parse_ip(s.trim())).collect())
            .unwrap_or_default();
        let ip = forwarded_for
            .iter()
            .rev()
            .copied()
            .find(|ip| !trusted.contains(*ip))
            .or_else(|| forwarded_for.first().copied())
            .unwrap_or(peer);
        let scheme = text("x-forwarded-proto")
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| v == "http" || v == "https")
            .unwrap_or_else(|| "http".into());
        let host = text("x-forwarded-host")
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or(host_header);
        ClientAddr { ip, scheme, host }
    }

    /// The origin a page of ours has for this client (`scheme://host[:port]`, default port
    /// left out, lower-case), to compare with a browser's `Origin`.
    pub fn origin(&self) -> Option<String> {
        let url = url::Url::parse(&format!("{}://{}", self.scheme, self.host)).ok()?;
        Some(url.origin().ascii_serialization())
    }
}

/// An `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:80`.
fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .map(canonical)
}

/// IPv4 clients reach a dual-stack listener as `::ffff:a.b.c.d`; count them as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The unit limits count by: an IPv4 address, or an IPv6 /64 (one host usually holds a whole
/// /64, so counting single IPv6 addresses would let it take millions of fresh ones).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn req(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut r = TestRequest::default()
            .peer_addr(peer.parse().unwrap())
            .insert_header(("Host", "pulse.example:8000"));
        for h in headers {
            r = r.insert_header(*h);
        }
        r.to_http_request()
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_proxy() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.0.2.7").unwrap();
        let forged = [
            ("X-Forwarded-For", "203.0.113.9"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "evil.example"),
        ];
        let direct = ClientAddr::of(&req("198.51.100.1:5000", &forged), &trusted);
        assert_eq!(direct.ip.to_string(), "198.51.100.1");
        assert_eq!(direct.origin().unwrap(), "http://pulse.example:8000");

        let proxied = ClientAddr::of(
            &req(
                "10.1.2.3:5000",
                &[
                    ("X-Forwarded-For", "1.1.1.1, 203.0.113.9, 10.9.9.9"),
                    ("X-Forwarded-Proto", "https"),
                    ("X-Forwarded-Host", "pulse.example"),
                ],
            ),
            &trusted,
        );
        assert_eq!(proxied.ip.to_string(), "203.0.113.9", "the rightmost untrusted hop");
        assert_eq!(proxied.origin().unwrap(), "https://pulse.example");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(
            limit_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            limit_key("2001:db8:1:2:bbbb::9".parse().unwrap())
        );
        assert_eq!(limit_key("::ffff:192.0.2.1".parse().unwrap()).to_string(), "192.0.2.1");
    }
}
