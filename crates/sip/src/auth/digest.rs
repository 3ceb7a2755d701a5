//! The digest computation itself (RFC 2617 §3.2.2, RFC 7616 §3.4.1,
//! RFC 8760).

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};

/// A digest hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// MD5 (RFC 2617).
    Md5,
    /// SHA-256 (RFC 7616, RFC 8760).
    Sha256,
    /// SHA-512/256 (RFC 7616, RFC 8760).
    Sha512_256,
}

/// An `algorithm=` value: hash function and whether it is the `-sess` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Algorithm {
    /// The hash function.
    pub hash: HashAlgorithm,
    /// `-sess`: HA1 also covers the nonce and cnonce.
    pub session: bool,
}

impl Algorithm {
    /// Reads an `algorithm=` token (case-insensitive); `None` if unsupported.
    pub fn parse(token: &str) -> Option<Self> {
        let (base, session) = match token
            .len()
            .checked_sub(5)
            .and_then(|i| token.split_at_checked(i))
        {
            Some((base, suffix)) if suffix.eq_ignore_ascii_case("-sess") => (base, true),
            _ => (token, false),
        };
        let hash = if base.eq_ignore_ascii_case("MD5") {
            HashAlgorithm::Md5
        } else if base.eq_ignore_ascii_case("SHA-256") {
            HashAlgorithm::Sha256
        } else if base.eq_ignore_ascii_case("SHA-512-256") {
            HashAlgorithm::Sha512_256
        } else {
            return None;
        };
        Some(Self { hash, session })
    }

    /// The token as written in credentials.
    pub fn token(self) -> &'static str {
        match (self.hash, self.session) {
            (HashAlgorithm::Md5, false) => "MD5",
            (HashAlgorithm::Md5, true) => "MD5-sess",
            (HashAlgorithm::Sha256, false) => "SHA-256",
            (HashAlgorithm::Sha256, true) => "SHA-256-sess",
            (HashAlgorithm::Sha512_256, false) => "SHA-512-256",
            (HashAlgorithm::Sha512_256, true) => "SHA-512-256-sess",
        }
    }

    /// Preference among offered challenges: stronger hash first.
    pub(crate) fn strength(self) -> u8 {
        match self.hash {
            HashAlgorithm::Md5 => 1,
            HashAlgorithm::Sha256 => 2,
            HashAlgorithm::Sha512_256 => 3,
        }
    }

    fn hex(self, data: &str) -> String {
        let bytes = match self.hash {
            HashAlgorithm::Md5 => Md5::digest(data.as_bytes()).to_vec(),
            HashAlgorithm::Sha256 => Sha256::digest(data.as_bytes()).to_vec(),
            HashAlgorithm::Sha512_256 => Sha512_256::digest(data.as_bytes()).to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Everything the `response=` value depends on.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    /// Hash and `-sess`.
    pub algorithm: Algorithm,
    /// User name.
    pub username: &'a str,
    /// Realm from the challenge.
    pub realm: &'a str,
    /// Password.
    pub password: &'a str,
    /// Request method (`INVITE`).
    pub method: &'a str,
    /// digest-uri (the Request-URI).
    pub uri: &'a str,
    /// Nonce from the challenge.
    pub nonce: &'a str,
    /// `Some((nc, cnonce))` with qop=auth; `None` for RFC 2069 style.
    pub qop_auth: Option<(u32, &'a str)>,
    /// Client nonce for `-sess` without qop.
    pub cnonce: &'a str,
}

/// The `response=` value, lower-case hex.
pub fn response(input: &DigestInput<'_>) -> String {
    let alg = input.algorithm;
    let mut ha1 = alg.hex(&format!(
        "{}:{}:{}",
        input.username, input.realm, input.password
    ));
    if alg.session {
        ha1 = alg.hex(&format!("{ha1}:{}:{}", input.nonce, input.cnonce));
    }
    let ha2 = alg.hex(&format!("{}:{}", input.method, input.uri));
    match input.qop_auth {
        Some((nc, cnonce)) => alg.hex(&format!(
            "{ha1}:{}:{nc:08x}:{cnonce}:auth:{ha2}",
            input.nonce
        )),
        None => alg.hex(&format!("{ha1}:{}:{ha2}", input.nonce)),
    }
}
