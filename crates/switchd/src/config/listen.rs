//! `transport:address` listen strings (`udp:0.0.0.0:5060`, `tcp:[::]:5060`).

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use switchd_sip::Transport;

/// One address to listen on for SIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct ListenAddr {
    /// UDP or TCP.
    pub transport: Transport,
    /// The local address; port 0 picks a free port (tests).
    pub addr: SocketAddr,
}

/// Why a listen string did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadListenAddr(String);

impl fmt::Display for BadListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ListenAddr {
    type Err = BadListenAddr;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (transport, addr) = text.split_once(':').ok_or_else(|| {
            BadListenAddr(format!(
                "`{text}` is not `transport:address:port` (e.g. `udp:0.0.0.0:5060`)"
            ))
        })?;
        let transport = match transport.to_ascii_lowercase().as_str() {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            other => {
                return Err(BadListenAddr(format!(
                    "unknown transport `{other}` in `{text}` (expected `udp` or `tcp`)"
                )));
            }
        };
        let addr = addr.parse().map_err(|_| {
            BadListenAddr(format!(
                "`{addr}` in `{text}` is not an IP address with a port (IPv6 in brackets: `[::]:5060`)"
            ))
        })?;
        Ok(Self { transport, addr })
    }
}

impl TryFrom<String> for ListenAddr {
    type Error = BadListenAddr;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipv4_and_ipv6() {
        let udp: ListenAddr = "udp:0.0.0.0:5060".parse().unwrap();
        assert_eq!(udp.transport, Transport::Udp);
        assert_eq!(udp.addr, "0.0.0.0:5060".parse().unwrap());
        let tcp: ListenAddr = "TCP:[::1]:5080".parse().unwrap();
        assert_eq!(tcp.transport, Transport::Tcp);
        assert_eq!(tcp.addr, "[::1]:5080".parse().unwrap());
        assert_eq!(tcp.to_string(), "tcp:[::1]:5080");
    }

    #[test]
    fn refuses_malformed_strings() {
        for bad in [
            "",
            "udp",
            "udp:",
            "sctp:0.0.0.0:5060",
            "udp:0.0.0.0",
            "udp:::5060",
            "udp:host:5060",
        ] {
            assert!(bad.parse::<ListenAddr>().is_err(), "{bad} parsed");
        }
        let error = "tls:1.2.3.4:5061".parse::<ListenAddr>().unwrap_err();
        assert!(error.to_string().contains("tls"), "{error}");
    }
}
