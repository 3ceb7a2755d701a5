use super::*;
use bytes::Bytes;

/// Waits (bounded) for the sockets to be ready and reads one batch.
async fn next_batch(sockets: &mut RtpSockets) -> Vec<(u16, SocketAddr, Vec<u8>)> {
    tokio::time::timeout(Duration::from_secs(5), sockets.ready())
        .await
        .expect("no RTP became ready");
    sockets.read_batch();
    sockets
        .batch()
        .map(|(port, source, bytes)| (port, source, bytes.to_vec()))
        .collect()
}

fn free_even_port() -> u16 {
    // Ask the OS for a free pair by binding port 0 until an even port whose
    // successor is free turns up.
    loop {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        if port.is_multiple_of(2)
            && port < u16::MAX
            && std::net::UdpSocket::bind(("127.0.0.1", port + 1)).is_ok()
        {
            return port;
        }
    }
}

fn sockets(max_pairs: usize) -> RtpSockets {
    RtpSockets::new("127.0.0.1".parse().unwrap(), max_pairs).unwrap()
}

#[tokio::test]
async fn packets_flow_both_ways_and_stop_after_close() {
    let mut sockets = sockets(4);
    let port = free_even_port();
    sockets.open(port).unwrap();
    sockets.open(port).unwrap();
    assert_eq!(sockets.open_sockets(), 2);

    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer_addr = peer.local_addr().unwrap();
    peer.send_to(b"rtp", ("127.0.0.1", port)).unwrap();
    assert_eq!(
        next_batch(&mut sockets).await,
        vec![(port, peer_addr, b"rtp".to_vec())]
    );
    peer.send_to(b"rtcp", ("127.0.0.1", port + 1)).unwrap();
    assert_eq!(next_batch(&mut sockets).await[0].0, port + 1);

    // Oversized datagrams are dropped, the next one still arrives.
    peer.send_to(&[0u8; MAX_RTP_DATAGRAM + 1], ("127.0.0.1", port))
        .unwrap();
    peer.send_to(&[1u8; MAX_RTP_DATAGRAM], ("127.0.0.1", port))
        .unwrap();
    let mut lengths = Vec::new();
    while lengths.is_empty() {
        lengths = next_batch(&mut sockets)
            .await
            .iter()
            .map(|(_, _, bytes)| bytes.len())
            .collect();
    }
    assert_eq!(lengths, vec![MAX_RTP_DATAGRAM]);

    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for local_port in [port, port + 1] {
        sockets.send(&RtpTransmit {
            local_port,
            destination: peer_addr,
            payload: Bytes::from_static(b"out"),
        });
        let mut buffer = [0u8; 16];
        let (len, from) = peer.recv_from(&mut buffer).unwrap();
        assert_eq!((&buffer[..len], from.port()), (&b"out"[..], local_port));
    }

    sockets.close(port);
    assert_eq!(sockets.open_sockets(), 0);
    // Closing closes: the ports are free again at once.
    std::net::UdpSocket::bind(("127.0.0.1", port)).unwrap();
}

#[tokio::test]
async fn a_flood_on_one_port_does_not_hold_up_another() {
    let mut sockets = sockets(4);
    let (flooded, quiet) = (free_even_port(), free_even_port());
    sockets.open(flooded).unwrap();
    sockets.open(quiet).unwrap();
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let flood = 3 * PER_BATCH;
    for n in 0..flood {
        peer.send_to(&n.to_be_bytes(), ("127.0.0.1", flooded))
            .unwrap();
    }
    peer.send_to(b"quiet", ("127.0.0.1", quiet)).unwrap();

    let mut batches = Vec::new();
    let mut total = 0;
    while total < flood + 1 {
        let batch = next_batch(&mut sockets).await;
        assert!(batch.len() <= PER_BATCH, "{} in one batch", batch.len());
        total += batch.len();
        batches.push(batch);
    }
    assert_eq!(total, flood + 1, "every datagram read once");
    let quiet_at = batches
        .iter()
        .position(|batch| batch.iter().any(|(port, ..)| *port == quiet))
        .unwrap();
    assert_eq!(quiet_at, 0, "the quiet port waited behind the flood");
}

#[tokio::test]
async fn refuses_beyond_the_limit_and_odd_ports() {
    let mut sockets = sockets(1);
    let port = free_even_port();
    assert!(matches!(
        sockets.open(port + 1),
        Err(OpenError::BadPort { .. })
    ));
    sockets.open(port).unwrap();
    let other = free_even_port();
    assert!(matches!(
        sockets.open(other),
        Err(OpenError::TableFull { open: 1 })
    ));
    sockets.close(port);
    sockets.open(other).unwrap();
}

#[tokio::test]
async fn a_port_in_use_fails_to_open() {
    let mut sockets = sockets(4);
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    // Odd ports are refused before binding; use the pair below an odd one.
    let port = if port.is_multiple_of(2) {
        port
    } else {
        port - 1
    };
    let _also = std::net::UdpSocket::bind(("127.0.0.1", port));
    assert!(matches!(sockets.open(port), Err(OpenError::Bind { .. })));
    assert_eq!(sockets.open_sockets(), 0);
}

#[tokio::test]
async fn an_icmp_error_on_a_socket_loses_nothing_after_it() {
    let mut sockets = sockets(4);
    let port = free_even_port();
    sockets.open(port).unwrap();
    // Nobody listens there: the kernel answers with ICMP port unreachable,
    // which the socket reports on its next read.
    let gone = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let gone_addr = gone.local_addr().unwrap();
    drop(gone);
    sockets.send(&RtpTransmit {
        local_port: port,
        destination: gone_addr,
        payload: Bytes::from_static(b"lost"),
    });
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.send_to(b"after", ("127.0.0.1", port)).unwrap();
    let mut got = Vec::new();
    while got.is_empty() {
        got = next_batch(&mut sockets).await;
    }
    assert_eq!(
        got,
        vec![(port, peer.local_addr().unwrap(), b"after".to_vec())]
    );
}
