//! `inference-server`: a comma-separated list of `grpc://HOST:PORT` (plain) or
//! `grpcs://HOST:PORT` (TLS) endpoints.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl Endpoint {
    /// The address tonic connects to.
    pub fn uri(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }

    /// Whether frames sent here stay on this machine.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// As the user wrote it, and as the meta's `provider` names it.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "grpcs" } else { "grpc" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// The endpoints that frames reach unencrypted over a network: plain `grpc://` to a host
/// that is not this machine.
pub fn unencrypted(endpoints: &[Endpoint]) -> Vec<&Endpoint> {
    endpoints
        .iter()
        .filter(|e| !e.tls && !e.is_loopback())
        .collect()
}

/// The entry as written, but for credentials put before an `@` (a mistake the error
/// must not repeat into logs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "inference-server: '{0}' is not an endpoint; expected grpc://HOST:PORT or grpcs://HOST:PORT, \
     several separated by commas (a bearer token goes in server-token-file)"
)]
pub struct BadEndpoint(pub String);

impl BadEndpoint {
    fn of(text: &str) -> BadEndpoint {
        match text.rsplit_once('@') {
            Some((before, after)) => {
                let scheme = before.split_once("://").map_or("", |(s, _)| s);
                let sep = if scheme.is_empty() { "" } else { "://" };
                BadEndpoint(format!("{scheme}{sep}…@{after}"))
            }
            None => BadEndpoint(text.to_string()),
        }
    }
}

/// Parses the property's value; empty entries (a trailing comma) are skipped.
pub fn parse_endpoints(value: &str) -> Result<Vec<Endpoint>, BadEndpoint> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_one)
        .collect()
}

fn parse_one(text: &str) -> Result<Endpoint, BadEndpoint> {
    let bad = || BadEndpoint::of(text);
    let (tls, rest) = if let Some(rest) = text.strip_prefix("grpcs://") {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix("grpc://") {
        (false, rest)
    } else {
        return Err(bad());
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, port) = v6.split_once("]:").ok_or_else(bad)?;
        (host, port)
    } else {
        rest.rsplit_once(':').ok_or_else(bad)?
    };
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    let port: u16 = port.parse().map_err(|_| bad())?;
    if !valid_host || port == 0 {
        return Err(bad());
    }
    Ok(Endpoint {
        host: host.to_string(),
        port,
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_endpoints_parse() {
        let eps =
            parse_endpoints("grpc://127.0.0.1:8001, grpcs://gpu-1.example:443,").expect("valid");
        assert_eq!(eps.len(), 2);
        assert_eq!(eps[0].uri(), "http://127.0.0.1:8001");
        assert!(eps[0].is_loopback());
        assert_eq!(eps[1].to_string(), "grpcs://gpu-1.example:443");
        assert_eq!(eps[1].uri(), "https://gpu-1.example:443");
        assert!(!eps[1].is_loopback());
        let v6 = parse_endpoints("grpc://[::1]:8001").expect("valid");
        assert_eq!(v6[0].host, "::1");
        assert!(v6[0].is_loopback());
        assert_eq!(v6[0].to_string(), "grpc://[::1]:8001");
    }

    #[test]
    fn malformed_endpoints_are_refused() {
        for bad in [
            "127.0.0.1:8001",
            "http://127.0.0.1:8001",
            "grpc://127.0.0.1",
            "grpc://:8001",
            "grpc://host:0",
            "grpc://host:99999",
            "grpc://ho st:1",
            "grpc://user@host:1",
        ] {
            assert!(parse_endpoints(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_endpoints("").expect("empty"), vec![]);
    }

    #[test]
    fn credentials_written_into_an_endpoint_are_not_repeated() {
        let e = parse_endpoints("grpcs://user:s3cret@gpu-1:443").expect_err("userinfo");
        assert_eq!(e.0, "grpcs://…@gpu-1:443");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert_eq!(
            parse_endpoints("s3cret@gpu-1:443")
                .expect_err("no scheme")
                .0,
            "…@gpu-1:443"
        );
    }

    #[test]
    fn only_plain_endpoints_off_this_machine_are_unencrypted() {
        let eps = parse_endpoints(
            "grpc://127.0.0.1:1,grpc://LocalHost:2,grpc://[::1]:3,grpcs://gpu-1:4,\
             grpc://gpu-2:5,grpc://10.0.0.5:6",
        )
        .expect("valid");
        let plain: Vec<String> = unencrypted(&eps).iter().map(|e| e.to_string()).collect();
        assert_eq!(plain, vec!["grpc://gpu-2:5", "grpc://10.0.0.5:6"]);
    }
}
