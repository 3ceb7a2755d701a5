//! Digest tests: published vectors, challenge selection, nc counting and
//! hostile header values.

use super::*;

const REGISTER: &str = "REGISTER sip:registrar.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
To: <sip:alice@example.com>\r\n\
Call-ID: reg-1@192.0.2.1\r\n\
CSeq: 7 REGISTER\r\n\
Contact: <sip:alice@192.0.2.1>\r\n\
Content-Length: 0\r\n\r\n";

fn request() -> rsip::Request {
    rsip::Request::try_from(REGISTER).unwrap()
}

fn challenge(status: &str, headers: &[&str]) -> rsip::Response {
    let mut text = format!(
        "SIP/2.0 {status}\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n\
From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:alice@example.com>;tag=r1\r\n\
Call-ID: reg-1@192.0.2.1\r\nCSeq: 7 REGISTER\r\n"
    );
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    rsip::Response::try_from(text.as_str()).unwrap()
}

fn creds() -> Credentials {
    Credentials {
        username: "alice".into(),
        password: "secret".into(),
    }
}

fn client() -> DigestClient {
    DigestClient::with_cnonce_source(|| "0a4f113b".to_owned())
}

/// The parsed credentials of the single header of `kind`.
fn sent(request: &rsip::Request, kind: HeaderKind) -> AuthValue {
    let values: Vec<&str> = dialog::header_values(&request.headers, kind).collect();
    assert_eq!(values.len(), 1, "{values:?}");
    challenge::parse(values[0]).remove(0)
}

#[test]
fn rfc2617_md5_qop_auth_vector() {
    // RFC 2617 §3.5.
    let input = DigestInput {
        algorithm: Algorithm::parse("MD5").unwrap(),
        username: "Mufasa",
        realm: "testrealm@host.com",
        password: "Circle Of Life",
        method: "GET",
        uri: "/dir/index.html",
        nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop_auth: Some((1, "0a4f113b")),
        cnonce: "0a4f113b",
    };
    assert_eq!(digest_response(&input), "6629fae49393a05397450978507c4ef1");
}

#[test]
fn rfc7616_sha256_and_md5_vectors() {
    // RFC 7616 §3.9.1.
    let mut input = DigestInput {
        algorithm: Algorithm::parse("SHA-256").unwrap(),
        username: "Mufasa",
        realm: "http-auth@example.org",
        password: "Circle of Life",
        method: "GET",
        uri: "/dir/index.html",
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        qop_auth: Some((1, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")),
        cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    };
    assert_eq!(
        digest_response(&input),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
    input.algorithm = Algorithm::parse("md5").unwrap();
    assert_eq!(digest_response(&input), "8ca523f5e9506fed4657c9700eebdbec");
}

#[test]
fn algorithm_tokens() {
    for token in [
        "MD5",
        "MD5-sess",
        "SHA-256",
        "SHA-256-sess",
        "SHA-512-256",
        "SHA-512-256-sess",
    ] {
        assert_eq!(Algorithm::parse(token).unwrap().token(), token);
    }
    for token in [
        "",
        "-sess",
        "SHA-1",
        "MD5-sessx",
        "AKAv1-MD5",
        "é-sess",
        "ééé",
    ] {
        assert_eq!(Algorithm::parse(token), None, "{token:?}");
    }
}

#[test]
fn answers_401_with_authorization_and_next_cseq() {
    let resp = challenge(
        "401 Unauthorized",
        &[
            r#"WWW-Authenticate: Digest realm="example.com", nonce="n1, with comma", qop="auth,auth-int", opaque="op""#,
        ],
    );
    let retry = client().authorize(&request(), &resp, &creds()).unwrap();
    assert_eq!(
        dialog::cseq_of(&retry.headers).unwrap(),
        (8, "REGISTER".to_owned())
    );
    assert_eq!(
        dialog::header_values(&retry.headers, HeaderKind::Via).count(),
        0,
        "the endpoint adds a fresh Via"
    );
    let auth = sent(&retry, HeaderKind::Authorization);
    assert_eq!(auth.scheme, "Digest");
    assert_eq!(auth.param("username"), Some("alice"));
    assert_eq!(auth.param("nonce"), Some("n1, with comma"));
    assert_eq!(auth.param("uri"), Some("sip:registrar.example.com"));
    assert_eq!(auth.param("qop"), Some("auth"));
    assert_eq!(auth.param("nc"), Some("00000001"));
    assert_eq!(auth.param("cnonce"), Some("0a4f113b"));
    assert_eq!(auth.param("opaque"), Some("op"));
    assert_eq!(auth.param("algorithm"), Some("MD5"));
    let expected = digest_response(&DigestInput {
        algorithm: Algorithm::parse("MD5").unwrap(),
        username: "alice",
        realm: "example.com",
        password: "secret",
        method: "REGISTER",
        uri: "sip:registrar.example.com",
        nonce: "n1, with comma",
        qop_auth: Some((1, "0a4f113b")),
        cnonce: "0a4f113b",
    });
    assert_eq!(auth.param("response"), Some(expected.as_str()));
    let text = retry.to_string();
    assert!(text.find("Authorization:").unwrap() < text.find("Content-Length:").unwrap());
}

#[test]
fn answers_407_with_proxy_authorization_without_qop() {
    let resp = challenge(
        "407 Proxy Authentication Required",
        &[r#"Proxy-Authenticate: Digest realm="proxy", nonce="abc""#],
    );
    let retry = client().authorize(&request(), &resp, &creds()).unwrap();
    let auth = sent(&retry, HeaderKind::ProxyAuthorization);
    assert_eq!(auth.param("qop"), None);
    assert_eq!(auth.param("nc"), None);
    assert_eq!(auth.param("cnonce"), None);
    assert_eq!(
        dialog::header_values(&retry.headers, HeaderKind::Authorization).count(),
        0
    );
    // RFC 2069: H(HA1:nonce:HA2).
    let ha1 = format!("{:x}", Md5::digest(b"alice:proxy:secret"));
    let ha2 = format!("{:x}", Md5::digest(b"REGISTER:sip:registrar.example.com"));
    let want = format!("{:x}", Md5::digest(format!("{ha1}:abc:{ha2}").as_bytes()));
    assert_eq!(auth.param("response"), Some(want.as_str()));
}

use md5::{Digest, Md5};

#[test]
fn prefers_sha256_among_several_challenges() {
    let resp = challenge(
        "401 Unauthorized",
        &[
            r#"WWW-Authenticate: Digest realm="r", nonce="m", algorithm=MD5, qop="auth""#,
            r#"WWW-Authenticate: Digest realm="r", nonce="s", algorithm=SHA-256-sess, qop="auth""#,
            r#"WWW-Authenticate: Digest realm="r", nonce="x", algorithm=SHA-1, qop="auth""#,
        ],
    );
    let retry = client().authorize(&request(), &resp, &creds()).unwrap();
    let auth = sent(&retry, HeaderKind::Authorization);
    assert_eq!(auth.param("algorithm"), Some("SHA-256-sess"));
    assert_eq!(auth.param("nonce"), Some("s"));
    assert_eq!(auth.param("response").unwrap().len(), 64);
    // Two challenges in one header value, Basic first.
    let resp = challenge(
        "401 Unauthorized",
        &[
            r#"WWW-Authenticate: Basic realm="b", Digest realm="r", nonce="m", Digest algorithm=SHA-256, realm="r", nonce="s""#,
        ],
    );
    let auth = sent(
        &client().authorize(&request(), &resp, &creds()).unwrap(),
        HeaderKind::Authorization,
    );
    assert_eq!(
        (auth.param("algorithm"), auth.param("nonce")),
        (Some("SHA-256"), Some("s"))
    );
}

#[test]
fn nc_counts_up_per_nonce() {
    let mut client = client();
    let resp = challenge(
        "401 Unauthorized",
        &[r#"WWW-Authenticate: Digest realm="r", nonce="n", qop=auth"#],
    );
    let first = client.authorize(&request(), &resp, &creds()).unwrap();
    let second = client.authorize(&request(), &resp, &creds()).unwrap();
    assert_eq!(
        sent(&first, HeaderKind::Authorization).param("nc"),
        Some("00000001")
    );
    assert_eq!(
        sent(&second, HeaderKind::Authorization).param("nc"),
        Some("00000002")
    );
    assert_ne!(
        sent(&first, HeaderKind::Authorization).param("response"),
        sent(&second, HeaderKind::Authorization).param("response")
    );
    let fresh = challenge(
        "401 Unauthorized",
        &[r#"WWW-Authenticate: Digest realm="r", nonce="n2", qop=auth"#],
    );
    let third = client.authorize(&request(), &fresh, &creds()).unwrap();
    assert_eq!(
        sent(&third, HeaderKind::Authorization).param("nc"),
        Some("00000001")
    );
}

#[test]
fn second_challenge_means_wrong_credentials_unless_stale() {
    let mut client = client();
    let resp = challenge(
        "401 Unauthorized",
        &[r#"WWW-Authenticate: Digest realm="r", nonce="n", qop=auth"#],
    );
    let retry = client.authorize(&request(), &resp, &creds()).unwrap();
    match client.authorize(&retry, &resp, &creds()) {
        Err(Error::CredentialsRejected { realm }) => assert_eq!(realm, "r"),
        other => panic!("expected CredentialsRejected, got {other:?}"),
    }
    let stale = challenge(
        "401 Unauthorized",
        &[r#"WWW-Authenticate: Digest realm="r", nonce="n3", qop=auth, stale=TRUE"#],
    );
    let again = client.authorize(&retry, &stale, &creds()).unwrap();
    let auth = sent(&again, HeaderKind::Authorization);
    assert_eq!(
        auth.param("nonce"),
        Some("n3"),
        "old Authorization replaced"
    );
    assert_eq!(dialog::cseq_of(&again.headers).unwrap().0, 9);
    // A proxy challenge for another realm keeps the registrar's credentials.
    let proxy = challenge(
        "407 Proxy Authentication Required",
        &[r#"Proxy-Authenticate: Digest realm="p", nonce="q""#],
    );
    let both = client.authorize(&again, &proxy, &creds()).unwrap();
    assert_eq!(
        dialog::header_values(&both.headers, HeaderKind::Authorization).count(),
        1
    );
    assert_eq!(
        dialog::header_values(&both.headers, HeaderKind::ProxyAuthorization).count(),
        1
    );
}

#[test]
fn unusable_challenges_are_errors() {
    let cases: &[(&str, &[&str])] = &[
        ("401 Unauthorized", &[]),
        (
            "401 Unauthorized",
            &[r#"WWW-Authenticate: Basic realm="x""#],
        ),
        (
            "401 Unauthorized",
            &[r#"WWW-Authenticate: Digest realm="r", nonce="n", qop="auth-int""#],
        ),
        (
            "401 Unauthorized",
            &[r#"WWW-Authenticate: Digest realm="r", nonce="n", algorithm=SHA-1"#],
        ),
        (
            "401 Unauthorized",
            &[r#"WWW-Authenticate: Digest realm="r""#],
        ),
        (
            "401 Unauthorized",
            &[r#"WWW-Authenticate: Digest nonce="n""#],
        ),
        (
            "401 Unauthorized",
            &[r#"WWW-Authenticate: Digest realm="r, nonce="n""#],
        ),
        (
            "407 Proxy Authentication Required",
            &[r#"WWW-Authenticate: Digest realm="r", nonce="n""#],
        ),
        (
            "403 Forbidden",
            &[r#"WWW-Authenticate: Digest realm="r", nonce="n""#],
        ),
    ];
    for (status, headers) in cases {
        let resp = challenge(status, headers);
        let result = client().authorize(&request(), &resp, &creds());
        assert!(
            matches!(result, Err(Error::NoUsableChallenge { .. })),
            "{status} {headers:?}: {result:?}"
        );
    }
}

#[test]
fn hostile_challenge_values_do_not_panic() {
    let values = [
        "",
        ",",
        ",,,",
        "=",
        "Digest",
        "Digest ,",
        "Digest =",
        "Digest realm",
        "Digest realm=",
        "Digest realm=\"",
        "Digest realm=\"\\",
        "Digest realm=\"a\\\"b\", nonce=\"é\"",
        "\"Digest\" realm=x",
        "Digest\trealm=x,nonce=y",
        "digest REALM=x, NONCE=y",
        "Digest realm=x nonce=y",
    ];
    for v in values {
        let _ = challenge::parse(v);
    }
    let parsed = challenge::parse("digest REALM=x, NONCE=y");
    assert_eq!(parsed[0].param("realm"), Some("x"));
    assert_eq!(parsed[0].param("nonce"), Some("y"));
    assert_eq!(
        challenge::parse("Digest realm=\"a\\\"b\"")[0].param("realm"),
        Some("a\"b")
    );
    let huge = format!("Digest {}", vec!["a=b"; 10_000].join(", "));
    assert_eq!(challenge::parse(&huge)[0].params.len(), 32);
    let many = vec!["Digest a=b"; 100].join(", ");
    assert_eq!(challenge::parse(&many).len(), 8);
    let quoted = challenge::quote("a\"b\\c");
    assert_eq!(quoted, "\"a\\\"b\\\\c\"");
}
