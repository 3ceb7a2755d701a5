//! Offer/answer for one audio stream (RFC 3264), hold (§8.4, RFC 6337).

use super::{
    Attribute, Codec, Connection, Direction, MediaDescription, Origin, SessionDescription,
};
use crate::error::Error;
use std::net::{IpAddr, SocketAddr};

/// What we can do on our side of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Our RTP address.
    pub address: IpAddr,
    /// Our RTP port (RTCP on port + 1 unless muxed).
    pub port: u16,
    /// Codecs in preference order; include [`Codec::TelephoneEvent`] to
    /// offer/accept DTMF events.
    pub codecs: Vec<Codec>,
    /// Our direction (SendOnly or Inactive to hold the peer).
    pub direction: Direction,
    /// Packetisation time we want to receive.
    pub ptime_ms: u32,
}

/// The outcome of an offer/answer exchange, for the media engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Where to send RTP; `None` when the stream is on hold with port 0 or
    /// `c=0.0.0.0`, or the address is a name we cannot use.
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP.
    pub remote_rtcp: Option<SocketAddr>,
    /// The audio codec.
    pub codec: Codec,
    /// Its payload type (the offerer's numbering).
    pub payload_type: u8,
    /// Payload type of telephone-event, if both sides use it.
    pub telephone_event: Option<u8>,
    /// Our direction after the exchange.
    pub direction: Direction,
    /// RTP and RTCP share one port (RFC 5761).
    pub rtcp_mux: bool,
    /// Packetisation time to send with (the peer's `a=ptime`, else ours).
    pub ptime_ms: u32,
}

/// Our side of the SDP offer/answer state of one call leg.
#[derive(Debug, Clone)]
pub struct SdpSession {
    session_id: u64,
    version: u64,
    last_local: Option<SessionDescription>,
    pending_offer: Option<SessionDescription>,
}

/// Packetisation times accepted from the peer; others fall back to ours.
const PTIME_RANGE: std::ops::RangeInclusive<u32> = 10..=120;

impl SdpSession {
    /// A session whose `o=` carries `session_id`; the first description
    /// has version 1.
    pub fn new(session_id: u64) -> Self {
        Self {
            session_id,
            version: 0,
            last_local: None,
            pending_offer: None,
        }
    }

    /// The last description we sent (offer or answer).
    pub fn last_local(&self) -> Option<&SessionDescription> {
        self.last_local.as_ref()
    }

    /// Whether an offer of ours awaits its answer.
    pub fn has_pending_offer(&self) -> bool {
        self.pending_offer.is_some()
    }

    /// Forgets a pending offer that was rejected (e.g. a re-INVITE got 488
    /// or 491): the previous negotiated state stays.
    pub fn abandon_offer(&mut self) {
        self.pending_offer = None;
    }

    /// Our offer for `local`.
    pub fn create_offer(&mut self, local: &LocalMedia) -> SessionDescription {
        let mut attributes = Vec::new();
        let mut formats = Vec::new();
        for codec in &local.codecs {
            let pt = codec.default_payload_type();
            if formats.contains(&pt.to_string()) {
                continue;
            }
            formats.push(pt.to_string());
            attributes.push(Attribute::new("rtpmap", format!("{pt} {}", codec.rtpmap())));
            if *codec == Codec::TelephoneEvent {
                attributes.push(Attribute::new("fmtp", format!("{pt} 0-16")));
            }
        }
        attributes.push(Attribute::new("ptime", local.ptime_ms.to_string()));
        attributes.push(Attribute::flag(local.direction.attribute()));
        let media = MediaDescription {
            media: "audio".to_owned(),
            port: local.port,
            port_count: None,
            protocol: "RTP/AVP".to_owned(),
            formats,
            connection: None,
            attributes,
        };
        let offer = self.stamp(local.address, vec![media]);
        self.pending_offer = Some(offer.clone());
        offer
    }

    /// Answers a received offer: the first audio stream with a codec we
    /// support is accepted with the offer's first such codec (keeping the
    /// offerer's order, RFC 3264 §6.1) plus telephone-event when both have
    /// it; every other stream is rejected with port 0, in order.
    /// [`Error::NoCommonCodec`] means: answer 488.
    pub fn answer(
        &mut self,
        offer: &SessionDescription,
        local: &LocalMedia,
    ) -> Result<(SessionDescription, Negotiated), Error> {
        let mut accepted: Option<Negotiated> = None;
        let mut media = Vec::with_capacity(offer.media.len());
        for m in &offer.media {
            if accepted.is_none()
                && let Some((codec, pt, te)) = select(m, local)
            {
                let remote = RemoteView::of(offer, m);
                let direction = Direction::from_flags(
                    local.direction.sends() && remote.direction.receives(),
                    local.direction.receives() && remote.direction.sends(),
                );
                let rtcp_mux = m.has_attribute("rtcp-mux");
                media.push(answer_media(m, local, (codec, pt, te), direction, rtcp_mux));
                accepted =
                    Some(remote.negotiated(codec, pt, te, direction, rtcp_mux, local.ptime_ms));
            } else {
                media.push(rejected(m));
            }
        }
        let negotiated = accepted.ok_or(Error::NoCommonCodec)?;
        self.pending_offer = None;
        Ok((self.stamp(local.address, media), negotiated))
    }

    /// Applies the answer to our pending offer.
    pub fn accept_answer(&mut self, answer: &SessionDescription) -> Result<Negotiated, Error> {
        let offer = self.pending_offer.take().ok_or(Error::NoPendingOffer)?;
        let ours = offer.media.first().ok_or(Error::NoCommonCodec)?;
        let theirs = answer
            .media
            .first()
            .filter(|m| m.media.eq_ignore_ascii_case("audio") && m.port != 0)
            .ok_or(Error::NoCommonCodec)?;
        let offered = |codec: Codec| {
            ours.payload_types()
                .any(|pt| ours.codec_of(pt) == Some(codec))
        };
        let codec_pt = theirs.payload_types().find_map(|pt| {
            theirs
                .codec_of(pt)
                .filter(|c| *c != Codec::TelephoneEvent && offered(*c))
                .map(|c| (c, pt))
        });
        let (codec, pt) = codec_pt.ok_or(Error::NoCommonCodec)?;
        let te = offered(Codec::TelephoneEvent)
            .then(|| {
                theirs
                    .payload_types()
                    .find(|pt| theirs.codec_of(*pt) == Some(Codec::TelephoneEvent))
            })
            .flatten();
        let our_direction = offer.direction_of(ours);
        let remote = RemoteView::of(answer, theirs);
        let direction = Direction::from_flags(
            our_direction.sends() && remote.direction.receives(),
            our_direction.receives() && remote.direction.sends(),
        );
        let rtcp_mux = ours.has_attribute("rtcp-mux") && theirs.has_attribute("rtcp-mux");
        let our_ptime = offer.ptime_of(ours).unwrap_or(20);
        Ok(remote.negotiated(codec, pt, te, direction, rtcp_mux, our_ptime))
    }

    /// Wraps media sections into a description with our origin, bumping the
    /// version only when the content changed (RFC 3264 §8).
    fn stamp(&mut self, address: IpAddr, media: Vec<MediaDescription>) -> SessionDescription {
        let connection = Connection::from_ip(address);
        let mut description = SessionDescription {
            origin: Origin {
                username: "-".to_owned(),
                session_id: self.session_id.to_string(),
                session_version: self.version.to_string(),
                connection: connection.clone(),
            },
            session_name: "-".to_owned(),
            connection: Some(connection),
            attributes: Vec::new(),
            media,
        };
        if self.last_local.as_ref() != Some(&description) {
            self.version = self.version.wrapping_add(1);
            description.origin.session_version = self.version.to_string();
        }
        self.last_local = Some(description.clone());
        description
    }
}

/// The offer's codec we take for stream `m`, its payload type, and the
/// telephone-event payload type.
fn select(m: &MediaDescription, local: &LocalMedia) -> Option<(Codec, u8, Option<u8>)> {
    let usable = m.media.eq_ignore_ascii_case("audio")
        && m.port != 0
        && (m.protocol.eq_ignore_ascii_case("RTP/AVP")
            || m.protocol.eq_ignore_ascii_case("RTP/AVPF"));
    if !usable {
        return None;
    }
    let (codec, pt) = m.payload_types().find_map(|pt| {
        let codec = m.codec_of(pt)?;
        (codec != Codec::TelephoneEvent && local.codecs.contains(&codec)).then_some((codec, pt))
    })?;
    let te = local
        .codecs
        .contains(&Codec::TelephoneEvent)
        .then(|| {
            m.payload_types()
                .find(|pt| m.codec_of(*pt) == Some(Codec::TelephoneEvent))
        })
        .flatten();
    Some((codec, pt, te))
}

fn answer_media(
    offered: &MediaDescription,
    local: &LocalMedia,
    (codec, pt, te): (Codec, u8, Option<u8>),
    direction: Direction,
    rtcp_mux: bool,
) -> MediaDescription {
    let mut formats = vec![pt.to_string()];
    let mut attributes = vec![Attribute::new("rtpmap", format!("{pt} {}", codec.rtpmap()))];
    if let Some(te) = te {
        formats.push(te.to_string());
        attributes.push(Attribute::new(
            "rtpmap",
            format!("{te} {}", Codec::TelephoneEvent.rtpmap()),
        ));
        let events = offered.fmtp(te).unwrap_or("0-16");
        attributes.push(Attribute::new("fmtp", format!("{te} {events}")));
    }
    attributes.push(Attribute::new("ptime", local.ptime_ms.to_string()));
    if rtcp_mux {
        attributes.push(Attribute::flag("rtcp-mux"));
    }
    attributes.push(Attribute::flag(direction.attribute()));
    MediaDescription {
        media: offered.media.clone(),
        port: local.port,
        port_count: None,
        protocol: offered.protocol.clone(),
        formats,
        connection: None,
        attributes,
    }
}

/// A stream we refuse: port 0, same media and protocol, one format
/// (RFC 3264 §6).
fn rejected(offered: &MediaDescription) -> MediaDescription {
    MediaDescription {
        media: offered.media.clone(),
        port: 0,
        port_count: None,
        protocol: offered.protocol.clone(),
        formats: vec![
            offered
                .formats
                .first()
                .cloned()
                .unwrap_or_else(|| "0".to_owned()),
        ],
        connection: None,
        attributes: Vec::new(),
    }
}

/// What the peer's description says about its end of one stream.
struct RemoteView {
    rtp: Option<SocketAddr>,
    rtcp_attribute: Option<(u16, Option<IpAddr>)>,
    direction: Direction,
    ptime: Option<u32>,
}

impl RemoteView {
    fn of(description: &SessionDescription, m: &MediaDescription) -> Self {
        let ip = description.connection_of(m).and_then(Connection::ip);
        let mut direction = description.direction_of(m);
        // Legacy hold (RFC 2543, RFC 3264 §8.4): c=0.0.0.0 means "do not
        // send to me", whatever the direction attribute says.
        if ip.is_some_and(|ip| ip.is_unspecified()) {
            direction = Direction::from_flags(direction.sends(), false);
        }
        let rtp = ip
            .filter(|ip| !ip.is_unspecified() && m.port != 0)
            .map(|ip| SocketAddr::new(ip, m.port));
        let rtcp_attribute = m.attribute_values("rtcp").find_map(|v| {
            let mut parts = v.split_whitespace();
            let port = parts.next()?.parse::<u16>().ok()?;
            let rest: Vec<&str> = parts.collect();
            let ip = Connection::parse(&rest.join(" ")).and_then(|c| c.ip());
            Some((port, ip))
        });
        let ptime = description.ptime_of(m).filter(|p| PTIME_RANGE.contains(p));
        Self {
            rtp,
            rtcp_attribute,
            direction,
            ptime,
        }
    }

    fn negotiated(
        &self,
        codec: Codec,
        payload_type: u8,
        telephone_event: Option<u8>,
        direction: Direction,
        rtcp_mux: bool,
        our_ptime: u32,
    ) -> Negotiated {
        let remote_rtcp = match (self.rtp, self.rtcp_attribute) {
            (None, _) => None,
            (Some(rtp), _) if rtcp_mux => Some(rtp),
            (Some(rtp), Some((port, ip))) => Some(SocketAddr::new(ip.unwrap_or(rtp.ip()), port)),
            (Some(rtp), None) => rtp
                .port()
                .checked_add(1)
                .map(|port| SocketAddr::new(rtp.ip(), port)),
        };
        Negotiated {
            remote_rtp: self.rtp,
            remote_rtcp,
            codec,
            payload_type,
            telephone_event,
            direction,
            rtcp_mux,
            ptime_ms: self.ptime.unwrap_or(our_ptime),
        }
    }
}
