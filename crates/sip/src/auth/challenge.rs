//! Parsing `WWW-Authenticate` / `Proxy-Authenticate` (and our own
//! `Authorization`) values into schemes and parameters.

use crate::dialog::{closing_quote, split_list};

/// Most challenges read from one 401/407, and most parameters per challenge:
/// anything beyond is ignored, so a hostile response cannot grow memory.
const MAX_CHALLENGES: usize = 8;
const MAX_PARAMS: usize = 32;

/// One challenge (or credentials) value: scheme and auth-params, names in
/// lower case, quoted values unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthValue {
    pub(crate) scheme: String,
    pub(crate) params: Vec<(String, String)>,
}

impl AuthValue {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a header value holding one or more `scheme param=value, …`
/// entries. Items that fit nowhere (a parameter before any scheme, a
/// parameter without `=`) are skipped.
pub(crate) fn parse(value: &str) -> Vec<AuthValue> {
    let mut out: Vec<AuthValue> = Vec::new();
    for item in split_list(value) {
        let token_end = item
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(item.len());
        let (token, rest) = item.split_at(token_end);
        let rest = rest.trim_start();
        let param_text = if rest.starts_with('=') {
            item
        } else {
            if out.len() >= MAX_CHALLENGES {
                break;
            }
            out.push(AuthValue {
                scheme: token.to_owned(),
                params: Vec::new(),
            });
            rest
        };
        if param_text.is_empty() {
            continue;
        }
        let (Some(current), Some(param)) = (out.last_mut(), parse_param(param_text)) else {
            continue;
        };
        if current.params.len() < MAX_PARAMS {
            current.params.push(param);
        }
    }
    out
}

fn parse_param(text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once('=')?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let value = value.trim();
    let value = if value.starts_with('"') {
        let end = closing_quote(value)?;
        unescape(value.get(1..end)?)
    } else {
        value.to_owned()
    };
    Some((name.to_ascii_lowercase(), value))
}

fn unescape(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `s` as a quoted-string.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
