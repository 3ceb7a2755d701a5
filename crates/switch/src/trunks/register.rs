//! Registration of trunks: REGISTER with digest, refresh at half the
//! granted lifetime, retries with backoff, un-REGISTER.

use super::{
    DEFAULT_EXPIRES, MAX_AUTH_ATTEMPTS, RETRY_FIRST, RETRY_MAX, RegState, Trunk, transport_of,
};
use crate::sipmsg;
use crate::switch::{ClientPurpose, ResolvePurpose, Switch};
use crate::timers::TimerKey;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchd_control::EventKind;
use switchd_sip::dialog::parse_uri;
use switchd_sip::rsip::headers::UntypedHeader;
use switchd_sip::rsip::{self, Header};
use switchd_sip::{ClientTxId, Peer};

impl Switch {
    /// Sends (or schedules) the next REGISTER of a trunk.
    pub(crate) fn start_register(&mut self, now: Instant, name: &str) {
        let Some(trunk) = self.trunks.by_name.get_mut(name) else {
            return;
        };
        if !trunk.spec.register || self.draining {
            return;
        }
        trunk.auth_attempts = 0;
        trunk.expires = trunk.spec.register_expires.unwrap_or(DEFAULT_EXPIRES);
        let port = trunk.spec.port.unwrap_or(5060);
        let host = trunk
            .spec
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        match host.parse() {
            Ok(ip) => self.register_resolved(now, name, Some(SocketAddr::new(ip, port))),
            Err(_) => {
                if self
                    .request_resolve(host, port, ResolvePurpose::Register(name.to_owned()))
                    .is_none()
                {
                    self.on_register_failed(now, name, None, "too many pending resolves");
                }
            }
        }
    }

    pub(crate) fn register_resolved(
        &mut self,
        now: Instant,
        name: &str,
        address: Option<SocketAddr>,
    ) {
        let Some(trunk) = self.trunks.by_name.get(name) else {
            return;
        };
        let Some(address) = address else {
            return self.on_register_failed(now, name, None, "host did not resolve");
        };
        let remote = SocketAddr::new(address.ip(), trunk.spec.port.unwrap_or(5060));
        let peer = Peer {
            transport: transport_of(&trunk.spec),
            remote,
            local: None,
        };
        self.send_register(now, name, peer);
    }

    fn send_register(&mut self, now: Instant, name: &str, peer: Peer) {
        let Some(mut trunk) = self.trunks.by_name.remove(name) else {
            return;
        };
        let request = self.register_request(&mut trunk, peer);
        let sent = request.and_then(|r| self.endpoint.send_request(now, r, peer).ok());
        trunk.tx = sent;
        if trunk.state != RegState::Registered {
            trunk.state = RegState::Registering;
        }
        self.trunks.by_name.insert(name.to_owned(), trunk);
        match sent {
            Some(tx) => {
                self.client_txs
                    .insert(tx, ClientPurpose::Register(name.to_owned()));
            }
            None => self.on_register_failed(now, name, None, "could not send REGISTER"),
        }
    }

    /// A REGISTER for `trunk` (its next CSeq, its `expires`).
    pub(super) fn register_request(&self, trunk: &mut Trunk, peer: Peer) -> Option<rsip::Request> {
        let local = self.local_address(&peer)?;
        let spec = &trunk.spec;
        let user = spec
            .username
            .clone()
            .unwrap_or_else(|| "switchd".to_owned());
        let host_port = match spec.port {
            Some(port) => format!("{}:{port}", spec.host),
            None => spec.host.clone(),
        };
        let uri = parse_uri(&format!("sip:{host_port}")).ok()?;
        let aor = format!("<sip:{user}@{}>", spec.host);
        let contact = sipmsg::contact_uri(Some(&user), local, peer.transport);
        trunk.cseq = trunk.cseq.wrapping_add(1).max(1);
        let mut headers = rsip::Headers::default();
        headers.push(Header::MaxForwards(rsip::headers::MaxForwards::new("70")));
        headers.push(Header::From(rsip::headers::From::new(format!(
            "{aor};tag={}",
            trunk.from_tag
        ))));
        headers.push(Header::To(rsip::headers::To::new(aor)));
        headers.push(Header::CallId(rsip::headers::CallId::new(
            trunk.call_id.clone(),
        )));
        headers.push(Header::CSeq(rsip::headers::CSeq::new(format!(
            "{} REGISTER",
            trunk.cseq
        ))));
        headers.push(Header::Contact(rsip::headers::Contact::new(format!(
            "<{contact}>"
        ))));
        headers.push(Header::Expires(rsip::headers::Expires::new(
            trunk.expires.to_string(),
        )));
        headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
            "0",
        )));
        let request = rsip::Request {
            method: rsip::Method::Register,
            uri,
            version: rsip::Version::V2,
            headers,
            body: Vec::new(),
        };
        trunk.last_request = Some(request.clone());
        trunk.peer = Some(peer);
        Some(request)
    }

    pub(crate) fn on_register_response(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        name: &str,
        response: &rsip::Response,
    ) {
        let status = sipmsg::status(response);
        if status < 200 {
            return;
        }
        self.client_txs.remove(&tx);
        let credentials = self.trunks.credentials(name);
        let Some(trunk) = self.trunks.by_name.get_mut(name) else {
            return;
        };
        if trunk.tx != Some(tx) {
            return;
        }
        trunk.tx = None;
        match status {
            200..=299 => {
                let granted = sipmsg::granted_expires(&response.headers).unwrap_or(trunk.expires);
                if trunk.expires == 0 || granted == 0 {
                    trunk.state = RegState::Disabled;
                    return;
                }
                trunk.state = RegState::Registered;
                trunk.backoff = RETRY_FIRST;
                // Refresh at half the lifetime: early enough to survive a
                // lost REGISTER and its retransmissions.
                let refresh = Duration::from_secs(u64::from(granted / 2).max(1));
                self.timers
                    .set(TimerKey::Register(name.to_owned()), now + refresh);
                self.events.push_back(EventKind::TrunkRegistered {
                    trunk: name.to_owned(),
                    expires: granted,
                });
            }
            401 | 407 => {
                let retry = match (&credentials, &trunk.last_request) {
                    (Some(credentials), Some(request))
                        if trunk.auth_attempts < MAX_AUTH_ATTEMPTS =>
                    {
                        trunk.auth.authorize(request, response, credentials).ok()
                    }
                    _ => None,
                };
                let (Some(retry), Some(peer)) = (retry, trunk.peer) else {
                    return self.on_register_failed(
                        now,
                        name,
                        Some(status),
                        "authentication failed",
                    );
                };
                trunk.auth_attempts += 1;
                trunk.cseq = sipmsg::cseq_number(&retry.headers).unwrap_or(trunk.cseq);
                trunk.last_request = Some(retry.clone());
                match self.endpoint.send_request(now, retry, peer) {
                    Ok(tx) => {
                        if let Some(trunk) = self.trunks.by_name.get_mut(name) {
                            trunk.tx = Some(tx);
                        }
                        self.client_txs
                            .insert(tx, ClientPurpose::Register(name.to_owned()));
                    }
                    Err(_) => {
                        self.on_register_failed(now, name, Some(status), "could not send REGISTER")
                    }
                }
            }
            _ => self.on_register_failed(now, name, Some(status), "registrar refused"),
        }
    }

    /// Reports the failure and retries later, backing off.
    pub(crate) fn on_register_failed(
        &mut self,
        now: Instant,
        name: &str,
        sip_status: Option<u16>,
        reason: &str,
    ) {
        let Some(trunk) = self.trunks.by_name.get_mut(name) else {
            return;
        };
        trunk.tx = None;
        if trunk.expires == 0 {
            trunk.state = RegState::Disabled;
            return;
        }
        trunk.state = RegState::Failed;
        let delay = trunk.backoff;
        trunk.backoff = (trunk.backoff * 2).min(RETRY_MAX);
        self.timers
            .set(TimerKey::Register(name.to_owned()), now + delay);
        self.events.push_back(EventKind::TrunkFailed {
            trunk: name.to_owned(),
            sip_status,
            reason: reason.to_owned(),
        });
    }

    /// Un-registers every registered trunk (Expires 0), best effort: for drain.
    pub(crate) fn unregister_all(&mut self, now: Instant) {
        let names: Vec<String> = self.trunks.by_name.keys().cloned().collect();
        for name in names {
            self.timers.cancel(&TimerKey::Register(name.clone()));
            let Some(mut trunk) = self.trunks.by_name.remove(&name) else {
                continue;
            };
            if trunk.state == RegState::Registered
                && let Some(peer) = trunk.peer
            {
                trunk.expires = 0;
                if let Some(request) = self.register_request(&mut trunk, peer)
                    && let Ok(tx) = self.endpoint.send_request(now, request, peer)
                {
                    trunk.tx = Some(tx);
                    self.client_txs
                        .insert(tx, ClientPurpose::Register(name.clone()));
                }
            }
            self.trunks.by_name.insert(name, trunk);
        }
    }
}
