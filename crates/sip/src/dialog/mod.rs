//! Dialog state (RFC 3261 §12): identifiers, route set, CSeq spaces, remote
//! target, and building the requests sent inside a dialog.
//!
//! Pure data and functions on `rsip` types: no I/O, no clock.

mod header;
mod ids;
#[cfg(test)]
mod tests;

pub use header::{HeaderKind, NameAddr, first_value, is_loose_router, parse_uri, set_body, uri_ip};
pub use ids::{dialog_id_of_request, dialog_id_of_response, new_call_id, new_tag, response_to};

use crate::error::Error;
use rsip::Header;
use rsip::headers::UntypedHeader;

pub(crate) use header::{closing_quote, cseq as cseq_of, split_list, values as header_values};

/// Most Record-Route entries a dialog keeps; more is refused, since the
/// route set is copied into every in-dialog request.
pub const MAX_ROUTE_SET: usize = 32;

/// Identifies a dialog (RFC 3261 §12): Call-ID plus both tags, from our
/// point of view.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    /// The Call-ID.
    pub call_id: String,
    /// Our tag (To-tag of requests we receive, From-tag of requests we send).
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

/// Whether the dialog was created by a provisional or a final response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a 1xx with a To-tag; may still fail.
    Early,
    /// Established by a 2xx.
    Confirmed,
}

/// One SIP dialog, from either side.
#[derive(Debug, Clone)]
pub struct Dialog {
    id: DialogId,
    state: DialogState,
    /// Our From (in requests we send), with our tag.
    local_party: NameAddr,
    /// Their To (in requests we send), with their tag.
    remote_party: NameAddr,
    remote_target: rsip::Uri,
    route_set: Vec<rsip::Uri>,
    local_cseq: u32,
    remote_cseq: Option<u32>,
    local_contact: rsip::Uri,
}

impl Dialog {
    /// UAS side: from a received INVITE (or other dialog-creating request)
    /// and the To-tag we chose; `local_contact` is our Contact URI. The
    /// dialog starts [`Early`](DialogState::Early); call
    /// [`confirm`](Self::confirm) when sending the 2xx.
    pub fn new_uas(
        request: &rsip::Request,
        local_tag: &str,
        local_contact: &rsip::Uri,
    ) -> Result<Dialog, Error> {
        let headers = &request.headers;
        let remote_party = NameAddr::parse(&header::required(headers, HeaderKind::From, "From")?)?;
        let mut local_party = NameAddr::parse(&header::required(headers, HeaderKind::To, "To")?)?;
        local_party.set_tag(local_tag);
        let remote_tag = remote_party
            .tag()
            .ok_or(Error::MissingTag { header: "From" })?
            .to_owned();
        let (remote_cseq, _) = header::cseq(headers)?;
        let routes = route_set_from(headers)?;
        Ok(Dialog {
            id: DialogId {
                call_id: header::required(headers, HeaderKind::CallId, "Call-ID")?,
                local_tag: local_tag.to_owned(),
                remote_tag,
            },
            state: DialogState::Early,
            local_party,
            remote_party,
            remote_target: contact_uri(headers)?.ok_or(Error::MissingHeader { name: "Contact" })?,
            route_set: routes,
            local_cseq: 0,
            remote_cseq: Some(remote_cseq),
            local_contact: local_contact.clone(),
        })
    }

    /// UAC side: from the INVITE we sent and a 1xx-with-tag (early) or 2xx
    /// (confirmed) received for it.
    pub fn new_uac(request: &rsip::Request, response: &rsip::Response) -> Result<Dialog, Error> {
        let local_party = NameAddr::parse(&header::required(
            &request.headers,
            HeaderKind::From,
            "From",
        )?)?;
        let remote_party =
            NameAddr::parse(&header::required(&response.headers, HeaderKind::To, "To")?)?;
        let local_tag = local_party
            .tag()
            .ok_or(Error::MissingTag { header: "From" })?
            .to_owned();
        let remote_tag = remote_party
            .tag()
            .ok_or(Error::MissingTag { header: "To" })?
            .to_owned();
        let (local_cseq, _) = header::cseq(&request.headers)?;
        let mut routes = route_set_from(&response.headers)?;
        routes.reverse();
        let code = response.status_code.code();
        Ok(Dialog {
            id: DialogId {
                call_id: header::required(&request.headers, HeaderKind::CallId, "Call-ID")?,
                local_tag,
                remote_tag,
            },
            state: if (200..300).contains(&code) {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_party,
            remote_party,
            // A 1xx may lack Contact; the Request-URI is the best target until one arrives.
            remote_target: contact_uri(&response.headers)?.unwrap_or_else(|| request.uri.clone()),
            route_set: routes,
            local_cseq,
            remote_cseq: None,
            local_contact: contact_uri(&request.headers)?
                .ok_or(Error::MissingHeader { name: "Contact" })?,
        })
    }

    /// The dialog's identifier.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// Early or confirmed.
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// Marks the dialog confirmed (a 2xx was sent or received).
    pub fn confirm(&mut self) {
        self.state = DialogState::Confirmed;
    }

    /// Where in-dialog requests go (the peer's Contact).
    pub fn remote_target(&self) -> &rsip::Uri {
        &self.remote_target
    }

    /// The route set, in the order Route headers are written.
    pub fn route_set(&self) -> &[rsip::Uri] {
        &self.route_set
    }

    /// The CSeq number of the last request we sent in this dialog.
    pub fn local_cseq(&self) -> u32 {
        self.local_cseq
    }

    /// The CSeq number of the last request received in this dialog.
    pub fn remote_cseq(&self) -> Option<u32> {
        self.remote_cseq
    }

    /// Our identity with our tag (From of requests we send).
    pub fn local_party(&self) -> &NameAddr {
        &self.local_party
    }

    /// The peer's identity with its tag (To of requests we send).
    pub fn remote_party(&self) -> &NameAddr {
        &self.remote_party
    }

    /// Our Contact URI, sent in target-refresh requests.
    pub fn local_contact(&self) -> &rsip::Uri {
        &self.local_contact
    }

    /// Changes our Contact (e.g. our address changed); sent with the next
    /// target-refresh request.
    pub fn set_local_contact(&mut self, contact: rsip::Uri) {
        self.local_contact = contact;
    }

    /// Builds an in-dialog request (BYE, re-INVITE, INFO, OPTIONS, UPDATE)
    /// with the next local CSeq. Returns it with the URI to resolve for
    /// sending (first route if any, else the remote target). The endpoint
    /// adds Via.
    pub fn make_request(
        &mut self,
        method: rsip::Method,
        body: Option<(String, Vec<u8>)>,
    ) -> (rsip::Request, rsip::Uri) {
        self.local_cseq = self.local_cseq.wrapping_add(1).max(1);
        let contact = matches!(method, rsip::Method::Invite | rsip::Method::Update);
        self.build(method, self.local_cseq, contact, body)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_cseq` (§13.2.2.4).
    pub fn make_ack(&self, invite_cseq: u32) -> (rsip::Request, rsip::Uri) {
        self.make_ack_with_body(invite_cseq, None)
    }

    /// [`make_ack`](Self::make_ack) with a body (the answer, when the 2xx
    /// carried the offer).
    pub fn make_ack_with_body(
        &self,
        invite_cseq: u32,
        body: Option<(String, Vec<u8>)>,
    ) -> (rsip::Request, rsip::Uri) {
        self.build(rsip::Method::Ack, invite_cseq, false, body)
    }

    fn build(
        &self,
        method: rsip::Method,
        seq: u32,
        with_contact: bool,
        body: Option<(String, Vec<u8>)>,
    ) -> (rsip::Request, rsip::Uri) {
        let (uri, routes, destination) = self.request_routing();
        let mut headers = rsip::Headers::default();
        for route in routes {
            headers.push(Header::Route(rsip::headers::Route::new(format!(
                "<{route}>"
            ))));
        }
        headers.push(Header::MaxForwards(rsip::headers::MaxForwards::new("70")));
        headers.push(Header::From(rsip::headers::From::new(
            self.local_party.to_string(),
        )));
        headers.push(Header::To(rsip::headers::To::new(
            self.remote_party.to_string(),
        )));
        headers.push(Header::CallId(rsip::headers::CallId::new(
            self.id.call_id.clone(),
        )));
        headers.push(Header::CSeq(rsip::headers::CSeq::new(format!(
            "{seq} {method}"
        ))));
        if with_contact {
            headers.push(Header::Contact(rsip::headers::Contact::new(format!(
                "<{}>",
                self.local_contact
            ))));
        }
        let mut payload = Vec::new();
        set_body(&mut headers, &mut payload, body);
        let request = rsip::Request {
            method,
            uri,
            version: rsip::Version::V2,
            headers,
            body: payload,
        };
        (request, destination)
    }

    /// Request-URI, Route list and next hop (§12.2.1.1).
    fn request_routing(&self) -> (rsip::Uri, Vec<rsip::Uri>, rsip::Uri) {
        match self.route_set.split_first() {
            None => (
                self.remote_target.clone(),
                Vec::new(),
                self.remote_target.clone(),
            ),
            Some((first, _)) if is_loose_router(first) => (
                self.remote_target.clone(),
                self.route_set.clone(),
                first.clone(),
            ),
            Some((first, rest)) => {
                // Strict router: it becomes the Request-URI (without the
                // parameters a Request-URI may not carry) and the remote
                // target goes last in the Route list.
                let mut request_uri = first.clone();
                request_uri.params.retain(|p| match p {
                    rsip::Param::Method(_) => false,
                    rsip::Param::Other(name, _) => !name.to_string().eq_ignore_ascii_case("method"),
                    _ => true,
                });
                let mut routes = rest.to_vec();
                routes.push(self.remote_target.clone());
                (request_uri, routes, first.clone())
            }
        }
    }

    /// Checks and applies a request received in this dialog. A CSeq lower
    /// than the last one is [`Error::CSeqOutOfOrder`] (answer 500); a
    /// re-INVITE or UPDATE with Contact refreshes the remote target.
    pub fn handle_remote_request(&mut self, request: &rsip::Request) -> Result<(), Error> {
        let (seq, _) = header::cseq(&request.headers)?;
        if matches!(request.method, rsip::Method::Ack | rsip::Method::Cancel) {
            // They reuse the INVITE's CSeq and do not advance the sequence.
            return Ok(());
        }
        if let Some(last) = self.remote_cseq
            && seq < last
        {
            return Err(Error::CSeqOutOfOrder {
                received: seq,
                last,
            });
        }
        let new_target = if matches!(request.method, rsip::Method::Invite | rsip::Method::Update) {
            contact_uri(&request.headers)?
        } else {
            None
        };
        self.remote_cseq = Some(seq);
        if let Some(target) = new_target {
            self.remote_target = target;
        }
        Ok(())
    }

    /// Applies a response to a request we sent in this dialog: a 2xx to a
    /// re-INVITE or UPDATE refreshes the remote target; a 2xx to the
    /// initial INVITE of an early dialog confirms it and recomputes the
    /// route set (§13.2.2.4). Malformed Contact or Record-Route values are
    /// ignored: the dialog keeps its previous values.
    pub fn handle_remote_response(&mut self, response: &rsip::Response) {
        let code = response.status_code.code();
        let Ok((_, method)) = header::cseq(&response.headers) else {
            return;
        };
        let refresh =
            method.eq_ignore_ascii_case("INVITE") || method.eq_ignore_ascii_case("UPDATE");
        if !(200..300).contains(&code) || !refresh {
            return;
        }
        if self.state == DialogState::Early && method.eq_ignore_ascii_case("INVITE") {
            if let Ok(mut routes) = route_set_from(&response.headers) {
                routes.reverse();
                self.route_set = routes;
            }
            self.state = DialogState::Confirmed;
        }
        if let Ok(Some(target)) = contact_uri(&response.headers) {
            self.remote_target = target;
        }
    }
}

/// The Record-Route URIs in message order, bounded.
fn route_set_from(headers: &rsip::Headers) -> Result<Vec<rsip::Uri>, Error> {
    let mut routes = Vec::new();
    for value in header::values(headers, HeaderKind::RecordRoute) {
        for entry in split_list(value) {
            if routes.len() >= MAX_ROUTE_SET {
                return Err(Error::TooManyRoutes {
                    limit: MAX_ROUTE_SET,
                });
            }
            routes.push(parse_uri(&NameAddr::parse(entry)?.uri)?);
        }
    }
    Ok(routes)
}

/// The URI of the first Contact, if there is one.
fn contact_uri(headers: &rsip::Headers) -> Result<Option<rsip::Uri>, Error> {
    let Some(value) = header::first_value(headers, HeaderKind::Contact) else {
        return Ok(None);
    };
    let first = split_list(value)
        .into_iter()
        .next()
        .ok_or(Error::MalformedHeader {
            name: "Contact",
            detail: value.to_owned(),
        })?;
    Ok(Some(parse_uri(&NameAddr::parse(first)?.uri)?))
}
