//! The core's side of the kernel relay: what the switch asks of it
//! (install a settled bridge direction, read its counters, remove it) done
//! on the eBPF maps at once, and the counters handed back before the switch
//! sees any other input, so its streams stay continuous.

use super::{Core, Engine};
use crate::media::kernel::{KernelCounters, KernelRelay, KernelRule};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};
use switchd_switch::{OffloadAction, OffloadCounters, OffloadRule};

/// The kernel relay and the address the RTP sockets are bound to.
pub(crate) struct KernelForwarding {
    relay: KernelRelay,
    /// The IPv4 address of the RTP sockets; unspecified for a wildcard bind.
    local: Ipv4Addr,
}

impl KernelForwarding {
    /// Forwarding with `relay` for RTP sockets bound to `media_ip`; `None`
    /// when the sockets are bound to a specific IPv6 address (the eBPF
    /// program handles IPv4 only).
    pub(crate) fn new(relay: KernelRelay, media_ip: IpAddr) -> Option<Self> {
        let local = match media_ip {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(ip) if ip.is_unspecified() => Ipv4Addr::UNSPECIFIED,
            IpAddr::V6(ip) => ip.to_ipv4_mapped()?,
        };
        Some(Self { relay, local })
    }

    fn rule(&self, rule: &OffloadRule) -> Option<KernelRule> {
        Some(KernelRule {
            ingress: SocketAddrV4::new(self.local, rule.ingress_port),
            from: ipv4(rule.source)?,
            ssrc_in: rule.ssrc_in,
            pt_in: rule.payload_type_in,
            egress: SocketAddrV4::new(self.local, rule.egress_port),
            to: ipv4(rule.destination)?,
            pt_out: rule.payload_type_out,
            ssrc_out: rule.ssrc_out,
            seq_offset: rule.sequence_offset,
            ts_offset: rule.timestamp_offset,
            clock_rate: rule.clock_rate,
        })
    }

    fn ingress(&self, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(self.local, port)
    }
}

/// An IPv4 peer address, also when an IPv6 wildcard socket sees it mapped.
fn ipv4(address: SocketAddr) -> Option<SocketAddrV4> {
    match address {
        SocketAddr::V4(address) => Some(address),
        SocketAddr::V6(address) => {
            let ip = address.ip().to_ipv4_mapped()?;
            Some(SocketAddrV4::new(ip, address.port()))
        }
    }
}

/// `Instant` and `CLOCK_MONOTONIC` read together, to place the kernel's
/// `bpf_ktime_get_ns()` times on the switch's clock.
struct Clocks {
    now: Instant,
    monotonic_ns: Option<u64>,
}

impl Clocks {
    fn read(now: Instant) -> Self {
        let monotonic_ns = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
            .ok()
            .and_then(|t| {
                let secs = u64::try_from(t.tv_sec()).ok()?;
                let nanos = u64::try_from(t.tv_nsec()).ok()?;
                secs.checked_mul(1_000_000_000)?.checked_add(nanos)
            });
        Self { now, monotonic_ns }
    }

    fn counters(&self, kernel: &KernelCounters) -> OffloadCounters {
        let last_arrival = (kernel.packets > 0)
            .then(|| {
                let age = self.monotonic_ns?.checked_sub(kernel.last_ns)?;
                self.now.checked_sub(Duration::from_nanos(age))
            })
            .flatten();
        OffloadCounters {
            packets: kernel.packets,
            payload_bytes: kernel.payload_bytes,
            newest: kernel.highest_seq,
            last_arrival,
            jitter_q4: kernel.jitter_x16,
        }
    }
}

impl<E: Engine> Core<E> {
    /// Does what the switch asks of the kernel relay, answering reads and
    /// removals at once. A failure to install leaves the direction to the
    /// switch; a failure to read is logged and reads as no news.
    pub(super) fn apply_offload(&mut self, now: Instant) {
        let Some(kernel) = self.kernel.as_mut() else {
            return;
        };
        let mut clocks = None;
        while let Some(action) = self.engine.poll_offload() {
            match action {
                OffloadAction::Install(rule) => {
                    let Some(kernel_rule) = kernel.rule(&rule) else {
                        // An IPv6 peer: the program forwards IPv4 only.
                        self.engine.handle_offload_refused(rule.from);
                        continue;
                    };
                    if let Err(error) = kernel.relay.install(&kernel_rule) {
                        tracing::warn!(port = rule.ingress_port, %error, "kernel relay: cannot install");
                        self.engine.handle_offload_refused(rule.from);
                    }
                }
                OffloadAction::Read { leg, ingress_port } => {
                    match kernel.relay.read(kernel.ingress(ingress_port)) {
                        Ok(Some(counters)) => {
                            let clocks = clocks.get_or_insert_with(|| Clocks::read(now));
                            let counters = clocks.counters(&counters);
                            self.engine
                                .handle_offload_counters(now, leg, counters, false);
                        }
                        Ok(None) => {}
                        Err(error) => {
                            tracing::warn!(port = ingress_port, %error, "kernel relay: cannot read");
                        }
                    }
                }
                OffloadAction::Remove { leg, ingress_port } => {
                    let counters = match kernel.relay.remove(kernel.ingress(ingress_port)) {
                        Ok(Some(counters)) => {
                            let clocks = clocks.get_or_insert_with(|| Clocks::read(now));
                            clocks.counters(&counters)
                        }
                        Ok(None) => OffloadCounters::default(),
                        Err(error) => {
                            tracing::warn!(port = ingress_port, %error, "kernel relay: cannot remove");
                            OffloadCounters::default()
                        }
                    };
                    self.engine
                        .handle_offload_counters(now, leg, counters, true);
                }
            }
        }
    }
}
