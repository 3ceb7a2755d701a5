//! The kernel relay: an eBPF program (`crates/switchd/ebpf/`) attached at
//! TCX ingress of the interfaces RTP arrives on, which forwards the packets
//! of a settled same-codec bridge direction straight to the other leg's
//! peer, and the maps through which the daemon installs one rule per
//! direction and reads its counters.
//!
//! The switch decides what is forwarded and when it comes back
//! (`switchd_media::engine::OffloadAction`); this module only does it. A
//! rule is keyed by the local address its packets arrive at. Its counters
//! live in a map of their own, so that removing a direction deletes the
//! rule first (the program stops forwarding at once) and then reads
//! counters nothing adds to any more: the switch continues the stream
//! exactly after the kernel's last packet.
//!
//! # Layout
//! - `mod.rs`: [`KernelRelay`]: loading, attaching, rules and counters.
//! - `wire`: the maps' keys and values as the C program lays them out.
//! - `tests.rs`: the program on loopback, with real sockets.

mod wire;

use aya::Ebpf;
use aya::maps::{HashMap, MapData, MapError};
use aya::programs::tc::{SchedClassifier, TcAttachOptions, TcAttachType};
use aya::programs::{LinkOrder, ProgramError};
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4, UdpSocket};
use wire::{CountersValue, RuleKey, RuleValue};

/// Bytes aligned as an `A`: the ELF parser reads the object's headers in
/// place, which `include_bytes!` alone (alignment 1) does not allow.
#[repr(C)]
struct AlignedAs<A, Bytes: ?Sized> {
    _align: [A; 0],
    bytes: Bytes,
}

/// The compiled program (`ebpf/build.sh`; checked against its source in CI).
static OBJECT: &AlignedAs<u64, [u8]> = &AlignedAs {
    _align: [],
    bytes: *include_bytes!("../../../ebpf/kernel_relay.bpf.o"),
};

/// Why the kernel relay could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum KernelRelayError {
    /// The object could not be loaded (no privilege, verifier refusal).
    #[error("cannot load the eBPF program: {source}")]
    Load {
        /// Why.
        source: Box<aya::EbpfError>,
    },
    /// The object lacks a program or map it should have.
    #[error("the eBPF object has no {name}")]
    Missing {
        /// The program or map.
        name: &'static str,
    },
    /// The program could not be loaded into the kernel or attached.
    #[error("cannot attach the eBPF program to {interface}: {source}")]
    Attach {
        /// The interface, or `all` for loading it.
        interface: String,
        /// Why.
        source: Box<ProgramError>,
    },
    /// No interface to attach to.
    #[error("no interface to attach the kernel relay to")]
    NoInterface,
    /// The RTP sockets are bound to an IPv6 address; the program forwards
    /// IPv4 only.
    #[error("RTP is bound to {address}; the kernel relay forwards IPv4 only")]
    Ipv6Bind {
        /// `[rtp] bind` (or the SIP listen address it follows).
        address: IpAddr,
    },
    /// A map operation failed (a full map, say).
    #[error("eBPF map {map}: {source}")]
    Map {
        /// The map.
        map: &'static str,
        /// Why.
        source: Box<MapError>,
    },
    /// Finding the interface towards a peer failed.
    #[error("no route to {peer}: {source}")]
    Route {
        /// The peer.
        peer: SocketAddrV4,
        /// Why.
        source: std::io::Error,
    },
}

/// One direction to forward: what arrives at `ingress` from `from` with
/// SSRC `ssrc_in` and payload type `pt_in` leaves from `egress` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelRule {
    /// Leg A's local RTP address (an unspecified IP for a wildcard bind).
    pub ingress: SocketAddrV4,
    /// Leg A's peer.
    pub from: SocketAddrV4,
    /// The SSRC leg A's peer sends.
    pub ssrc_in: u32,
    /// Leg A's audio payload type.
    pub pt_in: u8,
    /// Leg B's local RTP address (unspecified IP, for a wildcard bind: the
    /// source the route to `to` picks).
    pub egress: SocketAddrV4,
    /// Leg B's peer.
    pub to: SocketAddrV4,
    /// Leg B's audio payload type.
    pub pt_out: u8,
    /// Leg B's SSRC.
    pub ssrc_out: u32,
    /// Added to the sequence number.
    pub seq_offset: u16,
    /// Added to the timestamp.
    pub ts_offset: u32,
    /// RTP clock rate, for the jitter.
    pub clock_rate: u32,
}

/// What the program counted for a rule since it was installed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelCounters {
    /// Packets forwarded.
    pub packets: u64,
    /// Their payload bytes (after the 12-byte header).
    pub payload_bytes: u64,
    /// Sequence number and timestamp (as received) of the newest packet.
    pub highest_seq: Option<(u16, u32)>,
    /// `CLOCK_MONOTONIC` nanoseconds (`bpf_ktime_get_ns`) of the last packet.
    pub last_ns: u64,
    /// Interarrival jitter in RTP ticks, scaled by 16 (RFC 3550 A.8).
    pub jitter_x16: u32,
}

impl From<CountersValue> for KernelCounters {
    fn from(value: CountersValue) -> Self {
        let seen = value.highest_seq & 0x1_0000 != 0;
        Self {
            packets: value.packets,
            payload_bytes: value.payload_bytes,
            highest_seq: seen.then_some((value.highest_seq as u16, value.highest_ts)),
            last_ns: value.last_ns,
            jitter_x16: value.jitter_x16,
        }
    }
}

/// The loaded program, attached to its interfaces until dropped.
pub struct KernelRelay {
    /// Owns the program and its links: dropping it detaches them.
    _ebpf: Ebpf,
    rules: HashMap<MapData, RuleKey, RuleValue>,
    counters: HashMap<MapData, RuleKey, CountersValue>,
    /// The host's IPv4 addresses by interface, read at load: where a
    /// peer's packets leave, and which peers are on this host.
    addresses: Vec<(String, Ipv4Addr)>,
}

impl std::fmt::Debug for KernelRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelRelay").finish_non_exhaustive()
    }
}

fn map_error(map: &'static str) -> impl Fn(MapError) -> KernelRelayError {
    move |source| KernelRelayError::Map {
        map,
        source: Box::new(source),
    }
}

impl KernelRelay {
    /// Loads the program and attaches it (TCX ingress, after whatever is
    /// attached already) to each of `interfaces`.
    pub fn load(interfaces: &[String]) -> Result<Self, KernelRelayError> {
        if interfaces.is_empty() {
            return Err(KernelRelayError::NoInterface);
        }
        let mut ebpf = Ebpf::load(&OBJECT.bytes).map_err(|source| KernelRelayError::Load {
            source: Box::new(source),
        })?;
        let program: &mut SchedClassifier = ebpf
            .program_mut("kernel_relay")
            .ok_or(KernelRelayError::Missing {
                name: "program kernel_relay",
            })?
            .try_into()
            .map_err(|source| KernelRelayError::Attach {
                interface: "all".into(),
                source: Box::new(source),
            })?;
        program.load().map_err(|source| KernelRelayError::Attach {
            interface: "all".into(),
            source: Box::new(source),
        })?;
        for interface in interfaces {
            program
                .attach_with_options(
                    interface,
                    TcAttachType::Ingress,
                    TcAttachOptions::TcxOrder(LinkOrder::default()),
                )
                .map_err(|source| KernelRelayError::Attach {
                    interface: interface.clone(),
                    source: Box::new(source),
                })?;
        }
        let rules = ebpf
            .take_map("RULES")
            .ok_or(KernelRelayError::Missing { name: "map RULES" })?;
        let counters = ebpf.take_map("COUNTERS").ok_or(KernelRelayError::Missing {
            name: "map COUNTERS",
        })?;
        let relay = Self {
            _ebpf: ebpf,
            rules: HashMap::try_from(rules).map_err(map_error("RULES"))?,
            counters: HashMap::try_from(counters).map_err(map_error("COUNTERS"))?,
            addresses: host_ipv4_addresses(),
        };
        release_freed_memory();
        Ok(relay)
    }

    /// Installs (or replaces) the rule for packets arriving at
    /// `rule.ingress`, with its counters at zero.
    pub fn install(&mut self, rule: &KernelRule) -> Result<(), KernelRelayError> {
        let (egress_ifindex, source) = self.route(rule.to)?;
        // A wildcard bind sends from the address the route picks.
        let egress = match *rule.egress.ip() {
            ip if ip.is_unspecified() => source,
            ip => ip,
        };
        let key = key_of(rule.ingress);
        let value = RuleValue {
            from_addr: network(*rule.from.ip()),
            from_port: rule.from.port(),
            pt_in: rule.pt_in & 0x7F,
            pt_out: rule.pt_out & 0x7F,
            ssrc_in: rule.ssrc_in,
            egress_addr: network(egress),
            egress_port: rule.egress.port(),
            to_port: rule.to.port(),
            to_addr: network(*rule.to.ip()),
            ssrc_out: rule.ssrc_out,
            ts_offset: rule.ts_offset,
            seq_offset: rule.seq_offset,
            pad: 0,
            clock_rate: rule.clock_rate,
            egress_ifindex,
        };
        // Counters first: the program forwards only with both in place.
        self.counters
            .insert(key, CountersValue::default(), 0)
            .map_err(map_error("COUNTERS"))?;
        if let Err(error) = self.rules.insert(key, value, 0) {
            let _ = self.counters.remove(&key);
            return Err(map_error("RULES")(error));
        }
        Ok(())
    }

    /// The counters of the rule at `ingress`, if one is installed.
    pub fn read(&self, ingress: SocketAddrV4) -> Result<Option<KernelCounters>, KernelRelayError> {
        match self.counters.get(&key_of(ingress), 0) {
            Ok(value) => Ok(Some(value.into())),
            Err(error) if absent(&error) => Ok(None),
            Err(error) => Err(map_error("COUNTERS")(error)),
        }
    }

    /// Removes the rule at `ingress` and returns its final counters: the
    /// rule goes first, so nothing is forwarded after they are read.
    pub fn remove(
        &mut self,
        ingress: SocketAddrV4,
    ) -> Result<Option<KernelCounters>, KernelRelayError> {
        let key = key_of(ingress);
        match self.rules.remove(&key) {
            Err(error) if !absent(&error) => return Err(map_error("RULES")(error)),
            _ => {}
        }
        let counters = self.read(ingress)?;
        match self.counters.remove(&key) {
            Err(error) if !absent(&error) => Err(map_error("COUNTERS")(error)),
            _ => Ok(counters),
        }
    }

    /// How packets reach `peer`: the interface index to send them out of
    /// (0 when `peer` is on this host: the stack delivers the rewritten
    /// packet to its socket) and the source address the host would pick,
    /// as for a socket bound to the wildcard. Finding them sends nothing: a
    /// UDP `connect` only picks a route.
    fn route(&self, peer: SocketAddrV4) -> Result<(u32, Ipv4Addr), KernelRelayError> {
        let route = |source| KernelRelayError::Route { peer, source };
        let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(route)?;
        probe.connect(peer).map_err(route)?;
        let source = match probe.local_addr().map_err(route)?.ip() {
            IpAddr::V4(source) => source,
            IpAddr::V6(_) => return Err(route(std::io::ErrorKind::Unsupported.into())),
        };
        let ip = *peer.ip();
        if ip.is_loopback() || self.addresses.iter().any(|(_, local)| *local == ip) {
            return Ok((0, source));
        }
        let name = self
            .addresses
            .iter()
            .find(|(_, address)| *address == source)
            .map(|(name, _)| name.as_str())
            .ok_or_else(|| route(std::io::ErrorKind::NotFound.into()))?;
        let ifindex = nix::net::if_::if_nametoindex(name).map_err(|errno| route(errno.into()))?;
        Ok((ifindex, source))
    }
}

/// Gives the heap's free memory back to the system. aya's loader parses
/// the kernel's whole BTF (`/sys/kernel/btf/vmlinux`, some 5 MB, into many
/// small allocations) whether the program needs it or not; freed, that left
/// the daemon 13 MiB larger for good, as glibc keeps free memory it cannot
/// give back from the top of the heap.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release_freed_memory() {
    // SAFETY: malloc_trim only returns memory no allocation uses to the
    // system (trimming the top and madvising free pages); it may be called
    // at any time from any thread, and its result needs no handling.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

/// A map operation that failed because the key is not there (a lookup
/// says so in its own words, a deletion with `ENOENT`).
fn absent(error: &MapError) -> bool {
    match error {
        MapError::KeyNotFound => true,
        MapError::SyscallError(failed) => failed.io_error.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

fn key_of(ingress: SocketAddrV4) -> RuleKey {
    RuleKey {
        addr: network(*ingress.ip()),
        port: ingress.port(),
        pad: 0,
    }
}

/// An address as the program compares it: the bytes of the header, read
/// as a native-endian integer.
fn network(ip: Ipv4Addr) -> u32 {
    u32::from_ne_bytes(ip.octets())
}

fn host_ipv4_addresses() -> Vec<(String, Ipv4Addr)> {
    if_addrs::get_if_addrs()
        .map(|all| {
            all.into_iter()
                .filter_map(|iface| match iface.addr.ip() {
                    IpAddr::V4(ip) => Some((iface.name, ip)),
                    IpAddr::V6(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
