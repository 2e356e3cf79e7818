//! `location=mqtt://HOST[:PORT]/TOPIC` (or `mqtts://` for TLS): which broker and topic
//! `classifyjson` publishes to. Parsed once at start by the `url` crate, as RFC 3986 reads
//! it, not by splitting at the first '/': `mqtt://cam:8883/s3cret@broker/t` is host `cam`
//! to a URL parser and would be to the client. Messages show the broker's address and topic
//! only, never the location as given, so that no credential can ever be part of the text.

use std::fmt;
use std::net::IpAddr;

use percent_encoding::percent_decode_str;
use url::{Host, Url};

/// Standard MQTT ports (IANA): plain and over TLS.
const PORT: u16 = 1883;
const TLS_PORT: u16 = 8883;

const FORM: &str = "write mqtt://HOST:PORT/TOPIC, or mqtts:// for TLS";

/// Refuses every '@', wherever it is: what comes before it may be a password, which the
/// URL's rules may have put in the host, the port or the path (a '/' in it ends the host).
const CREDENTIALS: &str = "the location has an '@' in it: credentials in the location are not \
     supported (and a password with a '/' in it would not even be read as one), so set the \
     username and password properties instead; an '@' that belongs to the topic is written %40";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub topic: String,
}

/// Whether `location` (its bytes, which need not be UTF-8) names an MQTT broker rather
/// than a file: its scheme is `mqtt:` or `mqtts:`, in any case. A malformed `mqtt:/…`
/// is then an error about the URL, not a file of that name.
pub fn is_mqtt(location: &[u8]) -> bool {
    location.iter().position(|&b| b == b':').is_some_and(|end| {
        let scheme = &location[..end];
        scheme.eq_ignore_ascii_case(b"mqtt") || scheme.eq_ignore_ascii_case(b"mqtts")
    })
}

impl Broker {
    /// Parses an `mqtt://` or `mqtts://` location. No error text repeats the location or
    /// any part of it before the topic.
    pub fn parse(location: &str) -> Result<Broker, String> {
        if !is_mqtt(location.as_bytes()) {
            return Err(format!(
                "the location must start with mqtt:// or mqtts://: {FORM}"
            ));
        }
        if location.contains('@') {
            return Err(CREDENTIALS.into());
        }
        // The parser's errors are fixed texts ("invalid port number"), never the input.
        let url =
            Url::parse(location).map_err(|e| format!("the location is not a URL ({e}): {FORM}"))?;
        let tls = url.scheme() == "mqtts";
        let host = match url.host() {
            Some(Host::Domain(name)) if !name.is_empty() => name.to_string(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(format!("no host in the location: {FORM}")),
        };
        let port = match url.port() {
            Some(0) => return Err("port 0 is not a port: use one from 1 to 65535".into()),
            Some(port) => port,
            None if tls => TLS_PORT,
            None => PORT,
        };
        if url.query().is_some() {
            return Err("the location has a '?', which starts a URL query: \
                        write a '?' that belongs to the topic as %3F"
                .into());
        }
        if url.fragment().is_some() {
            return Err(
                "the topic contains '#', which MQTT does not allow in a topic to publish to".into(),
            );
        }
        let path = url.path();
        let topic = percent_decode_str(path.strip_prefix('/').unwrap_or(path))
            .decode_utf8()
            .map_err(|_| {
                "the topic is not valid UTF-8 once its %XX escapes are decoded".to_string()
            })?
            .into_owned();
        let broker = Broker {
            tls,
            host,
            port,
            topic,
        };
        if broker.topic.is_empty() {
            return Err(format!(
                "no topic in the location: write it after the host, as in {}imgclassify/camera1/classification",
                broker
            ));
        }
        if broker.topic.contains(['+', '#', '\0']) {
            return Err(format!(
                "topic '{}' contains '+', '#' or NUL, which MQTT does not allow in a topic to publish to",
                broker.topic
            ));
        }
        Ok(broker)
    }

    /// Whether the broker is this machine, where an unencrypted password does not travel.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
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
        let is = |l: &str| is_mqtt(l.as_bytes());
        assert!(is("mqtt://x/t") && is("MQTTS://x/t") && is("mqtt:/x/t"));
        assert!(!is("/tmp/out.jsonl") && !is("-") && !is("./mqtt:x") && !is("mqttx://h/t"));
    }

    #[test]
    fn the_topic_is_percent_decoded_as_a_url_path() {
        let b = Broker::parse("mqtt://h/cams/porch%20left/%40home%3F").unwrap();
        assert_eq!(b.topic, "cams/porch left/@home?");
        // Not an escape: kept as it is.
        assert_eq!(Broker::parse("mqtt://h/100%").unwrap().topic, "100%");
        assert_eq!(
            Broker::parse("mqtt://h/caf\u{e9}").unwrap().topic,
            "caf\u{e9}"
        );
        assert!(Broker::parse("mqtt://h/a%2B").unwrap_err().contains("'+'"));
        assert!(Broker::parse("mqtt://h/%FF").unwrap_err().contains("UTF-8"));
        assert!(Broker::parse("mqtt://h/a?b").unwrap_err().contains("%3F"));
    }

    /// A password with a '/' in the location: as a URL reads it, host `cam`, port 8883,
    /// and the secret in the path. Refused, and the secret never shown.
    #[test]
    fn an_at_sign_anywhere_is_refused_without_echoing_anything() {
        for location in [
            "mqtt://cam:8883/s3cretTail@broker:1883/t",
            "mqtt://u:s3cret/x@broker/t",
            "mqtts://u:s3c@ret@broker/t",
            "mqtt://broker/t@s3cret",
        ] {
            let e = Broker::parse(location).unwrap_err();
            assert!(e.contains("username and password properties"), "{e}");
            assert!(e.contains("%40"), "{e}");
            assert!(
                !e.contains("s3c") && !e.contains("cam") && !e.contains("broker"),
                "{e}"
            );
        }
    }

    #[test]
    fn bad_locations_say_what_is_wrong_without_echoing_credentials() {
        let e = Broker::parse("mqtt://user:s3cret@host/t").unwrap_err();
        assert!(e.contains("username and password properties"), "{e}");
        assert!(!e.contains("s3cret"));
        // Not repeated: the part after ':' may be a password the parser took for a port.
        let e = Broker::parse("mqtt://user:s3cret/t").unwrap_err();
        assert!(
            e.contains("invalid port number") && !e.contains("s3cret"),
            "{e}"
        );
        assert!(
            Broker::parse("mqtt://host:99999/t")
                .unwrap_err()
                .contains("invalid port number")
        );
        assert!(
            Broker::parse("mqtt://host:0/t")
                .unwrap_err()
                .contains("port 0")
        );
        assert!(
            Broker::parse("mqtt:/host/t")
                .unwrap_err()
                .contains("mqtt://HOST")
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
        assert!(
            Broker::parse("mqtt://[::1/t")
                .unwrap_err()
                .contains("invalid IPv6 address")
        );
    }
}
