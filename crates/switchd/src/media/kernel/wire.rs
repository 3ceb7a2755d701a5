//! The eBPF maps' keys and values, laid out as `ebpf/kernel_relay.bpf.c`
//! declares them: `repr(C)` with every byte a named field, so no padding
//! is left uninitialised or read back as garbage.
#![allow(unsafe_code)]

/// `struct rule_key`: the local address a direction's packets arrive at.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RuleKey {
    /// Leg A's local IPv4 address, network order; 0 for a wildcard bind.
    pub addr: u32,
    /// Leg A's local RTP port.
    pub port: u16,
    /// Zero.
    pub pad: u16,
}

/// `struct rule`: what to match and how to rewrite. Addresses in network
/// order, everything else in host order.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RuleValue {
    pub from_addr: u32,
    pub from_port: u16,
    pub pt_in: u8,
    pub pt_out: u8,
    pub ssrc_in: u32,
    pub egress_addr: u32,
    pub egress_port: u16,
    pub to_port: u16,
    pub to_addr: u32,
    pub ssrc_out: u32,
    pub ts_offset: u32,
    pub seq_offset: u16,
    pub pad: u16,
    pub clock_rate: u32,
    pub egress_ifindex: u32,
}

/// `struct counters`: what the program counted for one rule.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct CountersValue {
    pub packets: u64,
    pub payload_bytes: u64,
    pub last_ns: u64,
    /// The newest sequence number in the low 16 bits; bit 16 once one came.
    pub highest_seq: u32,
    pub highest_ts: u32,
    pub jitter_x16: u32,
    pub last_transit: u32,
}

// SAFETY: `Pod` asks for types any bit pattern of their size is a valid
// value of, with no padding: each is `repr(C)` over integers only, their
// fields in an order that leaves no gap (sizes 8, 44 and 40 bytes, checked
// below), so reading one from a map's bytes and writing one to it are
// plain copies.
unsafe impl aya::Pod for RuleKey {}
// SAFETY: as above.
unsafe impl aya::Pod for RuleValue {}
// SAFETY: as above.
unsafe impl aya::Pod for CountersValue {}

const _: () = assert!(std::mem::size_of::<RuleKey>() == 8);
const _: () = assert!(std::mem::size_of::<RuleValue>() == 44);
const _: () = assert!(std::mem::size_of::<CountersValue>() == 40);
