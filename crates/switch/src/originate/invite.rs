//! The INVITE of an outbound leg: From (or RFC 3323/3325 privacy),
//! To, Call-ID, Contact, extra headers and the SDP offer.

use super::FromSpec;
use crate::leg::Side;
use crate::sipmsg::{self, SDP};
use crate::switch::{ClientPurpose, Switch};
use std::net::SocketAddr;
use std::time::Instant;
use switchd_control::HangupCause;
use switchd_control::command::TrunkSpec;
use switchd_sip::Peer;
use switchd_sip::rsip::headers::UntypedHeader;
use switchd_sip::rsip::{self, Header};

impl Switch {
    /// Builds and sends the INVITE of an outbound leg to `peer`.
    pub(super) fn place_call(&mut self, now: Instant, id: &str, peer: Peer) {
        let Some(local) = self.local_address(&peer) else {
            return self.finish(now, id, HangupCause::NormalTemporaryFailure, None);
        };
        if let Some(leg) = self.legs.get_mut(id) {
            leg.peer = Some(peer);
        }
        let Some(media) = self.local_media(id) else {
            return self.finish(now, id, HangupCause::NormalTemporaryFailure, None);
        };
        let Some(leg) = self.legs.get_mut(id) else {
            return;
        };
        let Side::Outbound(call) = &mut leg.side else {
            return;
        };
        let Some(plan) = call.plan.take() else { return };
        let our_host = match local {
            SocketAddr::V4(v4) => v4.ip().to_string(),
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        };
        let from_uri = match (&plan.from, &plan.trunk) {
            (Some(FromSpec::Uri(uri)), _) => uri.to_string(),
            (Some(FromSpec::User(user)), Some(trunk)) => format!("sip:{user}@{}", trunk.host),
            (Some(FromSpec::User(user)), None) => format!("sip:{user}@{our_host}"),
            (
                None,
                Some(TrunkSpec {
                    username: Some(user),
                    host,
                    ..
                }),
            ) => format!("sip:{user}@{host}"),
            (None, _) => format!("sip:switchd@{our_host}"),
        };
        let display = plan.display_name.as_deref().map(quote);
        let call_id = plan
            .call_id_seed
            .replace("@switchd", &format!("@{our_host}"));
        let contact = sipmsg::contact_uri(None, local, peer.transport);
        let mut headers = rsip::Headers::default();
        headers.push(Header::MaxForwards(rsip::headers::MaxForwards::new("70")));
        if plan.privacy {
            headers.push(Header::From(rsip::headers::From::new(format!(
                "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag={}",
                leg.local_tag
            ))));
            sipmsg::push_header(&mut headers, "Privacy", "id");
            let asserted = match &display {
                Some(name) => format!("{name} <{from_uri}>"),
                None => format!("<{from_uri}>"),
            };
            sipmsg::push_header(&mut headers, "P-Asserted-Identity", asserted);
        } else {
            let name = display.map(|d| format!("{d} ")).unwrap_or_default();
            headers.push(Header::From(rsip::headers::From::new(format!(
                "{name}<{from_uri}>;tag={}",
                leg.local_tag
            ))));
        }
        headers.push(Header::To(rsip::headers::To::new(format!(
            "<{}>",
            plan.request_uri
        ))));
        headers.push(Header::CallId(rsip::headers::CallId::new(call_id.clone())));
        headers.push(Header::CSeq(rsip::headers::CSeq::new("1 INVITE")));
        headers.push(Header::Contact(rsip::headers::Contact::new(format!(
            "<{contact}>"
        ))));
        let methods: Vec<String> = crate::ALLOWED.iter().map(ToString::to_string).collect();
        headers.push(Header::Allow(rsip::headers::Allow::new(methods.join(", "))));
        for (name, value) in &plan.headers {
            sipmsg::push_header(&mut headers, name, value.clone());
        }
        let offer = leg.sdp.create_offer(&media).to_bytes();
        let mut request = rsip::Request {
            method: rsip::Method::Invite,
            uri: plan.request_uri.clone(),
            version: rsip::Version::V2,
            headers,
            body: Vec::new(),
        };
        sipmsg::set_body(&mut request.headers, &mut request.body, Some((SDP, offer)));
        leg.from = from_uri;
        leg.call_id = call_id;
        call.invite = Some(request.clone());
        match self.endpoint.send_request(now, request, peer) {
            Ok(tx) => {
                if let Some(Side::Outbound(call)) = self.legs.get_mut(id).map(|l| &mut l.side) {
                    call.tx = Some(tx);
                }
                self.client_txs
                    .insert(tx, ClientPurpose::Invite(id.to_owned()));
            }
            Err(_) => {
                self.counters.sip_send_failures += 1;
                self.finish(now, id, HangupCause::NormalTemporaryFailure, None);
            }
        }
    }
}

/// A display name as a quoted string (RFC 3261 §25.1), never breaking out of its quotes.
fn quote(name: &str) -> String {
    let escaped: String = name
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}
