//! `location=mqtt://HOST[:PORT]/TOPIC` (or `mqtts://` for TLS): which broker and topic
//! `classifyjson` publishes to. Parsed once at start; shown in messages as the broker's
//! address and topic only, so that no credential can ever be part of the text.

use std::fmt;
use std::net::IpAddr;

/// Standard MQTT ports (IANA): plain and over TLS.
const PORT: u16 = 1883;
const TLS_PORT: u16 = 8883;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub topic: String,
}

/// Whether `location` asks for MQTT rather than a file.
pub fn is_mqtt(location: &str) -> bool {
    scheme(location).is_some()
}

fn scheme(location: &str) -> Option<(bool, &str)> {
    let (scheme, rest) = location.split_once("://")?;
    match scheme.to_ascii_lowercase().as_str() {
        "mqtt" => Some((false, rest)),
        "mqtts" => Some((true, rest)),
        _ => None,
    }
}

impl Broker {
    /// Parses an `mqtt://` or `mqtts://` location. The error text never repeats the part
    /// before the host, where a password would be if someone put one there.
    pub fn parse(location: &str) -> Result<Broker, String> {
        let Some((tls, rest)) = scheme(location) else {
            return Err("the location must start with mqtt:// or mqtts://".into());
        };
        let (authority, topic) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.contains('@') {
            return Err("credentials in the location are not supported: \
                        set the username and password properties instead"
                .into());
        }
        let (host, port) = split_host_port(authority)?;
        let port = port.unwrap_or(if tls { TLS_PORT } else { PORT });
        if topic.is_empty() {
            return Err(format!(
                "no topic in the location: write it after the host, as in {}://{}:{}/imgclassify/camera1/classification",
                if tls { "mqtts" } else { "mqtt" },
                host,
                port
            ));
        }
        if topic.contains(['+', '#', '\0']) {
            return Err(format!(
                "topic '{topic}' contains '+', '#' or NUL, which MQTT does not allow in a topic to publish to"
            ));
        }
        Ok(Broker {
            tls,
            host: host.to_string(),
            port,
            topic: topic.to_string(),
        })
    }

    /// Whether the broker is this machine, where an unencrypted password does not travel.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Err("an IPv6 host needs its closing ']'".into());
        };
        match after {
            "" => (host, None),
            p => match p.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None => return Err(format!("unexpected '{p}' after the IPv6 host")),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host in the location: write mqtt://HOST:PORT/TOPIC".into());
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("port '{p}' is not a number from 1 to 65535")),
        },
    };
    Ok((host, port))
}

impl fmt::Display for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}/{}", self.host, self.port, self.topic)
        } else {
            write!(f, "{scheme}://{}:{}/{}", self.host, self.port, self.topic)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_and_topic() {
        let b = Broker::parse("mqtt://127.0.0.1:1884/imgclassify/cam1/classification").unwrap();
        assert_eq!(
            b,
            Broker {
                tls: false,
                host: "127.0.0.1".into(),
                port: 1884,
                topic: "imgclassify/cam1/classification".into()
            }
        );
        assert_eq!(
            b.to_string(),
            "mqtt://127.0.0.1:1884/imgclassify/cam1/classification"
        );
        assert!(b.is_loopback());
    }

    #[test]
    fn default_ports_and_ipv6() {
        assert_eq!(Broker::parse("mqtt://broker/t").unwrap().port, 1883);
        let b = Broker::parse("MQTTS://[::1]/t").unwrap();
        assert_eq!((b.tls, b.host.as_str(), b.port), (true, "::1", 8883));
        assert_eq!(b.to_string(), "mqtts://[::1]:8883/t");
        assert!(b.is_loopback());
        assert!(!Broker::parse("mqtt://broker.lan/t").unwrap().is_loopback());
        assert!(is_mqtt("mqtt://x/t") && !is_mqtt("/tmp/out.jsonl") && !is_mqtt("-"));
    }

    #[test]
    fn bad_locations_say_what_is_wrong_without_echoing_credentials() {
        let e = Broker::parse("mqtt://user:s3cret@host/t").unwrap_err();
        assert!(e.contains("username and password properties"), "{e}");
        assert!(!e.contains("s3cret"));
        assert!(
            Broker::parse("mqtt://host:99999/t")
                .unwrap_err()
                .contains("99999")
        );
        assert!(
            Broker::parse("mqtt://host")
                .unwrap_err()
                .contains("no topic")
        );
        assert!(
            Broker::parse("mqtt://host/a/#")
                .unwrap_err()
                .contains("'#'")
        );
        assert!(Broker::parse("mqtt:///t").unwrap_err().contains("no host"));
        assert!(Broker::parse("mqtt://[::1/t").unwrap_err().contains("']'"));
    }
}
