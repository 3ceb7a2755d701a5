//! Which address to advertise (Via sent-by, Contact, SDP) for each bound
//! SIP socket. Looking at the host's interfaces sends nothing anywhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use switchd_sip::Transport;

/// The advertised address for each bound socket: `[sip] advertise` when set
/// (and of the socket's family), else the bound address when it is specific,
/// else the first usable interface address of the family, else loopback.
pub fn advertised_addresses(
    bound: &[(Transport, SocketAddr)],
    advertise: Option<IpAddr>,
    interfaces: &[IpAddr],
) -> Vec<(Transport, SocketAddr)> {
    bound
        .iter()
        .map(|(transport, addr)| {
            let ip = advertised_ip(addr.ip(), advertise, interfaces);
            (*transport, SocketAddr::new(ip, addr.port()))
        })
        .collect()
}

fn advertised_ip(bound: IpAddr, advertise: Option<IpAddr>, interfaces: &[IpAddr]) -> IpAddr {
    if let Some(ip) = advertise.filter(|ip| ip.is_ipv4() == bound.is_ipv4()) {
        return ip;
    }
    if !bound.is_unspecified() {
        return bound;
    }
    let usable = interfaces
        .iter()
        .copied()
        .find(|ip| ip.is_ipv4() == bound.is_ipv4() && usable(*ip));
    usable.unwrap_or(match bound {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    })
}

/// Loopback is only reachable from here; IPv6 link-local needs a scope id
/// that a Via or SDP cannot carry.
fn usable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified() && !v4.is_link_local(),
        IpAddr::V6(v6) => {
            !v6.is_loopback() && !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80
        }
    }
}

/// The host's interface addresses, in the order the OS lists them; empty
/// when they cannot be read.
pub fn host_addresses() -> Vec<IpAddr> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces.iter().map(|interface| interface.ip()).collect(),
        Err(error) => {
            tracing::warn!(%error, "cannot list network interfaces; advertising loopback");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn specific_bind_address_is_advertised_as_is() {
        let bound = [(Transport::Udp, addr("192.0.2.7:5060"))];
        let got = advertised_addresses(&bound, None, &[ip("198.51.100.1")]);
        assert_eq!(got, vec![(Transport::Udp, addr("192.0.2.7:5060"))]);
    }

    #[test]
    fn wildcard_takes_first_non_loopback_of_its_family() {
        let interfaces = [
            ip("127.0.0.1"),
            ip("::1"),
            ip("fe80::1"),
            ip("2001:db8::5"),
            ip("192.0.2.9"),
        ];
        let bound = [
            (Transport::Udp, addr("0.0.0.0:5060")),
            (Transport::Tcp, addr("[::]:5062")),
        ];
        let got = advertised_addresses(&bound, None, &interfaces);
        assert_eq!(
            got,
            vec![
                (Transport::Udp, addr("192.0.2.9:5060")),
                (Transport::Tcp, addr("[2001:db8::5]:5062"))
            ]
        );
    }

    #[test]
    fn wildcard_falls_back_to_loopback() {
        let bound = [
            (Transport::Udp, addr("0.0.0.0:5060")),
            (Transport::Udp, addr("[::]:5060")),
        ];
        let got = advertised_addresses(&bound, None, &[ip("127.0.0.1"), ip("fe80::2")]);
        assert_eq!(
            got,
            vec![
                (Transport::Udp, addr("127.0.0.1:5060")),
                (Transport::Udp, addr("[::1]:5060"))
            ]
        );
    }

    #[test]
    fn configured_address_wins_for_its_family_only() {
        let bound = [
            (Transport::Udp, addr("127.0.0.1:5060")),
            (Transport::Udp, addr("[::]:5060")),
        ];
        let got = advertised_addresses(&bound, Some(ip("203.0.113.4")), &[ip("2001:db8::1")]);
        assert_eq!(
            got,
            vec![
                (Transport::Udp, addr("203.0.113.4:5060")),
                (Transport::Udp, addr("[2001:db8::1]:5060"))
            ]
        );
    }
}
