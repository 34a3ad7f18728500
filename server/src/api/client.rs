//! Who the client is. Directly connected, it is the TCP peer. Behind a reverse proxy every peer
//! is the proxy, so the proxy's forwarding header (`X-Forwarded-For`, or RFC 7239 `Forwarded`)
//! names the client, but only a proxy the operator trusts may say so: anyone else could name
//! any address and walk past every per-address limit. The header's addresses are read from the
//! right, skipping trusted proxies, and the first one not trusted is the client: the left part
//! is whatever the client itself sent and proves nothing.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
pub use ipnet::IpNet;

/// The header a trusted proxy names the client in. Only one is read: a proxy that writes one
/// passes the other on as the client sent it, so reading both would let a client name itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, ...` (nginx's `$proxy_add_x_forwarded_for`, HAProxy's
    /// `option forwardfor`).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"` (HAProxy's `option forwarded`).
    Forwarded,
}

impl FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!("{other}: expected x-forwarded-for or forwarded")),
        }
    }
}

/// The reverse proxies whose forwarding header is believed (`salur serve --trusted-proxy`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    /// Their networks; empty: every peer is the client.
    pub nets: Vec<IpNet>,
    /// Which header they write.
    pub header: ForwardedHeader,
}

/// A request's client as the limits, the throttles and the audit log see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// The client's address.
    pub ip: IpAddr,
    /// Its port, when known (the TCP peer's, or one a `Forwarded` header gave).
    pub port: Option<u16>,
    /// The trusted proxy the request came through, if any.
    pub via: Option<SocketAddr>,
}

impl ClientAddr {
    /// The client's address.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// A client connected directly from `peer`.
    pub fn direct(peer: SocketAddr) -> Self {
        Self { ip: peer.ip(), port: Some(peer.port()), via: None }
    }
}

impl fmt::Display for ClientAddr {
    /// `ip:port` as before for a direct client; `ip[:port] via proxy:port` behind a proxy, so the
    /// audit log names both the person's address and the proxy that vouched for it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}", SocketAddr::new(self.ip, port))?,
            None => write!(f, "{}", self.ip)?,
        }
        match self.via {
            Some(proxy) => write!(f, " via {proxy}"),
            None => Ok(()),
        }
    }
}

/// A `--trusted-proxy` value: a network (`10.0.0.0/8`, `2001:db8::/32`) or one address.
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| format!("{s}: expected an address or a network such as 10.0.0.0/8 or 2001:db8::/32"))
}

/// An IPv4-mapped IPv6 address (a dual-stack listener's view of an IPv4 peer) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl TrustedProxies {
    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that arrived from `peer` with these headers.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> ClientAddr {
        let direct = ClientAddr::direct(SocketAddr::new(canonical(peer.ip()), peer.port()));
        if !self.trusts(peer.ip()) {
            return direct;
        }
        // Every line of the header in order: one list, as RFC 9110 joins repeated fields.
        let name = match self.header {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        };
        let hops: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .collect();
        // `last` is the nearest trusted hop so far: the proxy that wrote the hop to its left.
        let mut last = direct;
        for hop in hops.iter().rev() {
            let node = match self.header {
                ForwardedHeader::XForwardedFor => Some(*hop),
                ForwardedHeader::Forwarded => forwarded_for(hop),
            };
            // `unknown`, an obfuscated name or garbage: the hop that wrote it is all we know.
            let Some((ip, port)) = node.and_then(parse_node) else { break };
            let found = ClientAddr { ip: canonical(ip), port, via: Some(peer) };
            if !self.trusts(ip) {
                return found;
            }
            last = found;
        }
        // Every hop trusted (or an unreadable one): the left-most trusted one is the client.
        last
    }
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=http;by=...`).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim().eq_ignore_ascii_case("for").then(|| value.trim())
    })
}

/// An address with an optional port: `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:80`, any of them quoted.
fn parse_node(node: &str) -> Option<(IpAddr, Option<u16>)> {
    let node = node.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some((ip, None));
    }
    if let Ok(sa) = node.parse::<SocketAddr>() {
        return Some((sa.ip(), Some(sa.port())));
    }
    // `[v6]` alone, or a port that is not a number (RFC 7239 allows obfuscated ports).
    if let Some(v4) = node.rsplit_once(':').and_then(|(ip, _)| ip.parse::<std::net::Ipv4Addr>().ok()) {
        return Some((IpAddr::V4(v4), None));
    }
    let rest = node.strip_prefix('[')?;
    let (ip, _) = rest.split_once(']')?;
    ip.parse::<IpAddr>().ok().map(|ip| (ip, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(nets: &[&str], header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies { nets: nets.iter().map(|n| parse_cidr(n).unwrap()).collect(), header }
    }

    fn headers(name: &'static str, values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name, HeaderValue::from_static(v));
        }
        h
    }

    fn peer(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let p = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let c = p.client(peer("192.0.2.7:5000"), &headers("x-forwarded-for", &["198.51.100.1"]));
        assert_eq!(c, ClientAddr::direct(peer("192.0.2.7:5000")));
        assert_eq!(c.to_string(), "192.0.2.7:5000");
        // Nothing trusted at all: the same.
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(peer("10.0.0.1:1"), &headers("x-forwarded-for", &["1.2.3.4"])).ip,
            peer("10.0.0.1:1").ip()
        );
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client_and_the_left_part_proves_nothing() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1"], ForwardedHeader::XForwardedFor);
        // The client sent "1.1.1.1" itself; nginx appended its real address, then a second proxy.
        let h = headers("x-forwarded-for", &["1.1.1.1, 203.0.113.9", "10.1.2.3"]);
        let c = p.client(peer("127.0.0.1:40000"), &h);
        assert_eq!((c.ip, c.port, c.via), ("203.0.113.9".parse().unwrap(), None, Some(peer("127.0.0.1:40000"))));
        assert_eq!(c.to_string(), "203.0.113.9 via 127.0.0.1:40000");
        // No header: the proxy itself (its health checks).
        assert_eq!(p.client(peer("127.0.0.1:1"), &HeaderMap::new()).ip, peer("127.0.0.1:1").ip());
        // Every hop trusted: the left-most.
        let c = p.client(peer("127.0.0.1:1"), &headers("x-forwarded-for", &["10.9.9.9, 10.1.1.1"]));
        assert_eq!(c.ip, "10.9.9.9".parse::<IpAddr>().unwrap());
        // An unreadable hop: the trusted proxy that wrote it.
        let c = p.client(peer("127.0.0.1:1"), &headers("x-forwarded-for", &["203.0.113.1, unknown, 10.1.1.1"]));
        assert_eq!(c.ip, "10.1.1.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn forwarded_nodes_carry_ports_and_ipv6_and_only_the_configured_header_is_read() {
        let p = proxies(&["127.0.0.0/8", "::1"], ForwardedHeader::Forwarded);
        let h = headers("forwarded", &[r#"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711""#]);
        let c = p.client(peer("[::1]:8000"), &h);
        assert_eq!((c.ip, c.port), ("2001:db8:cafe::17".parse().unwrap(), Some(4711)));
        assert_eq!(c.to_string(), "[2001:db8:cafe::17]:4711 via [::1]:8000");
        let c = p.client(peer("127.0.0.1:1"), &headers("forwarded", &["for=198.51.100.17:_port;proto=https"]));
        assert_eq!(c.ip, "198.51.100.17".parse::<IpAddr>().unwrap());
        // A client-sent X-Forwarded-For is ignored when the proxy writes Forwarded.
        let c = p.client(peer("127.0.0.1:1"), &headers("x-forwarded-for", &["198.51.100.99"]));
        assert_eq!(c.ip, "127.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn cidrs_and_single_addresses_parse_and_mapped_peers_match_ipv4_networks() {
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        assert!(parse_cidr("10.0.0.0/33").is_err() && parse_cidr("proxy").is_err());
        let p = proxies(&["127.0.0.0/8"], ForwardedHeader::XForwardedFor);
        assert!(p.trusts("::ffff:127.0.0.5".parse().unwrap()));
        assert!(!p.trusts("::1".parse().unwrap()));
    }
}
