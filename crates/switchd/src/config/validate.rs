//! Checks that go beyond the schema, and the typed settings built from a
//! valid config for the switch and the endpoint.

use super::{Config, InbandDtmfConfig, RouteActionConfig, RouteConfig};
use crate::Error;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use switchd_sip::{EndpointConfig, Transport};
use switchd_switch::{InbandDtmf, Route, RouteAction, SwitchConfig};

/// A failed check: the key and what is wrong with it.
struct Invalid {
    key: String,
    reason: String,
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Invalid {
    Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

fn check(ok: bool, key: &str, reason: &str) -> Result<(), Invalid> {
    if ok {
        Ok(())
    } else {
        Err(invalid(key, reason))
    }
}

fn check_seconds(value: f64, key: &str) -> Result<(), Invalid> {
    // Duration::from_secs_f64 panics on negative, NaN or huge values.
    check(
        value.is_finite() && value > 0.0 && value < 1.0e9,
        key,
        "must be a positive number of seconds",
    )
}

/// Seconds already validated by [`check_seconds`].
pub(crate) fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or(Duration::from_secs(1))
}

impl Config {
    /// Checks values the schema cannot: ranges, consistency, uniqueness. The
    /// error names the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        self.check()
            .map_err(|Invalid { key, reason }| Error::ConfigInvalid {
                file: self.source.clone(),
                key,
                reason,
            })
    }

    fn check(&self) -> Result<(), Invalid> {
        self.check_sip()?;
        self.check_rtp()?;
        self.check_calls()?;
        self.check_media()?;
        self.check_control()?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|error| invalid("log.level", format!("not a tracing filter: {error}")))?;
        self.check_trunks()?;
        for (index, route) in self.routes.iter().enumerate() {
            check_route(route, index)?;
        }
        Ok(())
    }

    fn check_sip(&self) -> Result<(), Invalid> {
        let sip = &self.sip;
        check(
            !sip.listen.is_empty(),
            "sip.listen",
            "must name at least one address",
        )?;
        let mut seen = HashSet::new();
        for (index, listen) in sip.listen.iter().enumerate() {
            let fresh = listen.addr.port() == 0 || seen.insert(*listen);
            check(fresh, &format!("sip.listen[{index}]"), "is listed twice")?;
        }
        check(sip.t1_ms > 0, "sip.t1_ms", "must be positive")?;
        check(
            sip.t2_ms >= sip.t1_ms,
            "sip.t2_ms",
            "must be at least sip.t1_ms",
        )?;
        check(sip.t4_ms > 0, "sip.t4_ms", "must be positive")?;
        check(
            sip.max_transactions > 0,
            "sip.max_transactions",
            "must be positive",
        )?;
        check(
            (1024..=65_535).contains(&sip.max_udp_message),
            "sip.max_udp_message",
            "must be between 1024 and 65535",
        )?;
        check(
            (1024..=16 * 1024 * 1024).contains(&sip.max_message_size),
            "sip.max_message_size",
            "must be between 1024 and 16777216",
        )?;
        check(
            sip.max_tcp_connections > 0,
            "sip.max_tcp_connections",
            "must be positive",
        )?;
        check(
            sip.tcp_write_queue > 0,
            "sip.tcp_write_queue",
            "must be positive",
        )?;
        check_seconds(sip.tcp_idle_timeout, "sip.tcp_idle_timeout")?;
        check_seconds(sip.tcp_connect_timeout, "sip.tcp_connect_timeout")
    }

    fn check_rtp(&self) -> Result<(), Invalid> {
        let rtp = &self.rtp;
        check(
            rtp.port_min >= 1024,
            "rtp.port_min",
            "must be at least 1024",
        )?;
        check(
            rtp.port_min.is_multiple_of(2),
            "rtp.port_min",
            "must be even (RTP even, RTCP odd)",
        )?;
        // One leg takes an even/odd pair, so port_min < port_max holds one at least.
        check(
            rtp.port_min < rtp.port_max,
            "rtp.port_max",
            "must be greater than rtp.port_min",
        )
    }

    fn check_calls(&self) -> Result<(), Invalid> {
        let calls = &self.calls;
        check(calls.max_legs > 0, "calls.max_legs", "must be positive")?;
        check_seconds(calls.park_timeout, "calls.park_timeout")?;
        check_seconds(calls.default_ring_timeout, "calls.default_ring_timeout")?;
        check_seconds(calls.drain_grace, "calls.drain_grace")?;
        check_seconds(calls.ended_leg_retention, "calls.ended_leg_retention")
    }

    fn check_media(&self) -> Result<(), Invalid> {
        let media = &self.media;
        check_seconds(media.media_timeout, "media.media_timeout")?;
        check(
            !media.tts_command.as_os_str().is_empty(),
            "media.tts_command",
            "must name a program",
        )?;
        check(
            !media.tts_cache.as_os_str().is_empty(),
            "media.tts_cache",
            "must be a directory path",
        )?;
        check(
            media.prompt_cache_entries > 0,
            "media.prompt_cache_entries",
            "must be positive",
        )?;
        check(
            media.tts_cache_entries > 0,
            "media.tts_cache_entries",
            "must be positive",
        )
    }

    fn check_control(&self) -> Result<(), Invalid> {
        let control = &self.control;
        check(
            !control.socket.as_os_str().is_empty() && control.socket.file_name().is_some(),
            "control.socket",
            "must be a file path",
        )?;
        check(
            control.max_connections > 0,
            "control.max_connections",
            "must be positive",
        )?;
        check(
            control.event_ring > 0,
            "control.event_ring",
            "must be positive",
        )?;
        check(
            (1024..=16 * 1024 * 1024).contains(&control.max_line),
            "control.max_line",
            "must be between 1024 and 16777216",
        )?;
        check(
            control.subscriber_queue > 0,
            "control.subscriber_queue",
            "must be positive",
        )
    }

    fn check_trunks(&self) -> Result<(), Invalid> {
        let mut names = HashSet::new();
        for (index, trunk) in self.trunks.iter().enumerate() {
            let key = |field: &str| format!("trunk[{index}].{field}");
            check(
                !trunk.name.trim().is_empty(),
                &key("name"),
                "must not be empty",
            )?;
            check(
                names.insert(trunk.name.as_str()),
                &key("name"),
                &format!("`{}` is used by an earlier trunk", trunk.name),
            )?;
            check(
                !trunk.host.trim().is_empty(),
                &key("host"),
                "must not be empty",
            )?;
            check(trunk.port != Some(0), &key("port"), "must not be 0")?;
            if let Some(transport) = &trunk.transport {
                check(
                    matches!(transport.as_str(), "udp" | "tcp"),
                    &key("transport"),
                    "must be `udp` or `tcp`",
                )?;
            }
            check(
                trunk.register_expires != Some(0),
                &key("register_expires"),
                "must be positive",
            )?;
            check(
                !trunk.register || trunk.username.is_some(),
                &key("username"),
                "is required when register = true",
            )?;
        }
        Ok(())
    }

    /// The routes as the switch takes them.
    pub fn switch_routes(&self) -> Vec<Route> {
        self.routes.iter().map(route_of).collect()
    }

    /// The SIP endpoint's settings, advertising `advertised`.
    pub fn endpoint_config(&self, advertised: Vec<(Transport, SocketAddr)>) -> EndpointConfig {
        let sip = &self.sip;
        EndpointConfig {
            t1: Duration::from_millis(sip.t1_ms),
            t2: Duration::from_millis(sip.t2_ms),
            t4: Duration::from_millis(sip.t4_ms),
            max_transactions: sip.max_transactions,
            max_udp_message: sip.max_udp_message,
            max_tcp_message: sip.max_message_size,
            advertised,
            ..EndpointConfig::default()
        }
    }

    /// The local address RTP sockets bind to: `[rtp] bind`, else the IP of
    /// the first UDP (else any) `[sip] listen` address.
    pub fn media_ip(&self) -> IpAddr {
        let listen = &self.sip.listen;
        self.rtp.bind.unwrap_or_else(|| {
            listen
                .iter()
                .find(|l| l.transport == Transport::Udp)
                .or_else(|| listen.first())
                .map_or(IpAddr::from([0, 0, 0, 0]), |l| l.addr.ip())
        })
    }

    /// RTP/RTCP port pairs the range holds: the most legs with media at once.
    pub fn rtp_pairs(&self) -> usize {
        let span = usize::from(self.rtp.port_max.saturating_sub(self.rtp.port_min));
        span.div_ceil(2).max(1)
    }

    /// The switch's settings, advertising `advertised`; the hold prompt is
    /// left out, for the daemon to load from `media.hold_prompt` at start.
    pub fn switch_config(&self, advertised: Vec<(Transport, SocketAddr)>) -> SwitchConfig {
        SwitchConfig {
            endpoint: self.endpoint_config(advertised),
            routes: self.switch_routes(),
            trunks: self.trunks.clone(),
            rtp_ports: self.rtp.port_min..=self.rtp.port_max,
            max_legs: self.calls.max_legs,
            park_timeout: seconds(self.calls.park_timeout),
            default_ring_timeout: seconds(self.calls.default_ring_timeout),
            ended_leg_retention: seconds(self.calls.ended_leg_retention),
            media_timeout: seconds(self.media.media_timeout),
            media_timeout_hangup: self.media.media_timeout_hangup,
            inband_dtmf: match self.media.inband_dtmf {
                InbandDtmfConfig::Auto => InbandDtmf::Auto,
                InbandDtmfConfig::Always => InbandDtmf::Always,
                InbandDtmfConfig::Never => InbandDtmf::Never,
            },
            hold_prompt: None,
            // Set by the daemon once its kernel relay is loaded.
            offload_media: false,
        }
    }
}

fn check_route(route: &RouteConfig, index: usize) -> Result<(), Invalid> {
    let key = |field: &str| format!("route[{index}].{field}");
    check(
        !route.user.is_empty(),
        &key("user"),
        "must not be empty (use \"*\" for any)",
    )?;
    if let Some(host) = &route.host {
        check(
            !host.is_empty(),
            &key("host"),
            "must not be empty (omit it for any)",
        )?;
    }
    match (route.action, route.status) {
        (RouteActionConfig::Reject, Some(status)) => check(
            (400..=699).contains(&status),
            &key("status"),
            "must be in 400..=699",
        ),
        (RouteActionConfig::Reject, None) => Err(invalid(
            key("status"),
            "is required with action = \"reject\"",
        )),
        (_, Some(_)) => Err(invalid(
            key("status"),
            "is only allowed with action = \"reject\"",
        )),
        (_, None) => Ok(()),
    }
}

fn route_of(route: &RouteConfig) -> Route {
    let action = match (route.action, route.status) {
        (RouteActionConfig::Answer, _) => RouteAction::Answer,
        (RouteActionConfig::Park, _) => RouteAction::Park,
        (RouteActionConfig::Echo, _) => RouteAction::Echo,
        // Validation guarantees a status; 603 Decline is the safe reading otherwise.
        (RouteActionConfig::Reject, status) => RouteAction::Reject {
            status: status.unwrap_or(603),
        },
    };
    Route {
        user: route.user.clone(),
        host: route.host.clone(),
        action,
    }
}
