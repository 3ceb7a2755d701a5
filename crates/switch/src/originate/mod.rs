//! `originate`: checking the arguments, choosing the target and trunk, and
//! building the INVITE once the next hop's address is known.

mod args;
mod invite;

use args::{check_headers, is_sip_uri, is_user, seconds, trunk_transport};

use crate::error::SwitchError;
use crate::leg::{Leg, OutboundCall, Side};
use crate::sipmsg::{self};
use crate::switch::{ResolvePurpose, Switch};
use crate::timers::TimerKey;
use std::net::SocketAddr;
use std::time::Instant;
use switchd_control::command::{Originate, TrunkSpec};
use switchd_control::{HangupCause, LegState, ReplyBody};
use switchd_sip::dialog::{new_call_id, new_tag, parse_uri};
use switchd_sip::rsip::{self};
use switchd_sip::{Peer, Transport};

/// Longest leg id a client may choose.
const MAX_LEG_ID: usize = 128;

/// What the INVITE is built from once the next hop resolves.
#[derive(Debug)]
pub(crate) struct Plan {
    request_uri: rsip::Uri,
    /// `None`: derive from the trunk's user or our address.
    from: Option<FromSpec>,
    display_name: Option<String>,
    privacy: bool,
    headers: Vec<(String, String)>,
    trunk: Option<TrunkSpec>,
    call_id_seed: String,
}

#[derive(Debug)]
pub(crate) enum FromSpec {
    Uri(rsip::Uri),
    User(String),
}

impl Switch {
    pub(crate) fn originate(
        &mut self,
        now: Instant,
        args: Originate,
    ) -> Result<ReplyBody, SwitchError> {
        if let Some(id) = &args.leg
            && let Some(leg) = self.legs.get(id)
        {
            return Ok(ReplyBody::Leg {
                leg: leg.info(now),
                existing: true,
            });
        }
        if self.draining {
            return Err(SwitchError::ShuttingDown);
        }
        if self.live_legs >= self.settings.max_legs {
            self.counters.limit_rejections += 1;
            return Err(SwitchError::LimitReached {
                table: "legs",
                limit: self.settings.max_legs,
            });
        }
        let id = match &args.leg {
            Some(id)
                if id.is_empty() || id.len() > MAX_LEG_ID || id.chars().any(char::is_control) =>
            {
                return Err(SwitchError::invalid("leg", "1 to 128 printable characters"));
            }
            Some(id) => id.clone(),
            None => self.new_outbound_leg_id(),
        };
        let headers = check_headers(&args)?;
        let ring_timeout = seconds("ring_timeout", args.ring_timeout)?
            .unwrap_or(self.settings.default_ring_timeout);
        let max_duration = seconds("max_duration", args.max_duration)?;
        let (request_uri, trunk) = self.target(&args)?;
        let from = match args.from.as_deref() {
            None => None,
            Some(f) if is_sip_uri(f) => Some(FromSpec::Uri(
                parse_uri(f).map_err(|e| SwitchError::invalid("from", e.to_string()))?,
            )),
            Some(f) if is_user(f) => Some(FromSpec::User(f.to_owned())),
            Some(f) => {
                return Err(SwitchError::invalid(
                    "from",
                    format!("{f:?} is neither a sip URI nor a number"),
                ));
            }
        };
        // The next hop: the trunk (as outbound proxy) or the URI itself.
        let (hop_host, hop_port, transport) = match &trunk {
            Some(t) => (t.host.clone(), t.port.unwrap_or(5060), trunk_transport(t)),
            None => (
                sipmsg::uri_host(&request_uri),
                sipmsg::uri_port(&request_uri),
                sipmsg::uri_transport(&request_uri).unwrap_or(
                    if request_uri.scheme == Some(rsip::Scheme::Sips) {
                        Transport::Tcp
                    } else {
                        Transport::Udp
                    },
                ),
            ),
        };
        let hop_ip: Option<std::net::IpAddr> = hop_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok();
        if hop_ip.is_none() && self.resolving.len() >= crate::switch::MAX_PENDING_RESOLVES {
            self.counters.limit_rejections += 1;
            return Err(SwitchError::LimitReached {
                table: "resolves",
                limit: crate::switch::MAX_PENDING_RESOLVES,
            });
        }
        let Some(port) = self.allocate_rtp_port(now) else {
            self.counters.limit_rejections += 1;
            return Err(SwitchError::LimitReached {
                table: "rtp_ports",
                limit: self.ports.capacity(),
            });
        };
        let plan = Plan {
            request_uri: request_uri.clone(),
            from,
            display_name: args.display_name.clone(),
            privacy: args.privacy,
            headers,
            trunk: trunk.clone(),
            call_id_seed: new_call_id("switchd"),
        };
        let auth = trunk
            .as_ref()
            .filter(|t| t.password.is_some())
            .map(|_| switchd_sip::auth::DigestClient::new());
        let side = Side::Outbound(Box::new(OutboundCall {
            tx: None,
            invite: None,
            plan: Some(Box::new(plan)),
            auth,
            auth_attempts: 0,
            max_duration,
            cancelled: false,
            cancel_tx: None,
            resolve_token: None,
            hop: None,
        }));
        let leg = Leg {
            from: args.from.clone().unwrap_or_default(),
            to: request_uri.to_string(),
            trunk: trunk.as_ref().map(|t| t.name.clone()),
            local_tag: new_tag(),
            ..Leg::new(id.clone(), side, LegState::New, now, port)
        };
        self.legs.insert(id.clone(), Box::new(leg));
        self.media_port_allocated(now, &id, port);
        self.live_legs += 1;
        self.counters.calls_outbound += 1;
        self.timers
            .set(TimerKey::Ring(id.clone()), now + ring_timeout);
        match hop_ip {
            Some(ip) => self.place_call(
                now,
                &id,
                Peer {
                    transport,
                    remote: SocketAddr::new(ip, hop_port),
                    local: None,
                },
            ),
            None => {
                // Room was checked above, so this queues the resolution.
                let token =
                    self.request_resolve(hop_host, hop_port, ResolvePurpose::Originate(id.clone()));
                if let Some(Side::Outbound(call)) = self.legs.get_mut(&id).map(|l| &mut l.side) {
                    call.resolve_token = token;
                    call.hop = Some((transport, hop_port));
                }
            }
        }
        let leg = self
            .legs
            .get(&id)
            .ok_or(SwitchError::UnknownLeg { leg: id.clone() })?;
        Ok(ReplyBody::Leg {
            leg: leg.info(now),
            existing: false,
        })
    }

    fn new_outbound_leg_id(&mut self) -> String {
        loop {
            let id = format!("out-{}", self.next_leg_number);
            self.next_leg_number += 1;
            if !self.legs.contains_key(&id) {
                return id;
            }
        }
    }

    /// The Request-URI and trunk of an `originate`.
    fn target(&self, args: &Originate) -> Result<(rsip::Uri, Option<TrunkSpec>), SwitchError> {
        let trunk = match &args.trunk {
            Some(name) => Some(
                self.trunks
                    .spec(name)
                    .ok_or_else(|| SwitchError::UnknownTrunk { name: name.clone() })?,
            ),
            None => None,
        };
        if is_sip_uri(&args.to) {
            let uri = parse_uri(&args.to).map_err(|e| SwitchError::invalid("to", e.to_string()))?;
            if sipmsg::uri_host(&uri).is_empty() {
                return Err(SwitchError::invalid("to", "no host"));
            }
            return Ok((uri, trunk));
        }
        if !is_user(&args.to) {
            return Err(SwitchError::invalid(
                "to",
                format!("{:?} is neither a sip URI nor a number", args.to),
            ));
        }
        let trunk = match trunk {
            Some(t) => t,
            None => self.trunks.only().ok_or_else(|| {
                SwitchError::invalid(
                    "trunk",
                    "a number needs a trunk (none, or more than one, is configured)",
                )
            })?,
        };
        let port = trunk.port.map(|p| format!(":{p}")).unwrap_or_default();
        let params = if trunk_transport(&trunk) == Transport::Tcp {
            ";transport=tcp"
        } else {
            ""
        };
        let host = if trunk.host.contains(':') && !trunk.host.starts_with('[') {
            format!("[{}]", trunk.host)
        } else {
            trunk.host.clone()
        };
        let uri = parse_uri(&format!("sip:{}@{host}{port}{params}", args.to))
            .map_err(|e| SwitchError::invalid("trunk", e.to_string()))?;
        Ok((uri, Some(trunk)))
    }

    /// The next hop of an outbound leg resolved (or did not).
    pub(crate) fn originate_resolved(
        &mut self,
        now: Instant,
        id: &str,
        address: Option<SocketAddr>,
    ) {
        let Some(Side::Outbound(call)) = self.leg_mut(id).map(|l| &mut l.side) else {
            return;
        };
        call.resolve_token = None;
        let Some((transport, port)) = call.hop.take() else {
            return;
        };
        match address {
            Some(address) => {
                let remote = SocketAddr::new(address.ip(), port);
                self.place_call(
                    now,
                    id,
                    Peer {
                        transport,
                        remote,
                        local: None,
                    },
                );
            }
            None => self.finish(now, id, HangupCause::NormalTemporaryFailure, None),
        }
    }
}
