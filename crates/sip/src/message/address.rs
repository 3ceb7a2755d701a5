//! Splitting header values that carry addresses (RFC 3261 §20.10, §25.1):
//! comma-separated lists and `name-addr` / `addr-spec` values. Validation
//! (`validate`) and the lenient dialog readers share these, so both agree on
//! where a display name, a URI and its parameters start and end.

/// Byte index of the quote closing the quoted string that starts `s`.
pub(crate) fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// Splits a header value at commas outside quoted strings and angle
/// brackets; parts are returned as written (untrimmed, empty ones kept).
pub(crate) fn split_top_level(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut escaped, mut angle, mut start) = (false, false, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value.get(start..).unwrap_or_default());
    parts
}

/// One `name-addr` or `addr-spec` value cut into its parts, as slices of the
/// (trimmed) text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AddressParts<'a> {
    /// Display name as written: quoted (quotes included) or trimmed tokens.
    pub display_name: Option<&'a str>,
    /// The URI text, untrimmed, without angle brackets.
    pub uri: &'a str,
    /// Whether the URI was in angle brackets (a `name-addr`).
    pub bracketed: bool,
    /// What follows the URI: after `>`, or from the first `;` of an addr-spec
    /// (that `;` excluded).
    pub params: &'a str,
}

impl AddressParts<'_> {
    /// Whether the display name is a quoted string.
    pub(crate) fn quoted_name(&self) -> bool {
        self.display_name.is_some_and(|n| n.starts_with('"'))
    }
}

/// Cuts a `name-addr` or `addr-spec` value; the error says what is missing.
pub(crate) fn split_address(value: &str) -> Result<AddressParts<'_>, &'static str> {
    let value = value.trim();
    let (display_name, rest) = if value.starts_with('"') {
        let end = closing_quote(value).ok_or("unterminated display name")?;
        let name = value.get(..=end).unwrap_or_default();
        let rest = value.get(end + 1..).unwrap_or_default().trim_start();
        (Some(name), rest)
    } else {
        match value.find('<') {
            Some(at) => {
                let name = value.get(..at).unwrap_or_default().trim();
                let rest = value.get(at..).unwrap_or_default();
                ((!name.is_empty()).then_some(name), rest)
            }
            None => (None, value),
        }
    };
    if let Some(inner) = rest.strip_prefix('<') {
        let (uri, params) = inner.split_once('>').ok_or("missing '>'")?;
        return Ok(AddressParts {
            display_name,
            uri,
            bracketed: true,
            params,
        });
    }
    if display_name.is_some() {
        return Err("display name without <uri>");
    }
    let (uri, params) = rest.split_once(';').unwrap_or((rest, ""));
    Ok(AddressParts {
        display_name,
        uri,
        bracketed: false,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_name_addr_and_addr_spec() {
        let parts = split_address(" \"A \\\"b\\\"\" <sip:a@b;lr>;tag=1 ").expect("cuts");
        assert_eq!(parts.display_name, Some("\"A \\\"b\\\"\""));
        assert!(parts.quoted_name() && parts.bracketed);
        assert_eq!((parts.uri, parts.params), ("sip:a@b;lr", ";tag=1"));
        let parts = split_address("Bob <sip:b@c>").expect("cuts");
        assert_eq!(parts.display_name, Some("Bob"));
        let parts = split_address("sip:a@b;tag=2").expect("cuts");
        assert!(!parts.bracketed && parts.display_name.is_none());
        assert_eq!((parts.uri, parts.params), ("sip:a@b", "tag=2"));
        assert_eq!(
            split_address("\"x\" sip:a@b"),
            Err("display name without <uri>")
        );
        assert_eq!(split_address("<sip:a@b"), Err("missing '>'"));
        assert_eq!(
            split_address("\"open <sip:a@b>"),
            Err("unterminated display name")
        );
        assert_eq!(split_top_level("a, ,\"x,y\"").len(), 3);
    }
}
