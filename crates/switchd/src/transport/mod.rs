//! SIP over UDP and TCP: binding the listen addresses, the receive and
//! accept loops, and delivering what the switch sends.

mod tcp;
mod udp;

pub(crate) use tcp::{TcpConnections, TcpContext, TcpSettings, accept_loop};
pub(crate) use udp::{UdpSockets, receive_loop};

use crate::Error;
use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;

/// Connections waiting in the kernel for `accept`.
const LISTEN_BACKLOG: i32 = 1024;

fn bind_error(what: &'static str, addr: SocketAddr) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Bind {
        what,
        address: addr.to_string(),
        source,
    }
}

/// Binds a UDP socket, returning it for receiving and a non-blocking std
/// handle to it for sending. IPv6 sockets are IPv6-only so that `0.0.0.0`
/// and `[::]` on the same port can both be configured.
pub(crate) fn bind_udp(
    addr: SocketAddr,
) -> Result<(tokio::net::UdpSocket, std::net::UdpSocket), Error> {
    let make = || -> std::io::Result<(tokio::net::UdpSocket, std::net::UdpSocket)> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        let sender: std::net::UdpSocket = socket.try_clone()?.into();
        Ok((tokio::net::UdpSocket::from_std(socket.into())?, sender))
    };
    make().map_err(bind_error("sip udp", addr))
}

/// Binds a TCP listener (address reuse for quick restarts; IPv6-only as for UDP).
pub(crate) fn bind_tcp(
    addr: SocketAddr,
    what: &'static str,
) -> Result<tokio::net::TcpListener, Error> {
    let make = || -> std::io::Result<tokio::net::TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(LISTEN_BACKLOG)?;
        tokio::net::TcpListener::from_std(socket.into())
    };
    make().map_err(bind_error(what, addr))
}
