//! The two I/O models: one mio thread, or one tokio task per socket.

use super::*;
use crate::relay::{Relay, Side, SocketPair};

/// Relays on one thread with one `mio::Poll` until the relay should stop.
pub fn run_mio(pairs: Vec<SocketPair>, relay: &Relay) -> Result<(), RelayError> {
    use mio::{Events, Interest, Poll, Token};
    let event_loop = |operation| move |source| RelayError::EventLoop { operation, source };
    let mut poll = Poll::new().map_err(event_loop("creating the poll"))?;
    // Socket 2i faces pair i's caller, socket 2i + 1 its callee; a token is
    // the socket's index, and index ^ 1 its partner.
    let mut sockets = Vec::with_capacity(pairs.len() * 2);
    for pair in pairs {
        for socket in [pair.caller_facing, pair.callee_facing] {
            let mut socket = mio::net::UdpSocket::from_std(socket);
            poll.registry()
                .register(&mut socket, Token(sockets.len()), Interest::READABLE)
                .map_err(event_loop("registering a socket"))?;
            sockets.push(socket);
        }
    }
    let mut events = Events::with_capacity(1024);
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    let mut next_stats = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next_stats {
            if !relay.write_stats(now)? || relay.should_stop(now) {
                return Ok(());
            }
            next_stats = now + STATS_INTERVAL;
        }
        let timeout = next_stats.saturating_duration_since(now);
        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(event_loop("polling")(source)),
        }
        for event in &events {
            let index = event.token().0;
            let side = if index % 2 == 0 {
                Side::Caller
            } else {
                Side::Callee
            };
            if let (Some(inbound), Some(outbound)) = (sockets.get(index), sockets.get(index ^ 1)) {
                drain_mio(relay, index / 2, side, inbound, outbound, &mut buffer);
            }
        }
    }
}

/// Forwards everything waiting on `inbound`: mio is edge-triggered, so a
/// socket left with data would not be reported again until more arrives.
fn drain_mio(
    relay: &Relay,
    pair: usize,
    side: Side,
    inbound: &mio::net::UdpSocket,
    outbound: &mio::net::UdpSocket,
    buffer: &mut [u8],
) {
    // Errors are consumed by the receive that reports them; the bound only
    // keeps a socket that keeps failing from holding the loop.
    let mut errors_left = 64;
    loop {
        match inbound.recv_from(buffer) {
            Ok((len, source)) => {
                let (Some(packet), Some(target)) =
                    (buffer.get(..len), relay.route(pair, side, source))
                else {
                    continue;
                };
                relay.sent(side, outbound.send_to(packet, target));
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                relay.receive_failed();
                errors_left -= 1;
                if errors_left == 0 {
                    return;
                }
            }
        }
    }
}

/// Relays on a current-thread tokio runtime, one task per socket, until the
/// relay should stop.
pub fn run_tokio(pairs: Vec<SocketPair>, relay: Arc<Relay>) -> Result<(), RelayError> {
    use tokio::net::UdpSocket as TokioSocket;
    let event_loop = |operation| move |source| RelayError::EventLoop { operation, source };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(event_loop("starting the runtime"))?;
    runtime.block_on(async move {
        for (index, pair) in pairs.into_iter().enumerate() {
            let register = |socket| TokioSocket::from_std(socket).map(Arc::new);
            let caller_facing =
                register(pair.caller_facing).map_err(event_loop("registering a socket"))?;
            let callee_facing =
                register(pair.callee_facing).map_err(event_loop("registering a socket"))?;
            tokio::spawn(forward_tokio(
                Arc::clone(&relay),
                index,
                Side::Caller,
                Arc::clone(&caller_facing),
                Arc::clone(&callee_facing),
            ));
            tokio::spawn(forward_tokio(
                Arc::clone(&relay),
                index,
                Side::Callee,
                callee_facing,
                caller_facing,
            ));
        }
        let mut ticker = tokio::time::interval(STATS_INTERVAL);
        loop {
            let now = ticker.tick().await.into_std();
            if !relay.write_stats(now)? || relay.should_stop(now) {
                // Leaving block_on drops the runtime and with it the tasks.
                return Ok(());
            }
        }
    })
}

/// One socket's task: receive, then forward from its partner socket.
async fn forward_tokio(
    relay: Arc<Relay>,
    pair: usize,
    side: Side,
    inbound: Arc<tokio::net::UdpSocket>,
    outbound: Arc<tokio::net::UdpSocket>,
) {
    // try_send_to answers "would block" until the reactor has once seen the
    // socket writable; waiting for that here keeps the first packets.
    if outbound.writable().await.is_err() {
        return;
    }
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, source) = match inbound.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(_) => {
                relay.receive_failed();
                // A socket that keeps failing must not starve the others.
                tokio::task::yield_now().await;
                continue;
            }
        };
        if let (Some(packet), Some(target)) = (buffer.get(..len), relay.route(pair, side, source)) {
            relay.sent(side, outbound.try_send_to(packet, target));
        }
    }
}
