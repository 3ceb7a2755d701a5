//! SDP (RFC 4566) parsing and printing, and audio offer/answer (RFC 3264).
//!
//! The parser is lenient where real phones are sloppy (unknown or junk
//! lines are skipped, `c=` may sit at session or media level, lone `\n`
//! line ends) and strict about size: every count is bounded.

mod codec;
mod negotiate;
#[cfg(test)]
mod tests;

pub use codec::{Codec, Direction};
pub use negotiate::{LocalMedia, Negotiated, SdpSession};

use crate::error::Error;
use std::fmt::Write as _;
use std::net::IpAddr;

/// Largest SDP body parsed.
pub const MAX_SDP_BYTES: usize = 16 * 1024;
/// Most lines in one SDP body.
pub const MAX_LINES: usize = 512;
/// Most `m=` sections.
pub const MAX_MEDIA: usize = 16;
/// Most formats on one `m=` line.
pub const MAX_FORMATS: usize = 64;
/// Most `a=` lines in one section.
pub const MAX_ATTRIBUTES: usize = 128;

/// `IN IP4` or `IN IP6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressType {
    /// IPv4.
    Ip4,
    /// IPv6.
    Ip6,
}

/// A `c=` line (or the address part of `o=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Address family.
    pub address_type: AddressType,
    /// The address as written (may be a host name, or carry `/ttl`).
    pub address: String,
}

impl Connection {
    /// For one of our addresses.
    pub fn from_ip(ip: IpAddr) -> Self {
        let address_type = if ip.is_ipv4() {
            AddressType::Ip4
        } else {
            AddressType::Ip6
        };
        Self {
            address_type,
            address: ip.to_string(),
        }
    }

    /// The address if it is a literal IP (multicast `/ttl` suffix ignored).
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.split('/').next()?.parse().ok()
    }

    fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split_whitespace();
        let (net, kind, address) = (parts.next()?, parts.next()?, parts.next()?);
        let address_type = match kind {
            _ if !net.eq_ignore_ascii_case("IN") => return None,
            k if k.eq_ignore_ascii_case("IP4") => AddressType::Ip4,
            k if k.eq_ignore_ascii_case("IP6") => AddressType::Ip6,
            _ => return None,
        };
        Some(Self {
            address_type,
            address: address.to_owned(),
        })
    }
}

impl std::fmt::Display for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.address_type {
            AddressType::Ip4 => "IP4",
            AddressType::Ip6 => "IP6",
        };
        write!(f, "IN {kind} {}", self.address)
    }
}

/// The `o=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name (`-` when none).
    pub username: String,
    /// Session id, kept as text: phones send numbers wider than 64 bits.
    pub session_id: String,
    /// Session version, as text.
    pub session_version: String,
    /// Address of the originator.
    pub connection: Connection,
}

/// An `a=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The name (before `:`).
    pub name: String,
    /// The value (after `:`), if any.
    pub value: Option<String>,
}

impl Attribute {
    /// `a=name:value`.
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            value: Some(value.into()),
        }
    }

    /// `a=name`.
    pub fn flag(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            value: None,
        }
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, …
    pub media: String,
    /// Transport port; 0 rejects or disables the stream.
    pub port: u16,
    /// Port count (`port/count`), rare.
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `RTP/SAVP`, …
    pub protocol: String,
    /// Formats (payload types for RTP) in preference order.
    pub formats: Vec<String>,
    /// Media-level `c=`.
    pub connection: Option<Connection>,
    /// Media-level attributes in order.
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    /// Values of attribute `name`.
    pub fn attribute_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        attribute_values(&self.attributes, name)
    }

    /// Whether flag attribute `name` is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The codec a payload type stands for here (rtpmap first, then the
    /// static table).
    pub fn codec_of(&self, pt: u8) -> Option<Codec> {
        let mapped = self.attribute_values("rtpmap").find_map(|v| {
            let (num, map) = v.split_once(char::is_whitespace)?;
            (num.trim().parse::<u8>().ok()? == pt).then_some(map)
        });
        match mapped {
            Some(map) => Codec::from_rtpmap(map),
            None => Codec::from_static_payload_type(pt),
        }
    }

    /// The `fmtp` value for a payload type.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attribute_values("fmtp").find_map(|v| {
            let (num, params) = v.split_once(char::is_whitespace)?;
            (num.trim().parse::<u8>().ok()? == pt).then_some(params.trim())
        })
    }

    /// Numeric payload types in order (others skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter(|pt| *pt < 128)
    }
}

fn attribute_values<'a>(
    attributes: &'a [Attribute],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    attributes
        .iter()
        .filter(move |a| a.name.eq_ignore_ascii_case(name))
        .filter_map(|a| a.value.as_deref())
}

/// A whole SDP session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// The `o=` line.
    pub origin: Origin,
    /// The `s=` line (`-` when empty).
    pub session_name: String,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// Session-level attributes.
    pub attributes: Vec<Attribute>,
    /// Media sections in order.
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// Parses an SDP body.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_SDP_BYTES {
            return Err(Error::SdpTooLarge {
                what: "bytes",
                limit: MAX_SDP_BYTES,
            });
        }
        let text = String::from_utf8_lossy(bytes);
        let bad = |line: usize, reason: &'static str| Error::MalformedSdp { line, reason };
        let mut lines = text
            .split('\n')
            .map(|l| l.trim_end_matches('\r'))
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, l)) if l.trim() == "v=0" => {}
            Some((n, _)) => return Err(bad(n + 1, "expected v=0")),
            None => return Err(bad(0, "empty")),
        }
        let (mut origin, mut session_name, mut connection) = (None, String::from("-"), None);
        let (mut attributes, mut media) = (Vec::new(), Vec::<MediaDescription>::new());
        for (count, (index, line)) in lines.enumerate() {
            if count >= MAX_LINES {
                return Err(Error::SdpTooLarge {
                    what: "lines",
                    limit: MAX_LINES,
                });
            }
            let number = index + 1;
            let Some((kind, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match (kind, media.last_mut()) {
                ("o", None) => {
                    origin = Some(parse_origin(value).ok_or(bad(number, "bad o= line"))?)
                }
                ("s", None) if !value.is_empty() => session_name = value.to_owned(),
                ("c", None) => {
                    connection = Some(Connection::parse(value).ok_or(bad(number, "bad c= line"))?)
                }
                ("c", Some(m)) => {
                    m.connection = Some(Connection::parse(value).ok_or(bad(number, "bad c= line"))?)
                }
                ("a", None) => push_attribute(&mut attributes, value)?,
                ("a", Some(m)) => push_attribute(&mut m.attributes, value)?,
                ("m", _) => {
                    if media.len() >= MAX_MEDIA {
                        return Err(Error::SdpTooLarge {
                            what: "media",
                            limit: MAX_MEDIA,
                        });
                    }
                    media.push(parse_media(value, number)?);
                }
                // t=, b=, i=, k=, … and junk: not needed for audio offer/answer.
                _ => {}
            }
        }
        let origin = origin.ok_or(bad(0, "missing o= line"))?;
        Ok(Self {
            origin,
            session_name,
            connection,
            attributes,
            media,
        })
    }

    /// Prints the description (CRLF line ends).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        let o = &self.origin;
        let _ = write!(
            out,
            "v=0\r\no={} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.connection
        );
        let _ = write!(
            out,
            "s={}\r\n",
            if self.session_name.is_empty() {
                "-"
            } else {
                &self.session_name
            }
        );
        if let Some(c) = &self.connection {
            let _ = write!(out, "c={c}\r\n");
        }
        out.push_str("t=0 0\r\n");
        write_attributes(&mut out, &self.attributes);
        for m in &self.media {
            let port = match m.port_count {
                Some(count) => format!("{}/{count}", m.port),
                None => m.port.to_string(),
            };
            let _ = write!(
                out,
                "m={} {port} {} {}\r\n",
                m.media,
                m.protocol,
                m.formats.join(" ")
            );
            if let Some(c) = &m.connection {
                let _ = write!(out, "c={c}\r\n");
            }
            write_attributes(&mut out, &m.attributes);
        }
        out.into_bytes()
    }

    /// The direction of media section `m`: its attribute, else the
    /// session's, else sendrecv.
    pub fn direction_of(&self, m: &MediaDescription) -> Direction {
        let find = |attrs: &[Attribute]| {
            attrs
                .iter()
                .find_map(|a| Direction::from_attribute(&a.name))
        };
        find(&m.attributes)
            .or_else(|| find(&self.attributes))
            .unwrap_or(Direction::SendRecv)
    }

    /// The connection that applies to media section `m`.
    pub fn connection_of<'a>(&'a self, m: &'a MediaDescription) -> Option<&'a Connection> {
        m.connection.as_ref().or(self.connection.as_ref())
    }

    /// The `a=ptime` for media section `m` (media level, then session).
    pub fn ptime_of(&self, m: &MediaDescription) -> Option<u32> {
        m.attribute_values("ptime")
            .chain(attribute_values(&self.attributes, "ptime"))
            .find_map(|v| v.trim().parse::<u32>().ok())
    }
}

fn write_attributes(out: &mut String, attributes: &[Attribute]) {
    for a in attributes {
        let _ = match &a.value {
            Some(v) => write!(out, "a={}:{v}\r\n", a.name),
            None => write!(out, "a={}\r\n", a.name),
        };
    }
}

fn push_attribute(attributes: &mut Vec<Attribute>, value: &str) -> Result<(), Error> {
    if attributes.len() >= MAX_ATTRIBUTES {
        return Err(Error::SdpTooLarge {
            what: "attributes",
            limit: MAX_ATTRIBUTES,
        });
    }
    let attribute = match value.split_once(':') {
        Some((name, v)) => Attribute::new(name.trim(), v.trim()),
        None => Attribute::flag(value),
    };
    if !attribute.name.is_empty() {
        attributes.push(attribute);
    }
    Ok(())
}

fn parse_origin(value: &str) -> Option<Origin> {
    let mut parts = value.split_whitespace();
    let username = parts.next()?.to_owned();
    let session_id = parts.next()?.to_owned();
    let session_version = parts.next()?.to_owned();
    let rest: Vec<&str> = parts.take(4).collect();
    let connection = Connection::parse(&rest.join(" "))?;
    Some(Origin {
        username,
        session_id,
        session_version,
        connection,
    })
}

fn parse_media(value: &str, line: usize) -> Result<MediaDescription, Error> {
    let bad = |reason| Error::MalformedSdp { line, reason };
    let mut parts = value.split_whitespace();
    let media = parts.next().ok_or(bad("empty m= line"))?.to_owned();
    let port_text = parts.next().ok_or(bad("m= line without port"))?;
    let (port, port_count) = match port_text.split_once('/') {
        Some((p, c)) => (
            p,
            Some(c.parse::<u16>().map_err(|_| bad("bad port count"))?),
        ),
        None => (port_text, None),
    };
    let port = port.parse::<u16>().map_err(|_| bad("bad port"))?;
    let protocol = parts
        .next()
        .ok_or(bad("m= line without protocol"))?
        .to_owned();
    let mut formats = Vec::new();
    for format in parts {
        if formats.len() >= MAX_FORMATS {
            return Err(Error::SdpTooLarge {
                what: "formats",
                limit: MAX_FORMATS,
            });
        }
        formats.push(format.to_owned());
    }
    Ok(MediaDescription {
        media,
        port,
        port_count,
        protocol,
        formats,
        connection: None,
        attributes: Vec::new(),
    })
}
