//! Starting the kernel relay as `[rtp] kernel_relay` says: on which
//! interfaces, and what a failure to load means (a refusal to start with
//! `on`, one warning and relaying in the daemon with `auto`).

use super::kernel::{KernelRelay, KernelRelayError};
use crate::Error;
use crate::config::{Config, KernelRelayMode};
use crate::core::KernelForwarding;
use std::net::IpAddr;

/// The kernel relay for `config`, or `None` when it is off or (with `auto`)
/// cannot be loaded here.
pub(crate) fn start(config: &Config) -> Result<Option<KernelForwarding>, Error> {
    let mode = config.rtp.kernel_relay;
    if mode == KernelRelayMode::Off {
        return Ok(None);
    }
    let media_ip = config.media_ip();
    let ipv4 = match media_ip {
        IpAddr::V4(_) => true,
        IpAddr::V6(ip) => ip.is_unspecified() || ip.to_ipv4_mapped().is_some(),
    };
    if !ipv4 {
        if mode == KernelRelayMode::On {
            return Err(Error::KernelRelay {
                source: KernelRelayError::Ipv6Bind { address: media_ip },
            });
        }
        tracing::warn!(%media_ip, "kernel relay not used: it forwards IPv4 only");
        return Ok(None);
    }
    let interfaces = if config.rtp.kernel_relay_interfaces.is_empty() {
        interfaces_for(media_ip, &host_interfaces())
    } else {
        config.rtp.kernel_relay_interfaces.clone()
    };
    match KernelRelay::load(&interfaces) {
        Ok(relay) => {
            tracing::info!(?interfaces, "kernel relay loaded");
            Ok(KernelForwarding::new(relay, media_ip))
        }
        Err(error) if mode == KernelRelayMode::Auto => {
            tracing::warn!(
                %error,
                "kernel relay not loaded: every RTP packet passes through the daemon \
                 (needs CAP_BPF and CAP_NET_ADMIN; set [rtp] kernel_relay = \"off\" to silence this)"
            );
            Ok(None)
        }
        Err(source) => Err(Error::KernelRelay { source }),
    }
}

/// An interface's name, whether it is the loopback, and one of its addresses.
pub(crate) type Interface = (String, bool, IpAddr);

/// The host's interfaces that carry an Ethernet header (Ethernet, veth,
/// loopback), the only kind the program parses: not L3 tunnels.
fn host_interfaces() -> Vec<Interface> {
    let ethernet_like = |name: &str| {
        std::fs::read_to_string(format!("/sys/class/net/{name}/type"))
            .is_ok_and(|kind| matches!(kind.trim(), "1" | "772"))
    };
    if_addrs::get_if_addrs()
        .map(|all| {
            all.into_iter()
                .filter(|iface| ethernet_like(&iface.name))
                .map(|iface| {
                    let loopback = iface.is_loopback();
                    (iface.name, loopback, iface.addr.ip())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The interfaces RTP for `media_ip` arrives on: for a loopback address the
/// loopback interface, for another specific address the interface holding
/// it, for a wildcard (or an address no interface holds) every interface
/// with an IPv4 address.
pub(crate) fn interfaces_for(media_ip: IpAddr, interfaces: &[Interface]) -> Vec<String> {
    let pick = |keep: &dyn Fn(&Interface) -> bool| -> Vec<String> {
        let mut names: Vec<String> = interfaces
            .iter()
            .filter(|iface| keep(iface))
            .map(|(name, _, _)| name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    if media_ip.is_loopback() {
        return pick(&|(_, loopback, _)| *loopback);
    }
    if !media_ip.is_unspecified() {
        let holding = pick(&|(_, _, ip)| *ip == media_ip);
        if !holding.is_empty() {
            return holding;
        }
    }
    pick(&|(_, _, ip)| ip.is_ipv4())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Vec<Interface> {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        vec![
            ("lo".into(), true, ip("127.0.0.1")),
            ("lo".into(), true, ip("::1")),
            ("eth0".into(), false, ip("192.0.2.10")),
            ("eth0".into(), false, ip("2001:db8::10")),
            ("eth1".into(), false, ip("198.51.100.7")),
            ("wg0".into(), false, ip("2001:db8::99")),
        ]
    }

    #[test]
    fn interfaces_follow_the_rtp_address() {
        let names = |ip: &str| interfaces_for(ip.parse().unwrap(), &host());
        assert_eq!(names("127.0.0.1"), ["lo"]);
        assert_eq!(names("127.0.0.9"), ["lo"]);
        assert_eq!(names("198.51.100.7"), ["eth1"]);
        assert_eq!(names("0.0.0.0"), ["eth0", "eth1", "lo"]);
        assert_eq!(names("::"), ["eth0", "eth1", "lo"]);
        // An address no interface holds (a floating IP not up yet): all.
        assert_eq!(names("203.0.113.1"), ["eth0", "eth1", "lo"]);
    }
}
