//! SIP messages as text and SDP bodies: reading what the daemon sends,
//! writing offers and answers that announce an
//! [`RtpPeer`](crate::audio::rtp::RtpPeer).

use std::net::{IpAddr, SocketAddr};

/// A SIP message received, as text.
#[derive(Debug, Clone)]
pub struct SipMessage {
    /// The whole datagram.
    pub text: String,
    /// Where it came from.
    pub from: SocketAddr,
}

/// Long and compact forms of the headers looked up here.
const COMPACT: &[(&str, &str)] = &[
    ("via", "v"),
    ("from", "f"),
    ("to", "t"),
    ("call-id", "i"),
    ("contact", "m"),
    ("content-type", "c"),
    ("content-length", "l"),
];

impl SipMessage {
    fn head(&self) -> &str {
        self.text.split("\r\n\r\n").next().unwrap_or_default()
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        let rest = self.text.strip_prefix("SIP/2.0 ")?;
        rest.get(..3)?.parse().ok()
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&str> {
        if self.text.starts_with("SIP/2.0") {
            return None;
        }
        self.text.split(' ').next()
    }

    /// Every value of header `name` (case-insensitive; compact form too),
    /// in order.
    pub fn headers(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        let compact = COMPACT
            .iter()
            .find(|(long, _)| *long == name)
            .map(|(_, short)| *short);
        self.head()
            .lines()
            .skip(1)
            .filter_map(|line| {
                let (key, value) = line.split_once(':')?;
                let key = key.trim().to_ascii_lowercase();
                (key == name || Some(key.as_str()) == compact).then_some(value.trim())
            })
            .collect()
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers(name).into_iter().next()
    }

    /// The body (after the blank line).
    pub fn body(&self) -> &str {
        self.text
            .split_once("\r\n\r\n")
            .map(|(_, body)| body)
            .unwrap_or_default()
    }

    /// The CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, &str)> {
        let (number, method) = self.header("cseq")?.split_once(' ')?;
        Some((number.trim().parse().ok()?, method.trim()))
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.header("call-id")
    }

    /// The URI inside the Contact header (`<…>` stripped).
    pub fn contact_uri(&self) -> Option<&str> {
        self.header("contact").map(addr_spec)
    }
}

/// The URI of a name-addr (`"x" <sip:a@b>;tag=1` → `sip:a@b`) or addr-spec.
pub fn addr_spec(value: &str) -> &str {
    match value
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
    {
        Some((uri, _)) => uri,
        None => value.split(';').next().unwrap_or(value).trim(),
    }
}

/// The media description of an SDP body: where RTP goes and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    /// The connection address (`c=`).
    pub addr: IpAddr,
    /// The audio port (`m=audio`).
    pub port: u16,
    /// Payload types of the audio line, in order.
    pub formats: Vec<u8>,
    /// `a=rtpmap` entries: payload type and encoding (`telephone-event/8000`).
    pub rtpmaps: Vec<(u8, String)>,
}

impl Sdp {
    /// Parses the audio description of `body`; `None` without one.
    pub fn parse(body: &str) -> Option<Sdp> {
        let mut addr = None;
        let mut audio = None;
        let mut rtpmaps = Vec::new();
        for line in body.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("c=IN ") {
                let host = rest.split_whitespace().nth(1)?;
                addr = host.parse().ok().or(addr);
            } else if let Some(rest) = line.strip_prefix("m=audio ") {
                let mut fields = rest.split_whitespace();
                let port: u16 = fields.next()?.parse().ok()?;
                let formats = fields.skip(1).filter_map(|f| f.parse().ok()).collect();
                audio = Some((port, formats));
            } else if let Some(rest) = line.strip_prefix("a=rtpmap:") {
                let (pt, encoding) = rest.split_once(' ')?;
                rtpmaps.push((pt.parse().ok()?, encoding.trim().to_string()));
            }
        }
        let (port, formats) = audio?;
        Some(Sdp {
            addr: addr?,
            port,
            formats,
            rtpmaps,
        })
    }

    /// Where RTP goes.
    pub fn rtp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.addr, self.port)
    }

    /// The payload type mapped to telephone-event, if any.
    pub fn telephone_event(&self) -> Option<u8> {
        self.rtpmaps
            .iter()
            .find(|(_, encoding)| {
                encoding
                    .to_ascii_lowercase()
                    .starts_with("telephone-event/")
            })
            .map(|(pt, _)| *pt)
    }
}

/// An SDP offer or answer for RTP on 127.0.0.1:`port`: PCMU, plus
/// telephone-event 101 when `dtmf`.
pub fn sdp_body(port: u16, dtmf: bool) -> String {
    let (formats, dtmf_lines) = if dtmf {
        (
            "0 101",
            "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n",
        )
    } else {
        ("0", "")
    };
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {formats}\r\na=rtpmap:0 PCMU/8000\r\n{dtmf_lines}\
         a=ptime:20\r\na=sendrecv\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdp_answers_are_read_for_address_port_and_events() {
        let sdp = Sdp::parse(&sdp_body(40_000, true)).expect("audio");
        assert_eq!(sdp.rtp_addr(), "127.0.0.1:40000".parse().expect("addr"));
        assert_eq!(sdp.formats, vec![0, 101]);
        assert_eq!(sdp.telephone_event(), Some(101));
        assert_eq!(
            Sdp::parse(&sdp_body(40_000, false)).and_then(|s| s.telephone_event()),
            None
        );
        assert_eq!(Sdp::parse("v=0\r\nc=IN IP4 127.0.0.1\r\n"), None);
    }

    #[test]
    fn headers_are_found_in_long_and_compact_form() {
        let message = SipMessage {
            text: "SIP/2.0 200 OK\r\nv: SIP/2.0/UDP a\r\nVia: SIP/2.0/UDP b\r\ni: x@y\r\n\
                   CSeq: 7 INFO\r\nm: \"Me\" <sip:me@127.0.0.1:5>;expires=3\r\n\r\nbody"
                .into(),
            from: "127.0.0.1:1".parse().expect("addr"),
        };
        assert_eq!(message.status(), Some(200));
        assert_eq!(message.method(), None);
        assert_eq!(
            message.headers("via"),
            vec!["SIP/2.0/UDP a", "SIP/2.0/UDP b"]
        );
        assert_eq!(message.call_id(), Some("x@y"));
        assert_eq!(message.cseq(), Some((7, "INFO")));
        assert_eq!(message.contact_uri(), Some("sip:me@127.0.0.1:5"));
        assert_eq!(message.body(), "body");
        assert_eq!(addr_spec("sip:a@b;tag=1"), "sip:a@b");
    }
}
