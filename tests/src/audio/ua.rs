//! Just enough of a SIP user agent over UDP to be the far end of a call:
//! INVITE, ACK, BYE and INFO as a caller, answering an INVITE as a callee.
//!
//! Every datagram goes to the daemon's SIP address (or, for a response, to
//! where the request came from), which must be loopback.

use crate::audio::rtp::assert_loopback;
use crate::audio::sip::{Sdp, SipMessage};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// An established dialog, from our side.
#[derive(Debug, Clone)]
pub struct Dialog {
    /// Call-ID.
    pub call_id: String,
    /// Our From header value for requests we send (with our tag).
    pub local: String,
    /// Our To header value for requests we send (with their tag).
    pub remote: String,
    /// The Request-URI of our in-dialog requests (their Contact).
    pub remote_target: String,
    /// Our next CSeq.
    pub cseq: u32,
    /// Their SDP.
    pub remote_sdp: Sdp,
}

/// An INVITE we sent and have no final answer to yet.
#[derive(Debug, Clone)]
pub struct PendingInvite {
    /// Call-ID.
    pub call_id: String,
    from: String,
    request_uri: String,
    branch: String,
}

/// A user agent on 127.0.0.1 talking to one daemon.
#[derive(Debug)]
pub struct SipUa {
    socket: UdpSocket,
    daemon: SocketAddr,
    user: String,
    counter: u32,
    /// Requests answered on the fly while waiting for something else.
    pub other_requests: Vec<SipMessage>,
}

impl SipUa {
    /// A UA named `user` on a fresh port, talking to the daemon at `daemon`.
    pub fn bind(daemon: SocketAddr, user: &str) -> Self {
        assert_loopback(daemon);
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind SIP socket");
        Self {
            socket,
            daemon,
            user: user.to_string(),
            counter: 0,
            other_requests: Vec::new(),
        }
    }

    /// Our SIP address.
    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("SIP socket address")
    }

    /// A URI that reaches us.
    pub fn uri(&self) -> String {
        format!("sip:{}@{}", self.user, self.addr())
    }

    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!(
            "{what}{}x{}x{}",
            self.counter,
            self.addr().port(),
            std::process::id()
        )
    }

    fn send(&self, text: &str, to: SocketAddr) {
        assert_loopback(to);
        self.socket.send_to(text.as_bytes(), to).expect("send SIP");
    }

    /// The next message that `wanted` accepts, within `timeout`. Requests
    /// that it does not accept, but INVITE and ACK, are answered 200 (and
    /// kept in [`other_requests`](Self::other_requests)); other messages are
    /// dropped.
    pub fn receive(
        &mut self,
        timeout: Duration,
        mut wanted: impl FnMut(&SipMessage) -> bool,
    ) -> Option<SipMessage> {
        let deadline = Instant::now() + timeout;
        let mut buffer = vec![0u8; 65_535];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let _ = self.socket.set_read_timeout(Some(left));
            let Ok((len, from)) = self.socket.recv_from(&mut buffer) else {
                continue;
            };
            let text = String::from_utf8_lossy(buffer.get(..len).unwrap_or_default()).into_owned();
            let message = SipMessage { text, from };
            if wanted(&message) {
                return Some(message);
            }
            // An INVITE (a retransmission, while we are answering it) is
            // answered by whoever handles it; an ACK is never answered.
            if message
                .method()
                .is_some_and(|m| m != "ACK" && m != "INVITE")
            {
                self.respond(&message, 200, "OK", None, None);
                self.other_requests.push(message);
            }
        }
    }

    /// Answers `request` with `status`; `to_tag` is added to To when it has
    /// none; `body` is SDP.
    pub fn respond(
        &self,
        request: &SipMessage,
        status: u16,
        reason: &str,
        to_tag: Option<&str>,
        body: Option<&str>,
    ) {
        let mut text = format!("SIP/2.0 {status} {reason}\r\n");
        for via in request.headers("via") {
            text.push_str(&format!("Via: {via}\r\n"));
        }
        let to = request.header("to").unwrap_or_default();
        let to = match to_tag {
            Some(tag) if !to.contains(";tag=") => format!("{to};tag={tag}"),
            _ => to.to_string(),
        };
        text.push_str(&format!(
            "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\nContact: <{}>\r\n",
            request.header("from").unwrap_or_default(),
            request.call_id().unwrap_or_default(),
            request.header("cseq").unwrap_or_default(),
            self.uri()
        ));
        match body {
            Some(body) => text.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => text.push_str("Content-Length: 0\r\n\r\n"),
        }
        self.send(&text, request.from);
    }

    fn request_text(
        &mut self,
        method: &str,
        request_uri: &str,
        (from, to, call_id, cseq): (&str, &str, &str, u32),
        branch: &str,
        body: Option<(&str, &str)>,
    ) -> String {
        let mut text = format!(
            "{method} {request_uri} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bK{branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\nContact: <{}>\r\n",
            self.addr(),
            self.uri()
        );
        match body {
            Some((content_type, body)) => text.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => text.push_str("Content-Length: 0\r\n\r\n"),
        }
        text
    }

    /// Sends an INVITE for `to_user` with `sdp`.
    pub fn send_invite(&mut self, to_user: &str, sdp: &str) -> PendingInvite {
        let call_id = format!("{}@127.0.0.1", self.fresh("audio"));
        let tag = self.fresh("t");
        let from = format!("<sip:{}@127.0.0.1>;tag={tag}", self.user);
        let to = format!("<sip:{to_user}@{}>", self.daemon);
        let request_uri = format!("sip:{to_user}@{}", self.daemon);
        let branch = self.fresh("b");
        let text = self.request_text(
            "INVITE",
            &request_uri,
            (&from, &to, &call_id, 1),
            &branch,
            Some(("application/sdp", sdp)),
        );
        self.send(&text, self.daemon);
        PendingInvite {
            call_id,
            from,
            request_uri,
            branch,
        }
    }

    /// Waits for the final answer to `invite`: a 2xx is ACKed and becomes a
    /// dialog; anything else is `Err(status)` (ACKed too, as the
    /// transaction requires).
    pub fn await_answer(
        &mut self,
        invite: &PendingInvite,
        timeout: Duration,
    ) -> Result<Dialog, u16> {
        let call_id = invite.call_id.clone();
        let response = self
            .receive(timeout, |m| {
                m.call_id() == Some(call_id.as_str())
                    && m.status().is_some_and(|s| s >= 200)
                    && m.cseq().is_some_and(|(_, method)| method == "INVITE")
            })
            .unwrap_or_else(|| panic!("no final answer to INVITE {call_id} within {timeout:?}"));
        let status = response.status().unwrap_or_default();
        let to = response.header("to").unwrap_or_default().to_string();
        // A 2xx ACK is a new transaction; a failure's ACK reuses the INVITE's branch.
        let (ack_uri, branch) = if status < 300 {
            let target = response
                .contact_uri()
                .unwrap_or(&invite.request_uri)
                .to_string();
            (target, self.fresh("b"))
        } else {
            (invite.request_uri.clone(), invite.branch.clone())
        };
        let ack = self.request_text(
            "ACK",
            &ack_uri,
            (&invite.from, &to, &call_id, 1),
            &branch,
            None,
        );
        self.send(&ack, self.daemon);
        if status >= 300 {
            return Err(status);
        }
        let remote_sdp = Sdp::parse(response.body())
            .unwrap_or_else(|| panic!("200 to INVITE without an audio SDP:\n{}", response.text));
        Ok(Dialog {
            call_id,
            local: invite.from.clone(),
            remote: to,
            remote_target: ack_uri,
            cseq: 2,
            remote_sdp,
        })
    }

    /// Waits for an INVITE, answers it 200 with `sdp` and waits for the ACK
    /// (repeating the 200 until it comes).
    pub fn accept_invite(&mut self, sdp: &str, timeout: Duration) -> Dialog {
        let invite = self
            .receive(timeout, |m| m.method() == Some("INVITE"))
            .unwrap_or_else(|| panic!("no INVITE reached {} within {timeout:?}", self.uri()));
        let tag = self.fresh("t");
        let remote_sdp = Sdp::parse(invite.body())
            .unwrap_or_else(|| panic!("INVITE without an audio SDP offer:\n{}", invite.text));
        let call_id = invite.call_id().unwrap_or_default().to_string();
        let deadline = Instant::now() + timeout;
        loop {
            self.respond(&invite, 200, "OK", Some(&tag), Some(sdp));
            let ack = self.receive(Duration::from_millis(500), |m| {
                m.method() == Some("ACK") && m.call_id() == Some(call_id.as_str())
            });
            if ack.is_some() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no ACK for our 200 within {timeout:?}"
            );
        }
        Dialog {
            call_id,
            local: format!("{};tag={tag}", invite.header("to").unwrap_or_default()),
            remote: invite.header("from").unwrap_or_default().to_string(),
            remote_target: invite
                .contact_uri()
                .map(str::to_string)
                .unwrap_or_else(|| format!("sip:{}", self.daemon)),
            cseq: 1,
            remote_sdp,
        }
    }

    /// Sends `method` in `dialog` (with an optional `(content type, body)`)
    /// and returns the final response's status.
    pub fn request(
        &mut self,
        dialog: &mut Dialog,
        method: &str,
        body: Option<(&str, &str)>,
        timeout: Duration,
    ) -> u16 {
        let cseq = dialog.cseq;
        dialog.cseq += 1;
        let branch = self.fresh("b");
        let text = self.request_text(
            method,
            &dialog.remote_target.clone(),
            (&dialog.local, &dialog.remote, &dialog.call_id, cseq),
            &branch,
            body,
        );
        self.send(&text, self.daemon);
        let call_id = dialog.call_id.clone();
        let response = self
            .receive(timeout, |m| {
                m.call_id() == Some(call_id.as_str())
                    && m.status().is_some_and(|s| s >= 200)
                    && m.cseq() == Some((cseq, method))
            })
            .unwrap_or_else(|| panic!("no final answer to {method} within {timeout:?}"));
        response.status().unwrap_or_default()
    }
}
