//! Inbound routing: the first `[[route]]` whose user and host globs match
//! the Request-URI wins.

use crate::config::{Route, RouteAction};

/// The action of the first route matching `user`@`host`, if any.
pub(crate) fn route<'r>(routes: &'r [Route], user: &str, host: &str) -> Option<&'r RouteAction> {
    routes
        .iter()
        .find(|r| glob(&r.user, user) && r.host.as_deref().is_none_or(|h| glob_ci(h, host)))
        .map(|r| &r.action)
}

/// Host names compare case-insensitively (RFC 3261 §19.1.4).
fn glob_ci(pattern: &str, text: &str) -> bool {
    glob(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
}

/// `*` matches any run of characters (also none); everything else matches
/// itself. Iterative with one backtrack point, so it is linear in practice
/// and never recurses on input from the network.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(c) if Some(c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches() {
        assert!(glob("*", ""));
        assert!(glob("*", "anything"));
        assert!(glob("100", "100"));
        assert!(!glob("100", "1000"));
        assert!(glob("1*", "1000"));
        assert!(glob("*00", "1000"));
        assert!(glob("1*0*1", "1000201"));
        assert!(!glob("1*0*1", "100020"));
        assert!(!glob("", "x"));
    }

    #[test]
    fn first_match_wins_and_host_is_optional() {
        let routes = vec![
            Route {
                user: "1*".into(),
                host: Some("*.example.com".into()),
                action: RouteAction::Park,
            },
            Route {
                user: "1*".into(),
                host: None,
                action: RouteAction::Reject { status: 486 },
            },
            Route {
                user: "*".into(),
                host: None,
                action: RouteAction::Answer,
            },
        ];
        assert_eq!(
            route(&routes, "100", "PBX.Example.com"),
            Some(&RouteAction::Park)
        );
        assert_eq!(
            route(&routes, "100", "10.0.0.1"),
            Some(&RouteAction::Reject { status: 486 })
        );
        assert_eq!(
            route(&routes, "200", "10.0.0.1"),
            Some(&RouteAction::Answer)
        );
        assert_eq!(route(&routes[..2], "200", "10.0.0.1"), None);
    }
}
