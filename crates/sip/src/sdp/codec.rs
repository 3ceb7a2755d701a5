//! The codecs and directions that audio offer/answer negotiates.

/// Audio codecs this crate negotiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
    /// Opus (`opus/48000/2`), dynamic payload type.
    Opus,
    /// RFC 4733 DTMF events (`telephone-event/8000`), dynamic payload type.
    TelephoneEvent,
}

impl Codec {
    /// The `rtpmap` value: encoding name, clock rate, channels.
    pub fn rtpmap(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU/8000",
            Codec::Pcma => "PCMA/8000",
            Codec::Opus => "opus/48000/2",
            Codec::TelephoneEvent => "telephone-event/8000",
        }
    }

    /// The payload type we offer it with.
    pub fn default_payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
            Codec::Opus => 111,
            Codec::TelephoneEvent => 101,
        }
    }

    /// The codec an `rtpmap` value names, if we support it.
    pub fn from_rtpmap(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('/');
        let name = parts.next()?;
        let rate = parts.next()?.trim();
        let channels = parts.next().map(str::trim);
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        match (rate, channels) {
            ("8000", None | Some("1")) if is("PCMU") => Some(Codec::Pcmu),
            ("8000", None | Some("1")) if is("PCMA") => Some(Codec::Pcma),
            // RFC 7587 mandates `/2`; some phones omit it.
            ("48000", None | Some("2")) if is("opus") => Some(Codec::Opus),
            ("8000", None | Some("1")) if is("telephone-event") => Some(Codec::TelephoneEvent),
            _ => None,
        }
    }

    /// The codec behind a static payload type.
    pub fn from_static_payload_type(pt: u8) -> Option<Self> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }
}

/// Media direction attribute (RFC 4566 §6, RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Send and receive.
    SendRecv,
    /// Send only (the usual way to put the peer on hold).
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// From "sends" and "receives".
    pub fn from_flags(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Whether media flows out.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether media flows in.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The attribute name.
    pub fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    pub(crate) fn from_attribute(name: &str) -> Option<Self> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| name.eq_ignore_ascii_case(d.attribute()))
    }
}
