//! switchd, the daemon: the only crate of the workspace that does I/O.
//!
//! It binds the SIP sockets, the control socket and the metrics endpoint,
//! then runs one core task that owns the sans-IO [`Switch`] and a single
//! timer; everything else (socket readers, connection tasks, name look-ups)
//! feeds the core over one bounded channel and gets its output from it.
//!
//! # Layout
//! - [`config`]: the config file's schema, defaults and validation.
//! - `advertise`: which address goes into Via/Contact for wildcard listeners.
//! - `core`: the core task and the event subscribers.
//! - `transport`: SIP over UDP and TCP.
//! - `control`: the control socket and its connections.
//! - `media`: RTP sockets, and the file side of `play`/`collect`/`record`.
//! - `metrics`: the Prometheus recorder, endpoint and series.
//! - `notify`: systemd readiness and watchdog.
//! - [`logging`], [`signals`]: used by the binary.
#![warn(missing_docs)]

mod advertise;
pub mod config;
mod control;
mod core;
mod error;
pub mod logging;
mod media;
mod metrics;
mod notify;
pub mod signals;
mod transport;

pub use config::Config;
pub use error::Error;

use crate::core::{Core, Engine, Input, Sockets};
use crate::media::{MediaFiles, MediaFilesSettings, RtpSockets, TtsSettings};
use crate::transport::{TcpConnections, TcpContext, TcpSettings, UdpSockets};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use switchd_sip::Transport;
use switchd_switch::{Switch, SwitchConfig};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Inputs waiting for the core before senders wait.
const INPUT_QUEUE: usize = 1024;
/// Time allowed beyond the drain grace for the switch to finish hanging up.
const DRAIN_MARGIN: Duration = Duration::from_secs(5);

/// At most this long for control connections to write their last events
/// once the core has stopped (the accept loop itself allows 500 ms).
const CONTROL_FLUSH_LIMIT: Duration = Duration::from_secs(1);

/// Runs the daemon until `shutdown` completes, then drains calls and returns.
/// SIGHUP re-reads routes, trunks and the hold prompt from `config.source`
/// when it is set.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let source = config.source.clone();
    let running = Running::start(config).await?;
    let reload = (!source.as_os_str().is_empty())
        .then(|| tokio::spawn(signals::reload_on_sighup(source, running.reloader())));
    let result = running.serve(shutdown).await;
    if let Some(reload) = reload {
        reload.abort();
    }
    result
}

/// Loads the files `config` names for the daemon's start (the hold prompt)
/// the way the daemon does, without starting it: what `--check-config`
/// adds to [`Config::load`]. The error names the key and the file.
pub fn check_files(config: &Config) -> Result<(), Error> {
    media::load_hold_prompt(config, &media_files(config)).map(drop)
}

/// The file side of media as `config` sets it up.
fn media_files(config: &Config) -> MediaFiles {
    MediaFiles::new(MediaFilesSettings {
        prompt_cache_entries: config.media.prompt_cache_entries,
        tts: TtsSettings {
            command: config.media.tts_command.clone(),
            cache_dir: config.media.tts_cache.clone(),
            max_entries: config.media.tts_cache_entries,
        },
    })
}

/// What the daemon actually bound (ports chosen by the OS for port 0).
#[derive(Debug, Clone)]
pub struct BoundAddresses {
    /// Each SIP socket as bound, in `[sip] listen` order.
    pub sip: Vec<(Transport, SocketAddr)>,
    /// The address advertised for each SIP socket, same order.
    pub advertised: Vec<(Transport, SocketAddr)>,
    /// The control socket's path.
    pub control: PathBuf,
    /// The metrics endpoint, when enabled.
    pub metrics: Option<SocketAddr>,
}

impl BoundAddresses {
    /// The first SIP socket of `transport`.
    pub fn sip(&self, transport: Transport) -> Option<SocketAddr> {
        self.sip
            .iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, addr)| *addr)
    }
}

/// Hands a re-read config's routes, trunks and hold prompt to a running
/// daemon.
#[derive(Debug, Clone)]
pub struct Reloader {
    inputs: mpsc::Sender<Input>,
    files: Arc<MediaFiles>,
}

impl Reloader {
    /// Replaces routes, config trunks and the hold prompt with those of
    /// `config`; calls go on. A hold prompt that does not load is an error
    /// naming the key and the file, and then nothing is replaced.
    pub async fn reload(&self, config: &Config) -> Result<(), Error> {
        // Reading and decoding the WAV is blocking file work.
        let files = Arc::clone(&self.files);
        let for_load = config.clone();
        let hold_prompt =
            tokio::task::spawn_blocking(move || media::load_hold_prompt(&for_load, &files))
                .await
                .map_err(|_| Error::TaskFailed {
                    task: "hold prompt loader",
                })??;
        let input = Input::Reload {
            routes: config.switch_routes(),
            trunks: config.trunks.clone(),
            hold_prompt,
        };
        if self.inputs.send(input).await.is_err() {
            tracing::warn!("reload after the core stopped; ignored");
        }
        Ok(())
    }
}

/// Tasks stopped when dropped: a failed start, or a [`Running`] dropped
/// without [`serve`](Running::serve), leaves no socket open behind it.
#[derive(Debug, Default)]
struct Tasks(Vec<JoinHandle<()>>);

impl Tasks {
    fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.push(tokio::spawn(task));
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A started daemon: sockets bound, core running, READY sent. Dropping it
/// stops everything at once; [`serve`](Self::serve) stops it gracefully.
#[derive(Debug)]
pub struct Running {
    addresses: BoundAddresses,
    inputs: mpsc::Sender<Input>,
    core: Tasks,
    /// The control accept loop, stopped after the core so that subscribers
    /// get the last events.
    control: Tasks,
    control_stop: Arc<tokio::sync::Notify>,
    tasks: Tasks,
    drain_grace: Duration,
    /// The prompt cache, shared with the core, for reloads.
    files: Arc<MediaFiles>,
}

impl Running {
    /// Validates `config`, binds every socket, starts the switch and tells
    /// systemd the daemon is ready.
    pub async fn start(config: Config) -> Result<Self, Error> {
        Self::start_with(config, |switch_config| {
            Switch::new(switch_config, tokio::time::Instant::now().into_std())
        })
        .await
    }

    /// [`start`](Self::start) with the engine built by `make_engine`.
    pub(crate) async fn start_with<E: Engine>(
        config: Config,
        make_engine: impl FnOnce(SwitchConfig) -> E,
    ) -> Result<Self, Error> {
        config.validate()?;
        let files = Arc::new(media_files(&config));
        // Before any socket is bound: a bad file is a config error.
        let hold_prompt = media::load_hold_prompt(&config, &files)?;
        let mut tasks = Tasks::default();
        let metrics = if config.metrics.enabled {
            let handle = metrics::install()?;
            let listener = transport::bind_tcp(config.metrics.listen, "metrics")?;
            let addr = listener.local_addr().map_err(|source| Error::Bind {
                what: "metrics",
                address: config.metrics.listen.to_string(),
                source,
            })?;
            tasks.spawn(metrics::serve(listener, handle));
            Some(addr)
        } else {
            None
        };
        metrics::started();

        let (inputs, receiver) = mpsc::channel(INPUT_QUEUE);
        let sip = &config.sip;
        let tcp_context = TcpContext::new(
            inputs.clone(),
            TcpSettings {
                max_message: sip.max_message_size,
                idle_timeout: config::seconds_of(sip.tcp_idle_timeout),
                connect_timeout: config::seconds_of(sip.tcp_connect_timeout),
                write_queue: sip.tcp_write_queue,
                max_connections: sip.max_tcp_connections,
            },
        );
        let mut udp = UdpSockets::default();
        let mut bound = Vec::new();
        for listen in &sip.listen {
            let local_addr_error = |source| Error::Bind {
                what: "sip",
                address: listen.to_string(),
                source,
            };
            match listen.transport {
                Transport::Udp => {
                    let (socket, sender) = transport::bind_udp(listen.addr)?;
                    let socket = Arc::new(socket);
                    let local = socket.local_addr().map_err(local_addr_error)?;
                    udp.add(local, sender);
                    let receiving =
                        transport::receive_loop(socket, local, sip.max_udp_message, inputs.clone());
                    tasks.spawn(receiving);
                    bound.push((Transport::Udp, local));
                }
                Transport::Tcp => {
                    let listener = transport::bind_tcp(listen.addr, "sip tcp")?;
                    let local = listener.local_addr().map_err(local_addr_error)?;
                    tasks.spawn(transport::accept_loop(listener, tcp_context.clone()));
                    bound.push((Transport::Tcp, local));
                }
            }
        }
        let control_listener = control::bind(&config.control.socket)?;

        let interfaces = if bound.iter().any(|(_, addr)| addr.ip().is_unspecified()) {
            advertise::host_addresses()
        } else {
            Vec::new()
        };
        let advertised = advertise::advertised_addresses(&bound, sip.advertise, &interfaces);
        let kernel = media::kernel_start::start(&config)?;
        let mut switch_config = config.switch_config(advertised.clone());
        switch_config.hold_prompt = hold_prompt;
        switch_config.offload_media = kernel.is_some();
        let engine = make_engine(switch_config);
        let rtp = RtpSockets::new(config.media_ip(), config.rtp_pairs())
            .map_err(|source| Error::Runtime { source })?;
        let sockets = Sockets {
            udp,
            tcp: TcpConnections::new(tcp_context),
            rtp,
            kernel,
        };
        let core = Core::new(
            engine,
            receiver,
            inputs.clone(),
            sockets,
            Arc::clone(&files),
            config.control.event_ring,
        );
        let mut core_task = Tasks::default();
        core_task.spawn(core.run());

        let settings = control::ControlSettings {
            max_connections: config.control.max_connections,
            max_line: config.control.max_line,
            subscriber_queue: config.control.subscriber_queue,
        };
        let control_stop = Arc::new(tokio::sync::Notify::new());
        let mut control_task = Tasks::default();
        control_task.spawn(control::accept_loop(
            control_listener,
            settings,
            inputs.clone(),
            control_stop.clone(),
        ));
        tasks.spawn(notify::watchdog(inputs.clone()));

        let addresses = BoundAddresses {
            sip: bound,
            advertised,
            control: config.control.socket.clone(),
            metrics,
        };
        let sip_list: Vec<String> = addresses
            .sip
            .iter()
            .map(|(t, a)| format!("{t}:{a}"))
            .collect();
        tracing::info!(
            sip = %sip_list.join(" "),
            control = %addresses.control.display(),
            metrics = ?addresses.metrics,
            version = env!("CARGO_PKG_VERSION"),
            "switchd ready"
        );
        notify::ready(&format!("serving SIP on {}", sip_list.join(" ")));
        let drain_grace = config::seconds_of(config.calls.drain_grace);
        Ok(Self {
            addresses,
            inputs,
            core: core_task,
            control: control_task,
            control_stop,
            tasks,
            drain_grace,
            files,
        })
    }

    /// What was bound.
    pub fn addresses(&self) -> &BoundAddresses {
        &self.addresses
    }

    /// A handle to reload routes, trunks and the hold prompt.
    pub fn reloader(&self) -> Reloader {
        Reloader {
            inputs: self.inputs.clone(),
            files: Arc::clone(&self.files),
        }
    }

    /// Serves until `shutdown` completes, then drains: new INVITEs get 503,
    /// calls get the grace period to end, and the daemon returns once the
    /// switch is drained or the grace (plus a margin) has passed.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let Self {
            addresses,
            inputs,
            core: mut core_task,
            control: mut control_task,
            control_stop,
            tasks,
            drain_grace,
            files: _,
        } = self;
        let Some(core) = core_task.0.first_mut() else {
            return Err(Error::TaskFailed { task: "core" });
        };
        tokio::pin!(shutdown);
        let core_failed = tokio::select! {
            () = &mut shutdown => false,
            _ = &mut *core => true,
        };
        if !core_failed {
            notify::stopping();
            let limit = drain_grace + DRAIN_MARGIN;
            let drained = tokio::time::timeout(limit, async {
                let _ = inputs.send(Input::Drain { grace: drain_grace }).await;
                let _ = (&mut *core).await;
            });
            if drained.await.is_err() {
                tracing::warn!(
                    seconds = limit.as_secs_f64(),
                    "calls still up after the drain grace; stopping anyway"
                );
                core.abort();
            }
        }
        control_stop.notify_one();
        if let Some(control) = control_task.0.first_mut() {
            let _ = tokio::time::timeout(CONTROL_FLUSH_LIMIT, control).await;
        }
        drop(tasks);
        control::remove_socket(&addresses.control);
        if core_failed {
            tracing::error!("the core task stopped unexpectedly");
            return Err(Error::TaskFailed { task: "core" });
        }
        tracing::info!("switchd stopped");
        Ok(())
    }
}
