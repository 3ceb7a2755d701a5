//! The raw pass: split a message into start line, unfolded header fields and
//! body, before anything is handed to `rsip`.
//!
//! `rsip` neither unfolds continuation lines nor accepts whitespace before the
//! colon nor knows the compact header names, so all three are resolved here and
//! the header fields are later rebuilt one per line in their long form.

/// One header field after unfolding, with its name in the long form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawHeader {
    /// Long-form name, as written (compact forms expanded).
    pub name: String,
    /// Value with folding replaced by single spaces and outer LWS trimmed.
    pub value: String,
}

impl RawHeader {
    /// Case-insensitive name comparison.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// A message split into its three parts; nothing validated beyond the line
/// structure.
#[derive(Debug, Clone)]
pub(crate) struct RawMessage<'a> {
    /// The first line, without its line ending.
    pub start_line: String,
    /// Header fields in order of appearance.
    pub headers: Vec<RawHeader>,
    /// Everything after the blank line that ends the header section.
    pub body: &'a [u8],
    /// Whether the header section was valid UTF-8 (it was read lossily).
    pub utf8: bool,
}

impl RawMessage<'_> {
    /// All header fields with this (long) name.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s RawHeader> {
        self.headers.iter().filter(move |h| h.is(name))
    }

    /// The value of the first header field with this name.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.is(name))
            .map(|h| h.value.as_str())
    }
}

/// Why the raw pass failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawError {
    /// No start line at all.
    Empty,
    /// A header line without a colon or with a name that is not a token.
    BadHeaderLine,
    /// A continuation line before any header field.
    StrayContinuation,
    /// More header fields than the limit.
    TooManyHeaders,
}

/// Maps a compact header name (RFC 3261 §7.3.3 and later RFCs) to its long
/// form.
pub(crate) fn expand_compact(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return None;
    };
    Some(match c.to_ascii_lowercase() {
        'a' => "Accept-Contact",
        'b' => "Referred-By",
        'c' => "Content-Type",
        'd' => "Request-Disposition",
        'e' => "Content-Encoding",
        'f' => "From",
        'i' => "Call-ID",
        'j' => "Reject-Contact",
        'k' => "Supported",
        'l' => "Content-Length",
        'm' => "Contact",
        'n' => "Identity-Info",
        'o' => "Event",
        'r' => "Refer-To",
        's' => "Subject",
        't' => "To",
        'u' => "Allow-Events",
        'v' => "Via",
        'x' => "Session-Expires",
        'y' => "Identity",
        _ => return None,
    })
}

/// `token` characters of RFC 3261 §25.1.
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// Whether `s` is a non-empty `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// Splits off the header section: returns (header section, body). The header
/// section ends at the first empty line (CRLF CRLF, or bare LF LF from lenient
/// peers); without one, everything is header section and the body is empty.
fn split_head_body(bytes: &[u8]) -> (&[u8], &[u8]) {
    let mut line_start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b != b'\n' {
            continue;
        }
        let line = bytes.get(line_start..i).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() && line_start > 0 {
            let head = bytes.get(..line_start).unwrap_or_default();
            let body = bytes.get(i + 1..).unwrap_or_default();
            return (head, body);
        }
        line_start = i + 1;
    }
    (bytes, &[])
}

/// Splits and unfolds `bytes` (leading CRLFs skipped, RFC 3261 §7.5).
pub(crate) fn split(bytes: &[u8], max_headers: usize) -> Result<RawMessage<'_>, RawError> {
    let start = bytes
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .ok_or(RawError::Empty)?;
    let bytes = bytes.get(start..).unwrap_or_default();
    let (head, body) = split_head_body(bytes);
    let utf8 = std::str::from_utf8(head).is_ok();
    let head = String::from_utf8_lossy(head);

    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start_line = lines.next().ok_or(RawError::Empty)?.to_owned();
    let mut headers: Vec<RawHeader> = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // RFC 3261 §7.3.1: a continuation line folds into the previous
            // field, the line break and leading whitespace becoming one SP.
            let last = headers.last_mut().ok_or(RawError::StrayContinuation)?;
            let more = line.trim_matches([' ', '\t']);
            if !more.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(more);
            }
            continue;
        }
        if headers.len() >= max_headers {
            return Err(RawError::TooManyHeaders);
        }
        let (name, value) = line.split_once(':').ok_or(RawError::BadHeaderLine)?;
        let name = name.trim_end_matches([' ', '\t']);
        if !is_token(name) {
            return Err(RawError::BadHeaderLine);
        }
        let name = expand_compact(name).map_or_else(|| name.to_owned(), str::to_owned);
        headers.push(RawHeader {
            name,
            value: value.trim_matches([' ', '\t']).to_owned(),
        });
    }
    Ok(RawMessage {
        start_line,
        headers,
        body,
        utf8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_continuation_lines() {
        let msg =
            b"OPTIONS sip:a@b SIP/2.0\r\nSubject: one\r\n  two\r\n\tthree\r\nXy: z\r\n\r\nbody";
        let raw = split(msg, 10).expect("splits");
        assert_eq!(raw.first("Subject"), Some("one two three"));
        assert_eq!(raw.first("Xy"), Some("z"));
        assert_eq!(raw.body, b"body");
    }

    #[test]
    fn expands_compact_forms_and_space_before_colon() {
        let msg =
            b"OPTIONS sip:a@b SIP/2.0\r\ni : abc\r\nl:0\r\nv :SIP/2.0/UDP h\r\nk: timer\r\n\r\n";
        let raw = split(msg, 10).expect("splits");
        assert_eq!(raw.first("Call-ID"), Some("abc"));
        assert_eq!(raw.first("Content-Length"), Some("0"));
        assert_eq!(raw.first("via"), Some("SIP/2.0/UDP h"));
        assert_eq!(raw.first("Supported"), Some("timer"));
        assert_eq!(expand_compact("M"), Some("Contact"));
        assert_eq!(expand_compact("q"), None);
        assert_eq!(expand_compact("To"), None);
    }

    #[test]
    fn refuses_broken_lines_and_too_many_headers() {
        assert_eq!(
            split(b"X\r\n continued\r\n", 5).err(),
            Some(RawError::StrayContinuation)
        );
        assert_eq!(
            split(b"X\r\nno colon here\r\n", 5).err(),
            Some(RawError::BadHeaderLine)
        );
        assert_eq!(
            split(b"X\r\nbad name: v\r\n", 5).err(),
            Some(RawError::BadHeaderLine)
        );
        assert_eq!(
            split(b"X\r\na: 1\r\nb: 2\r\n", 1).err(),
            Some(RawError::TooManyHeaders)
        );
        assert_eq!(split(b"\r\n\r\n", 1).err(), Some(RawError::Empty));
    }

    #[test]
    fn skips_leading_crlf_and_keeps_binary_body() {
        let raw = split(b"\r\nX\r\nA: b\r\n\r\n\x00\xff\r\n", 5).expect("splits");
        assert_eq!(raw.start_line, "X");
        assert_eq!(raw.body, b"\x00\xff\r\n");
        assert!(raw.utf8);
    }
}
