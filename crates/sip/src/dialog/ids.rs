//! Dialog identifiers, tags, Call-IDs and UAS responses (§8.2.6, §12.1.1).

use super::DialogId;
use super::header::{self, HeaderKind, NameAddr};
use rsip::Header;
use rsip::headers::UntypedHeader;

/// The dialog a received request belongs to: Call-ID, local tag = To-tag,
/// remote tag = From-tag. `None` for requests outside a dialog (no To-tag)
/// or missing headers.
pub fn dialog_id_of_request(request: &rsip::Request) -> Option<DialogId> {
    let headers = &request.headers;
    dialog_id(headers, HeaderKind::To, HeaderKind::From)
}

/// The dialog a received response belongs to: Call-ID, local tag =
/// From-tag, remote tag = To-tag. `None` without both tags.
pub fn dialog_id_of_response(response: &rsip::Response) -> Option<DialogId> {
    dialog_id(&response.headers, HeaderKind::From, HeaderKind::To)
}

fn dialog_id(headers: &rsip::Headers, local: HeaderKind, remote: HeaderKind) -> Option<DialogId> {
    let tag_of = |kind| {
        header::first_value(headers, kind)
            .and_then(|v| NameAddr::parse(v).ok())
            .and_then(|n| n.tag().map(str::to_owned))
    };
    Some(DialogId {
        call_id: header::first_value(headers, HeaderKind::CallId)?.to_owned(),
        local_tag: tag_of(local)?,
        remote_tag: tag_of(remote)?,
    })
}

/// A response to `request` (§8.2.6): Via (all, in order), From, To (with
/// `to_tag` added if given and To has none), Call-ID and CSeq copied, and
/// Content-Length 0 (update it if a body is added). Record-Route is copied
/// too for 101–299 answers to INVITE and SUBSCRIBE, which may create a
/// dialog (§12.1.1).
pub fn response_to(request: &rsip::Request, status: u16, to_tag: Option<&str>) -> rsip::Response {
    let dialog_creating = matches!(
        request.method,
        rsip::Method::Invite | rsip::Method::Subscribe
    ) && (101..300).contains(&status);
    let mut headers = rsip::Headers::default();
    for h in request.headers.iter() {
        let copy = HeaderKind::Via.value_of(h).is_some()
            || HeaderKind::From.value_of(h).is_some()
            || HeaderKind::CallId.value_of(h).is_some()
            || HeaderKind::CSeq.value_of(h).is_some()
            || (dialog_creating && HeaderKind::RecordRoute.value_of(h).is_some());
        if copy {
            headers.push(h.clone());
        } else if let Some(to) = HeaderKind::To.value_of(h) {
            headers.push(Header::To(rsip::headers::To::new(with_tag(to, to_tag))));
        }
    }
    headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
        "0",
    )));
    rsip::Response {
        status_code: status.into(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// `to` with `;tag=` appended when a tag is wanted and none is there. The
/// value is otherwise kept verbatim (§8.2.6.2: To is copied).
fn with_tag(to: &str, tag: Option<&str>) -> String {
    match (tag, NameAddr::parse(to)) {
        (Some(tag), Ok(parsed)) if parsed.tag().is_none() => format!("{to};tag={tag}"),
        _ => to.to_owned(),
    }
}

/// A new random tag (64 bits, hex), for From/To tags (§19.3).
pub fn new_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// A new random Call-ID `<128 random bits>@host` (§8.1.1.4).
pub fn new_call_id(host: &str) -> String {
    format!("{:032x}@{host}", rand::random::<u128>())
}
