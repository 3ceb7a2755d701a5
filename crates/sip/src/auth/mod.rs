//! Client-side digest authentication (RFC 2617, RFC 7616 algorithms as
//! profiled for SIP by RFC 8760): answering 401/407 challenges.

mod challenge;
mod digest;
#[cfg(test)]
mod tests;

pub use digest::{Algorithm, DigestInput, HashAlgorithm, response as digest_response};

use crate::dialog::{self, HeaderKind};
use crate::error::Error;
use challenge::{AuthValue, quote};
use rsip::Header;
use rsip::headers::UntypedHeader;
use std::collections::HashMap;
use std::fmt;

/// Most realms whose nonce counts a client remembers; beyond it the table
/// is cleared (it only costs a fresh nc=1 count).
const MAX_REALMS: usize = 16;

/// A user name and password for digest authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A Digest challenge we can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DigestChallenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    qop_auth: bool,
    stale: bool,
}

/// Last nonce seen in a realm and how many times we used it.
#[derive(Debug, Clone)]
struct NonceUse {
    nonce: String,
    count: u32,
}

/// Answers digest challenges; remembers per realm the last nonce and its
/// use count (`nc`).
pub struct DigestClient {
    realms: HashMap<String, NonceUse>,
    cnonce_source: Box<dyn FnMut() -> String + Send>,
}

impl fmt::Debug for DigestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestClient")
            .field("realms", &self.realms.len())
            .finish_non_exhaustive()
    }
}

impl Default for DigestClient {
    fn default() -> Self {
        Self::new()
    }
}

impl DigestClient {
    /// A client drawing client nonces from `rand`.
    pub fn new() -> Self {
        Self::with_cnonce_source(|| format!("{:032x}", rand::random::<u128>()))
    }

    /// A client with its own source of client nonces (fixed in tests).
    pub fn with_cnonce_source(source: impl FnMut() -> String + Send + 'static) -> Self {
        Self {
            realms: HashMap::new(),
            cnonce_source: Box::new(source),
        }
    }

    /// Given the request we sent and its 401/407 response, returns the
    /// request to resend as a new transaction: CSeq + 1, our Via removed
    /// (the endpoint adds a fresh one), and an Authorization (401) or
    /// Proxy-Authorization (407) header replacing any earlier one for the
    /// same realm. The strongest supported algorithm wins among several
    /// challenges (SHA-512-256, then SHA-256, then MD5).
    pub fn authorize(
        &mut self,
        request: &rsip::Request,
        challenge: &rsip::Response,
        credentials: &Credentials,
    ) -> Result<rsip::Request, Error> {
        let (challenge_kind, answer_kind) = match challenge.status_code.code() {
            401 => (HeaderKind::WwwAuthenticate, HeaderKind::Authorization),
            407 => (
                HeaderKind::ProxyAuthenticate,
                HeaderKind::ProxyAuthorization,
            ),
            code => return Err(no_challenge(format!("status {code} is not a challenge"))),
        };
        let chosen = choose(dialog::header_values(&challenge.headers, challenge_kind))?;
        let already_sent = dialog::header_values(&request.headers, answer_kind)
            .flat_map(challenge::parse)
            .any(|sent| sent.param("realm") == Some(chosen.realm.as_str()));
        if already_sent && !chosen.stale {
            return Err(Error::CredentialsRejected {
                realm: chosen.realm,
            });
        }
        let nc = self.next_nc(&chosen);
        let cnonce = (self.cnonce_source)();
        let method = request.method.to_string();
        let uri = request.uri.to_string();
        let input = DigestInput {
            algorithm: chosen.algorithm,
            username: &credentials.username,
            realm: &chosen.realm,
            password: &credentials.password,
            method: &method,
            uri: &uri,
            nonce: &chosen.nonce,
            qop_auth: chosen.qop_auth.then_some((nc, cnonce.as_str())),
            cnonce: &cnonce,
        };
        let value = credentials_value(&input, &chosen);
        let (seq, cseq_method) = dialog::cseq_of(&request.headers)?;
        let seq = seq.checked_add(1).ok_or_else(|| Error::MalformedHeader {
            name: "CSeq",
            detail: "sequence number overflow".to_owned(),
        })?;
        let header = match answer_kind {
            HeaderKind::Authorization => {
                Header::Authorization(rsip::headers::Authorization::new(value))
            }
            _ => Header::ProxyAuthorization(rsip::headers::ProxyAuthorization::new(value)),
        };
        Ok(rebuild(
            request,
            seq,
            &cseq_method,
            answer_kind,
            &chosen.realm,
            header,
        ))
    }

    /// The nc value for this use of the challenge's nonce.
    fn next_nc(&mut self, challenge: &DigestChallenge) -> u32 {
        if self.realms.len() >= MAX_REALMS && !self.realms.contains_key(&challenge.realm) {
            self.realms.clear();
        }
        let entry = self
            .realms
            .entry(challenge.realm.clone())
            .or_insert_with(|| NonceUse {
                nonce: challenge.nonce.clone(),
                count: 0,
            });
        if entry.nonce != challenge.nonce {
            *entry = NonceUse {
                nonce: challenge.nonce.clone(),
                count: 0,
            };
        }
        entry.count = entry.count.saturating_add(1);
        entry.count
    }
}

fn no_challenge(detail: String) -> Error {
    Error::NoUsableChallenge { detail }
}

/// The best Digest challenge among the header values.
fn choose<'a>(values: impl Iterator<Item = &'a str>) -> Result<DigestChallenge, Error> {
    let mut best: Option<DigestChallenge> = None;
    let mut rejected: Option<String> = None;
    for value in values.flat_map(challenge::parse) {
        if !value.scheme.eq_ignore_ascii_case("Digest") {
            continue;
        }
        match digest_challenge(&value) {
            Ok(c) => {
                if best
                    .as_ref()
                    .is_none_or(|b| c.algorithm.strength() > b.algorithm.strength())
                {
                    best = Some(c);
                }
            }
            Err(why) => rejected = Some(why),
        }
    }
    best.ok_or_else(|| no_challenge(rejected.unwrap_or_else(|| "no Digest challenge".to_owned())))
}

fn digest_challenge(value: &AuthValue) -> Result<DigestChallenge, String> {
    let realm = value.param("realm").ok_or("challenge without realm")?;
    let nonce = value
        .param("nonce")
        .filter(|n| !n.is_empty())
        .ok_or("challenge without nonce")?;
    let algorithm = match value.param("algorithm") {
        None => Algorithm::parse("MD5"),
        Some(token) => Algorithm::parse(token),
    }
    .ok_or_else(|| {
        format!(
            "unsupported algorithm {:?}",
            value.param("algorithm").unwrap_or("")
        )
    })?;
    let qop_auth = match value.param("qop") {
        None => false,
        Some(list)
            if list
                .split(',')
                .any(|q| q.trim().eq_ignore_ascii_case("auth")) =>
        {
            true
        }
        Some(list) => return Err(format!("unsupported qop {list:?}")),
    };
    Ok(DigestChallenge {
        realm: realm.to_owned(),
        nonce: nonce.to_owned(),
        opaque: value.param("opaque").map(str::to_owned),
        algorithm,
        qop_auth,
        stale: value
            .param("stale")
            .is_some_and(|s| s.eq_ignore_ascii_case("true")),
    })
}

/// The Authorization / Proxy-Authorization value (RFC 3261 §22.4).
fn credentials_value(input: &DigestInput<'_>, challenge: &DigestChallenge) -> String {
    let mut value = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
        quote(input.username),
        quote(input.realm),
        quote(input.nonce),
        quote(input.uri),
        quote(&digest::response(input)),
        input.algorithm.token(),
    );
    if let Some((nc, cnonce)) = input.qop_auth {
        value.push_str(&format!(
            ", cnonce={}, qop=auth, nc={nc:08x}",
            quote(cnonce)
        ));
    } else if input.algorithm.session {
        value.push_str(&format!(", cnonce={}", quote(input.cnonce)));
    }
    if let Some(opaque) = &challenge.opaque {
        value.push_str(&format!(", opaque={}", quote(opaque)));
    }
    value
}

/// `request` with the new CSeq, no Via, and `auth` in place of earlier
/// credentials for `realm` (placed before Content-Length).
fn rebuild(
    request: &rsip::Request,
    seq: u32,
    cseq_method: &str,
    answer_kind: HeaderKind,
    realm: &str,
    auth: Header,
) -> rsip::Request {
    let mut headers: Vec<Header> = Vec::new();
    for h in request.headers.iter() {
        if HeaderKind::Via.value_of(h).is_some() {
            continue;
        }
        if HeaderKind::CSeq.value_of(h).is_some() {
            headers.push(Header::CSeq(rsip::headers::CSeq::new(format!(
                "{seq} {cseq_method}"
            ))));
            continue;
        }
        if let Some(old) = answer_kind.value_of(h)
            && challenge::parse(old)
                .iter()
                .any(|v| v.param("realm") == Some(realm))
        {
            continue;
        }
        headers.push(h.clone());
    }
    let at = headers
        .iter()
        .position(|h| matches!(h, Header::ContentLength(_)))
        .unwrap_or(headers.len());
    headers.insert(at, auth);
    let mut out = request.clone();
    out.headers = headers.into();
    out
}
