//! Reading and amending the top Via (RFC 3261 §18.2.1, §20.42; RFC 3581).
//!
//! `rsip`'s typed Via fails on IPv6 sent-by hosts and on LWS around the `/`
//! of the sent-protocol, both legal, so Via values are read here from text.

use std::net::IpAddr;

use rsip::headers::UntypedHeader;

use crate::error::Error;

/// The fields of one Via value, parameters kept in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViaInfo {
    /// Transport of the sent-protocol, upper-cased (`UDP`, `TCP`, `TLS`…).
    pub transport: String,
    /// sent-by host as written (IPv6 references keep their brackets).
    pub host: String,
    /// sent-by port, if given.
    pub port: Option<u16>,
    /// All parameters in order, names as written, values unquoted as written.
    pub params: Vec<(String, Option<String>)>,
}

impl ViaInfo {
    fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        self.param("received").flatten()
    }

    /// `None` without `rport`; `Some(None)` for a bare `rport` (a request
    /// asking for it, RFC 3581 §3); `Some(Some(port))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport").map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// The sent-by host as an IP address, if it is one.
    pub fn host_ip(&self) -> Option<IpAddr> {
        let bare = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'));
        bare.unwrap_or(&self.host).parse().ok()
    }

    fn set_param(&mut self, name: &str, value: Option<String>) {
        match self
            .params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.params.push((name.to_owned(), value)),
        }
    }

    /// Prints the value in canonical form (`SIP/2.0/UDP host:port;params`).
    pub fn to_value(&self) -> String {
        let mut out = format!("SIP/2.0/{} {}", self.transport, self.host);
        if let Some(port) = self.port {
            out.push_str(&format!(":{port}"));
        }
        for (name, value) in &self.params {
            out.push(';');
            out.push_str(name);
            if let Some(value) = value {
                out.push('=');
                out.push_str(value);
            }
        }
        out
    }
}

fn malformed(detail: &'static str) -> Error {
    Error::MalformedVia { detail }
}

struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t', '\r', '\n']);
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c| !keep(c)).unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    fn token(&mut self) -> &'a str {
        self.skip_ws();
        self.take_while(super::raw::is_token_char)
    }
}

/// Parses the first value of a Via header field; returns it and the length of
/// text it used (the next value, if any, follows a comma after that).
pub fn parse_via_value(text: &str) -> Result<(ViaInfo, usize), Error> {
    let mut cur = Cursor { rest: text };
    let name = cur.token();
    if !cur.eat('/') {
        return Err(malformed("no sent-protocol"));
    }
    let version = cur.token();
    if !name.eq_ignore_ascii_case("SIP") || version != "2.0" || !cur.eat('/') {
        return Err(malformed("sent-protocol is not SIP/2.0"));
    }
    let transport = cur.token().to_ascii_uppercase();
    if transport.is_empty() {
        return Err(malformed("no transport"));
    }
    cur.skip_ws();
    let host = if cur.rest.starts_with('[') {
        let end = cur
            .rest
            .find(']')
            .ok_or(malformed("unclosed IPv6 reference"))?;
        let (reference, rest) = cur.rest.split_at(end + 1);
        cur.rest = rest;
        reference
    } else {
        cur.take_while(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    };
    if host.is_empty() {
        return Err(malformed("no sent-by host"));
    }
    let mut info = ViaInfo {
        transport,
        host: host.to_owned(),
        port: None,
        params: Vec::new(),
    };
    if info.host.starts_with('[') && info.host_ip().is_none() {
        return Err(malformed("bad IPv6 reference"));
    }
    if cur.eat(':') {
        cur.skip_ws();
        let digits = cur.take_while(|c| c.is_ascii_digit());
        info.port = Some(digits.parse().map_err(|_| malformed("bad port"))?);
    }
    while cur.eat(';') {
        let name = cur.token();
        if name.is_empty() {
            return Err(malformed("empty parameter"));
        }
        let value = if cur.eat('=') {
            cur.skip_ws();
            let value = if cur.rest.starts_with('"') {
                let end = cur
                    .rest
                    .get(1..)
                    .and_then(|r| r.find('"'))
                    .ok_or(malformed("unclosed quote"))?;
                let (quoted, rest) = cur.rest.split_at(end + 2);
                cur.rest = rest;
                quoted
            } else {
                cur.take_while(|c| super::raw::is_token_char(c) || "[]:".contains(c))
            };
            if value.is_empty() {
                return Err(malformed("empty parameter value"));
            }
            Some(value.to_owned())
        } else {
            None
        };
        info.params.push((name.to_owned(), value));
    }
    cur.skip_ws();
    if !(cur.rest.is_empty() || cur.rest.starts_with(',')) {
        return Err(malformed("junk after Via value"));
    }
    Ok((info, text.len() - cur.rest.len()))
}

/// The top Via of a message's headers.
pub fn top_via(headers: &rsip::Headers) -> Result<ViaInfo, Error> {
    let via = headers
        .iter()
        .find_map(|h| match h {
            rsip::Header::Via(via) => Some(via),
            _ => None,
        })
        .ok_or(Error::MissingHeader { name: "Via" })?;
    parse_via_value(via.value()).map(|(info, _)| info)
}

/// Stamps the top Via of a received request with `received` and, if the
/// sender asked for it with a bare `rport`, with its source port (RFC 3261
/// §18.2.1, RFC 3581 §4). A sent-by that already names the source address is
/// left alone unless `rport` was asked, which requires `received` even then.
/// A stale `received` is dropped and the fresh one goes last.
pub fn stamp_received(request: &mut rsip::Request, source: IpAddr, port: u16) -> Result<(), Error> {
    let via = request
        .headers
        .iter_mut()
        .find_map(|h| match h {
            rsip::Header::Via(via) => Some(via),
            _ => None,
        })
        .ok_or(Error::MissingHeader { name: "Via" })?;
    let text = via.value().to_owned();
    let (mut info, used) = parse_via_value(&text)?;
    let asked_rport = info.rport().is_some();
    if info.host_ip() == Some(source) && !asked_rport {
        return Ok(());
    }
    if asked_rport {
        info.set_param("rport", Some(port.to_string()));
    }
    info.params
        .retain(|(name, _)| !name.eq_ignore_ascii_case("received"));
    info.params
        .push(("received".to_owned(), Some(source.to_string())));
    let rest = text.get(used..).unwrap_or_default();
    via.replace(format!("{}{rest}", info.to_value()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lws_laden_and_ipv6_values() {
        let (via, used) =
            parse_via_value("SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw , SIP/2.0/TCP b")
                .expect("parses");
        assert_eq!(via.transport, "UDP");
        assert_eq!(via.host, "192.0.2.2");
        assert_eq!(via.branch(), Some("390skdjuw"));
        assert_eq!(used, "SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw ".len());

        let (via, _) = parse_via_value(
            "SIP/2.0/UDP [2001:db8::9:1]:5070;rport;received=[2001:db8::9:255];branch=z9hG4bKa",
        )
        .expect("parses");
        assert_eq!(via.host_ip(), "2001:db8::9:1".parse().ok());
        assert_eq!(via.port, Some(5070));
        assert_eq!(via.rport(), Some(None));
        assert_eq!(via.received(), Some("[2001:db8::9:255]"));
    }

    #[test]
    fn refuses_malformed_values() {
        for text in [
            "SIP/2.0/UDP 192.0.2.15;;,;,,",
            "SIP/3.0/UDP h",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP h:x",
            "garbage",
        ] {
            assert!(parse_via_value(text).is_err(), "{text}");
        }
    }

    #[test]
    fn stamps_received_and_rport_on_the_top_value_only() {
        let mut request = rsip::Request {
            method: rsip::Method::Options,
            uri: rsip::Uri::default(),
            version: rsip::Version::V2,
            headers: vec![rsip::Header::Via(rsip::headers::Via::new(
                "SIP/2.0/UDP [2001:db8::1];rport;branch=z9hG4bKx, SIP/2.0/UDP b;rport",
            ))]
            .into(),
            body: Vec::new(),
        };
        stamp_received(&mut request, "2001:db8::2".parse().expect("ip"), 5062).expect("stamps");
        let via = top_via(&request.headers).expect("top via");
        assert_eq!(via.rport(), Some(Some(5062)));
        assert_eq!(via.received(), Some("2001:db8::2"));
        let rsip::Header::Via(raw) = &request.headers.iter().next().expect("via").clone() else {
            panic!("not a Via")
        };
        assert!(
            raw.value().ends_with(", SIP/2.0/UDP b;rport"),
            "{}",
            raw.value()
        );
    }

    fn request_with_via(value: &str) -> rsip::Request {
        rsip::Request {
            method: rsip::Method::Options,
            uri: rsip::Uri::default(),
            version: rsip::Version::V2,
            headers: vec![rsip::Header::Via(rsip::headers::Via::new(value))].into(),
            body: Vec::new(),
        }
    }

    fn first_header(request: &rsip::Request) -> String {
        request
            .headers
            .iter()
            .next()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    #[test]
    fn stamps_only_when_sent_by_differs_or_rport_was_asked() {
        let source: IpAddr = "192.0.2.4".parse().expect("ip");
        let mut asked =
            request_with_via("SIP/2.0/UDP pc33.example.com;rport;branch=z9hG4bK1, SIP/2.0/UDP x");
        stamp_received(&mut asked, source, 6000).expect("stamps");
        assert_eq!(
            first_header(&asked),
            "Via: SIP/2.0/UDP pc33.example.com;rport=6000;branch=z9hG4bK1;received=192.0.2.4, SIP/2.0/UDP x"
        );

        let mut same = request_with_via("SIP/2.0/UDP 192.0.2.4:6000;branch=z9hG4bK1");
        stamp_received(&mut same, source, 6000).expect("stamps");
        assert_eq!(
            first_header(&same),
            "Via: SIP/2.0/UDP 192.0.2.4:6000;branch=z9hG4bK1"
        );

        let mut stale =
            request_with_via("SIP/2.0/UDP 192.0.2.9;received=192.0.2.1;branch=z9hG4bK2");
        stamp_received(&mut stale, source, 6000).expect("stamps");
        assert_eq!(
            first_header(&stale),
            "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2;received=192.0.2.4"
        );
    }
}
