//! Trunks: the table (from the config file or the control socket) and
//! their registration (RFC 3261 §10) with digest, refresh and backoff.

mod register;

use crate::switch::{ClientPurpose, ResolvePurpose, Switch};
use crate::timers::TimerKey;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use switchd_control::TrunkInfo;
use switchd_control::command::TrunkSpec;
use switchd_sip::auth::{Credentials, DigestClient};
use switchd_sip::dialog::{new_call_id, new_tag};
use switchd_sip::rsip::{self};
use switchd_sip::{ClientTxId, Peer, Transport};

/// First retry delay after a failed registration; doubles up to the maximum.
const RETRY_FIRST: Duration = Duration::from_secs(30);
/// Longest delay between registration retries.
const RETRY_MAX: Duration = Duration::from_secs(300);
/// Challenges answered per REGISTER attempt.
const MAX_AUTH_ATTEMPTS: u8 = 2;
/// Most trunks the control socket may add (with those from the config).
pub(crate) const MAX_TRUNKS: usize = 1000;
/// Requested expiry when the trunk gives none.
const DEFAULT_EXPIRES: u32 = 3600;

/// Where a trunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Config,
    Control,
}

/// A trunk's registration state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegState {
    Disabled,
    Registering,
    Registered,
    Failed,
}

#[derive(Debug)]
pub(crate) struct Trunk {
    spec: TrunkSpec,
    source: Source,
    state: RegState,
    call_id: String,
    from_tag: String,
    cseq: u32,
    tx: Option<ClientTxId>,
    last_request: Option<rsip::Request>,
    peer: Option<Peer>,
    auth: DigestClient,
    auth_attempts: u8,
    backoff: Duration,
    /// The REGISTER in flight (or next) asks for this expiry; 0 un-registers.
    expires: u32,
}

/// The trunk table, by name.
#[derive(Debug, Default)]
pub(crate) struct Trunks {
    by_name: BTreeMap<String, Trunk>,
}

impl Trunks {
    pub(crate) fn spec(&self, name: &str) -> Option<TrunkSpec> {
        self.by_name.get(name).map(|t| t.spec.clone())
    }

    /// The trunk when there is exactly one.
    pub(crate) fn only(&self) -> Option<TrunkSpec> {
        let mut trunks = self.by_name.values();
        match (trunks.next(), trunks.next()) {
            (Some(t), None) => Some(t.spec.clone()),
            _ => None,
        }
    }

    pub(crate) fn credentials(&self, name: &str) -> Option<Credentials> {
        let spec = &self.by_name.get(name)?.spec;
        let password = spec.password.clone()?;
        let username = spec.auth_user.clone().or_else(|| spec.username.clone())?;
        Some(Credentials { username, password })
    }

    pub(crate) fn len(&self) -> usize {
        self.by_name.len()
    }

    pub(crate) fn registered(&self) -> usize {
        self.by_name
            .values()
            .filter(|t| t.state == RegState::Registered)
            .count()
    }

    pub(crate) fn info(&self) -> Vec<TrunkInfo> {
        self.by_name
            .values()
            .map(|t| TrunkInfo {
                spec: TrunkSpec {
                    password: None,
                    ..t.spec.clone()
                },
                source: match t.source {
                    Source::Config => "config",
                    Source::Control => "control",
                }
                .to_owned(),
                registration: match t.state {
                    RegState::Disabled => "disabled",
                    RegState::Registering => "registering",
                    RegState::Registered => "registered",
                    RegState::Failed => "failed",
                }
                .to_owned(),
            })
            .collect()
    }
}

fn new_trunk(spec: TrunkSpec, source: Source) -> Trunk {
    let expires = spec.register_expires.unwrap_or(DEFAULT_EXPIRES);
    Trunk {
        state: if spec.register {
            RegState::Registering
        } else {
            RegState::Disabled
        },
        spec,
        source,
        call_id: new_call_id("switchd"),
        from_tag: new_tag(),
        cseq: 0,
        tx: None,
        last_request: None,
        peer: None,
        auth: DigestClient::new(),
        auth_attempts: 0,
        backoff: RETRY_FIRST,
        expires,
    }
}

fn transport_of(spec: &TrunkSpec) -> Transport {
    match spec.transport.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("tcp") => Transport::Tcp,
        _ => Transport::Udp,
    }
}

impl Switch {
    /// Adds a trunk over the control socket; a control trunk of the same
    /// name is replaced, a config one is not.
    pub(crate) fn add_trunk(
        &mut self,
        now: Instant,
        spec: TrunkSpec,
    ) -> Result<(), crate::SwitchError> {
        if spec.name.is_empty() || spec.host.is_empty() {
            return Err(crate::SwitchError::invalid(
                "trunk",
                "name and host are required",
            ));
        }
        let host_ok = spec.host.len() <= 255
            && spec
                .host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
        let user_ok = |user: &Option<String>| {
            user.as_deref().is_none_or(|u| {
                !u.is_empty()
                    && u.len() <= 64
                    && u.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-_.!~*'()#".contains(c))
            })
        };
        if !host_ok || !user_ok(&spec.username) {
            return Err(crate::SwitchError::invalid(
                "trunk",
                "host must be a name or address, username a URI user part",
            ));
        }
        if !self.trunks.by_name.contains_key(&spec.name) && self.trunks.len() >= MAX_TRUNKS {
            return Err(crate::SwitchError::LimitReached {
                table: "trunks",
                limit: MAX_TRUNKS,
            });
        }
        if self
            .trunks
            .by_name
            .get(&spec.name)
            .is_some_and(|t| t.source == Source::Config)
        {
            return Err(crate::SwitchError::TrunkExists { name: spec.name });
        }
        self.replace_trunk(now, spec, Source::Control);
        Ok(())
    }

    /// Removes a trunk, un-registering it (best effort).
    pub(crate) fn remove_trunk(&mut self, now: Instant, name: &str) -> bool {
        self.drop_trunk(now, name, true)
    }

    /// Replaces a trunk by `spec`. The old binding is un-registered only
    /// when the new spec does not take it over: a REGISTER for the same
    /// address-of-record and Contact simply replaces it, and an Expires 0
    /// racing it could delete the fresh binding.
    fn replace_trunk(&mut self, now: Instant, spec: TrunkSpec, source: Source) {
        let takes_over = self.trunks.by_name.get(&spec.name).is_some_and(|old| {
            let o = &old.spec;
            spec.register
                && (&o.host, o.port, &o.username, &o.transport)
                    == (&spec.host, spec.port, &spec.username, &spec.transport)
        });
        self.drop_trunk(now, &spec.name, !takes_over);
        self.insert_trunk(now, spec, source);
    }

    fn drop_trunk(&mut self, now: Instant, name: &str, unregister: bool) -> bool {
        let Some(mut trunk) = self.trunks.by_name.remove(name) else {
            return false;
        };
        self.timers.cancel(&TimerKey::Register(name.to_owned()));
        if let Some(tx) = trunk.tx.take() {
            self.client_txs.remove(&tx);
        }
        self.resolving
            .retain(|_, p| *p != ResolvePurpose::Register(name.to_owned()));
        if unregister
            && trunk.state == RegState::Registered
            && let Some(peer) = trunk.peer
        {
            trunk.expires = 0;
            if let Some(request) = self.register_request(&mut trunk, peer)
                && let Ok(tx) = self.endpoint.send_request(now, request, peer)
            {
                self.client_txs.insert(tx, ClientPurpose::Fire);
            }
        }
        true
    }

    fn insert_trunk(&mut self, now: Instant, spec: TrunkSpec, source: Source) {
        let name = spec.name.clone();
        let register = spec.register && !self.draining;
        self.trunks
            .by_name
            .insert(name.clone(), new_trunk(spec, source));
        if register {
            self.start_register(now, &name);
        }
    }

    /// Replaces the config trunks: unchanged ones keep their registration,
    /// changed ones are re-registered, gone ones un-registered.
    pub(crate) fn reload_trunks(&mut self, now: Instant, specs: Vec<TrunkSpec>) {
        let gone: Vec<String> = self
            .trunks
            .by_name
            .values()
            .filter(|t| t.source == Source::Config && !specs.iter().any(|s| s.name == t.spec.name))
            .map(|t| t.spec.name.clone())
            .collect();
        for name in gone {
            self.remove_trunk(now, &name);
        }
        for spec in specs {
            let unchanged = self
                .trunks
                .by_name
                .get(&spec.name)
                .is_some_and(|t| t.source == Source::Config && t.spec == spec);
            if !unchanged {
                self.replace_trunk(now, spec, Source::Config);
            }
        }
    }
}
