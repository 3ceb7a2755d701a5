// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// switchd's kernel relay: a TCX ingress program that forwards the packets of
// a settled same-codec bridge direction (leg A's peer -> leg A's port) to leg
// B's peer as leg B's stream, without waking the daemon. The daemon installs
// one rule per direction (crates/switchd/src/media/kernel/) and reads the
// counters back; the rewrite is the one switchd's own relay does: addresses
// and ports, payload type (marker kept), sequence number and timestamp plus
// fixed offsets, SSRC. Anything else continues to the stack untouched and
// reaches the daemon: other payload types (telephone-events), another SSRC
// or source, RTP with padding, an extension or CSRCs, IP options, fragments.
//
// Built by build.sh next to it; the object is committed and embedded.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define TCX_NEXT -1

struct rule_key {
	__u32 addr; /* leg A's local IPv4, network order; 0 for a wildcard bind */
	__u16 port; /* leg A's local RTP port, host order */
	__u16 pad;
};

struct rule {
	/* match */
	__u32 from_addr; /* network order */
	__u16 from_port; /* host order */
	__u8 pt_in;
	__u8 pt_out;
	__u32 ssrc_in; /* host order */
	/* rewrite */
	__u32 egress_addr; /* network order; 0: the packet's own destination */
	__u16 egress_port; /* host order */
	__u16 to_port;     /* host order */
	__u32 to_addr;     /* network order */
	__u32 ssrc_out;
	__u32 ts_offset;
	__u16 seq_offset;
	__u16 pad;
	__u32 clock_rate;
	__u32 egress_ifindex; /* 0: the peer is on this host */
};

/* Apart from the rule, so that removing the rule first stops the forwarding
 * and the counters read after it are final. */
struct counters {
	__u64 packets;
	__u64 payload_bytes;
	__u64 last_ns;
	__u32 highest_seq; /* bit 16 set once a packet was seen */
	__u32 highest_ts;
	__u32 jitter_x16;
	__u32 last_transit;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct rule_key);
	__type(value, struct rule);
} RULES SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct rule_key);
	__type(value, struct counters);
} COUNTERS SEC(".maps");

#define ETH_LEN 14
#define IP_LEN 20
#define UDP_OFF (ETH_LEN + IP_LEN)
#define RTP_OFF (UDP_OFF + 8)
#define RTP_LEN 12

#define IP_CSUM_OFF (ETH_LEN + offsetof(struct iphdr, check))
#define UDP_CSUM_OFF (UDP_OFF + offsetof(struct udphdr, check))

static __always_inline int rewrite32(struct __sk_buff *skb, __u32 off, __u32 old, __u32 new,
				     __u32 csum_flags)
{
	if (old == new)
		return 0;
	if (bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old, new, csum_flags | BPF_F_MARK_MANGLED_0 | 4))
		return -1;
	return bpf_skb_store_bytes(skb, off, &new, 4, 0);
}

SEC("classifier")
int kernel_relay(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	if (data + RTP_OFF + RTP_LEN > data_end)
		return TCX_NEXT;
	struct ethhdr *eth = data;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return TCX_NEXT;
	struct iphdr *ip = data + ETH_LEN;
	if (ip->version != 4 || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return TCX_NEXT;
	if (ip->frag_off & bpf_htons(0x3fff)) /* MF or an offset: a fragment */
		return TCX_NEXT;
	struct udphdr *udp = data + UDP_OFF;
	__u16 udp_len = bpf_ntohs(udp->len);
	if (udp_len < 8 + RTP_LEN || data + UDP_OFF + udp_len > data_end ||
	    bpf_ntohs(ip->tot_len) != IP_LEN + udp_len)
		return TCX_NEXT;
	/* One datagram per skb: a GRO-coalesced one would be rewritten only in
	 * its first segment. */
	if (skb->gso_size)
		return TCX_NEXT;
	__u8 *rtp = data + RTP_OFF;
	/* version 2, no padding, no extension, no CSRC */
	if (rtp[0] != 0x80)
		return TCX_NEXT;

	struct rule_key key = { .addr = ip->daddr, .port = bpf_ntohs(udp->dest) };
	struct rule *rule = bpf_map_lookup_elem(&RULES, &key);
	if (!rule) {
		key.addr = 0;
		rule = bpf_map_lookup_elem(&RULES, &key);
		if (!rule)
			return TCX_NEXT;
	}
	struct counters *count = bpf_map_lookup_elem(&COUNTERS, &key);
	if (!count)
		return TCX_NEXT;
	__u32 ssrc = bpf_ntohl(*(__u32 *)(rtp + 8));
	if (ip->saddr != rule->from_addr || bpf_ntohs(udp->source) != rule->from_port ||
	    (rtp[1] & 0x7f) != rule->pt_in || ssrc != rule->ssrc_in)
		return TCX_NEXT;

	__u32 old_saddr = ip->saddr, old_daddr = ip->daddr;
	__u32 new_saddr = rule->egress_addr ? rule->egress_addr : old_daddr;
	__u32 new_daddr = rule->to_addr;
	__u32 egress_ifindex = rule->egress_ifindex;

	__u16 seq = bpf_ntohs(*(__u16 *)(rtp + 2));
	__u32 ts = bpf_ntohl(*(__u32 *)(rtp + 4));
	__u8 marker = rtp[1] & 0x80;
	__u32 payload = udp_len - 8 - RTP_LEN;

	/* Counters (one flow's packets come 20 ms apart: plain updates suffice
	 * for all but the sums). */
	__sync_fetch_and_add(&count->packets, 1);
	__sync_fetch_and_add(&count->payload_bytes, payload);
	__u64 now = bpf_ktime_get_ns();
	count->last_ns = now;
	__u32 highest = count->highest_seq;
	if (!(highest & 0x10000) || (__s16)(seq - (__u16)highest) > 0) {
		count->highest_seq = 0x10000 | seq;
		count->highest_ts = ts;
	}
	__u32 rate = rule->clock_rate;
	__u32 arrival = (__u32)((now / 1000) * rate / 1000000);
	__u32 transit = arrival - ts;
	if (highest & 0x10000) {
		__s32 d = (__s32)(transit - count->last_transit);
		if (d < 0)
			d = -d;
		__u32 j = count->jitter_x16;
		count->jitter_x16 = j + (__u32)d - ((j + 8) >> 4);
	}
	count->last_transit = transit;

	/* The rewritten header fields, network order. */
	__u16 old_ports[2] = { udp->source, udp->dest };
	__u16 new_ports[2] = { bpf_htons(rule->egress_port), bpf_htons(rule->to_port) };
	__u32 old_w0 = *(__u32 *)rtp; /* V/P/X/CC, M/PT, seq */
	__u8 w0[4] = { 0x80, marker | rule->pt_out };
	*(__u16 *)(w0 + 2) = bpf_htons(seq + rule->seq_offset);
	__u32 new_w0 = *(__u32 *)w0;
	__u32 old_ts = *(__u32 *)(rtp + 4);
	__u32 new_ts = bpf_htonl(ts + rule->ts_offset);
	__u32 old_ssrc = *(__u32 *)(rtp + 8);
	__u32 new_ssrc = bpf_htonl(rule->ssrc_out);
	/* The packet leaves as the daemon's own would: a fresh TTL. */
	__u16 old_ttl_proto = *(__u16 *)((__u8 *)ip + offsetof(struct iphdr, ttl));
	__u8 ttl_proto[2] = { 64, IPPROTO_UDP };
	__u16 new_ttl_proto = *(__u16 *)ttl_proto;

	/* From here on the helpers change the packet: no pointer into it is used. */
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_saddr, new_saddr, 4) ||
	    bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_daddr, new_daddr, 4) ||
	    bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_ttl_proto, new_ttl_proto, 2) ||
	    bpf_skb_store_bytes(skb, ETH_LEN + offsetof(struct iphdr, ttl), &new_ttl_proto, 2, 0))
		return TC_ACT_SHOT;
	if (rewrite32(skb, ETH_LEN + offsetof(struct iphdr, saddr), old_saddr, new_saddr,
		      BPF_F_PSEUDO_HDR) ||
	    rewrite32(skb, ETH_LEN + offsetof(struct iphdr, daddr), old_daddr, new_daddr,
		      BPF_F_PSEUDO_HDR) ||
	    rewrite32(skb, UDP_OFF, *(__u32 *)old_ports, *(__u32 *)new_ports, 0) ||
	    rewrite32(skb, RTP_OFF, old_w0, new_w0, 0) ||
	    rewrite32(skb, RTP_OFF + 4, old_ts, new_ts, 0) ||
	    rewrite32(skb, RTP_OFF + 8, old_ssrc, new_ssrc, 0))
		return TC_ACT_SHOT;

	/* A peer on this host: the stack delivers the packet to its socket (the
	 * skb keeps its local route). Otherwise out of the interface the daemon
	 * found the route through, the next hop resolved by the kernel. */
	if (!egress_ifindex)
		return TC_ACT_OK;
	return bpf_redirect_neigh(egress_ifindex, 0, 0, 0);
}

char LICENSE[] SEC("license") = "GPL";
