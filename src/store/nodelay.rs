//! TCP_NODELAY on PostgreSQL connections. sqlx 0.9.0 opens its TCP sockets
//! without it (sqlx issue #4335; fixed upstream after 0.9.0, not released),
//! so Nagle's algorithm holds back the tail of a message that goes out in
//! more than one write (over TLS, any message past one 16 KiB record: a
//! group's audit INSERT) until the server's delayed ACK, about 40 ms later.
//! On this machine that made PostgreSQL intake at 128 connections a third
//! of what it was at 32 (docs/operating.md, "Nagle on PostgreSQL").
//!
//! sqlx gives no access to its socket, so after a connection opens pingate
//! asks the server which client port it sees, finds the process's TCP
//! socket with that local port and the server's port as its peer, and sets
//! the option there. Behind a proxy or NAT the ports differ and nothing is
//! found: the connection works as before, only without the option. Drop
//! this module once a sqlx release sets the option itself.

use sqlx::AnyConnection;

/// Sets TCP_NODELAY on the socket under `conn`, a PostgreSQL connection
/// (a Unix socket has no client port: nothing to do). Never fails the
/// connection: at worst it stays as sqlx left it, which is logged.
pub(super) async fn set_on(conn: &mut AnyConnection) {
    let ports = sqlx::query_as::<_, (Option<i32>, Option<i32>)>(
        "SELECT inet_client_port(), inet_server_port()",
    )
    .fetch_one(conn)
    .await;
    let (local, peer) = match ports {
        Ok((Some(local), Some(peer))) => (local, peer),
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, "could not read this connection's ports; TCP_NODELAY not set");
            return;
        }
    };
    let (Ok(local), Ok(peer)) = (u16::try_from(local), u16::try_from(peer)) else {
        return;
    };
    match set_nodelay(local, peer) {
        Ok(true) => tracing::debug!(local, peer, "TCP_NODELAY set on a PostgreSQL connection"),
        Ok(false) => tracing::debug!(
            local,
            peer,
            "no socket of this process matches the ports PostgreSQL sees (a proxy or NAT between); TCP_NODELAY not set"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "could not set TCP_NODELAY on a PostgreSQL connection")
        }
    }
}

/// Whether TCP_NODELAY is set on this process's TCP socket from `local` to
/// a peer port `peer`, or None if there is no such socket.
pub fn nodelay_of(local: u16, peer: u16) -> std::io::Result<Option<bool>> {
    with_socket(local, peer, |fd| rustix::net::sockopt::tcp_nodelay(fd))
}

fn set_nodelay(local: u16, peer: u16) -> std::io::Result<bool> {
    Ok(with_socket(local, peer, |fd| {
        rustix::net::sockopt::set_tcp_nodelay(fd, true)
    })?
    .is_some())
}

/// Runs `f` on the socket from local port `local` to peer port `peer`:
/// on a duplicate of its descriptor (options set there are the socket's),
/// taken with pidfd_getfd, so no descriptor this code does not own is used.
#[cfg(target_os = "linux")]
fn with_socket<T>(
    local: u16,
    peer: u16,
    f: impl Fn(rustix::fd::BorrowedFd<'_>) -> rustix::io::Result<T>,
) -> std::io::Result<Option<T>> {
    use rustix::fd::AsFd;
    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};

    let port = |addr: rustix::net::SocketAddrAny| {
        std::net::SocketAddr::try_from(addr).ok().map(|a| a.port())
    };
    let me = pidfd_open(getpid(), PidfdFlags::empty())?;
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let entry = entry?;
        let Some(raw) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // Closed since the listing, or not a socket: not ours.
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        let Ok(fd) = pidfd_getfd(&me, raw, PidfdGetfdFlags::empty()) else {
            continue;
        };
        let ours = rustix::net::getsockname(&fd).ok().and_then(port) == Some(local)
            && rustix::net::getpeername(&fd).ok().flatten().and_then(port) == Some(peer);
        if ours {
            return Ok(Some(f(fd.as_fd())?));
        }
    }
    Ok(None)
}

#[cfg(not(target_os = "linux"))]
fn with_socket<T>(
    _local: u16,
    _peer: u16,
    _f: impl Fn(rustix::fd::BorrowedFd<'_>) -> rustix::io::Result<T>,
) -> std::io::Result<Option<T>> {
    Ok(None)
}
