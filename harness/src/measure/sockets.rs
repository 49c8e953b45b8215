//! A foreign process's sockets, asked from outside: a borrowed copy of a descriptor
//! (`pidfd_getfd`), or the machine's TCP tables where the kernel will not lend it.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};

use procfs::net::{TcpNetEntry, TcpState};
use rustix::io::Errno;
use rustix::net::{sockopt, SocketAddrAny, SocketType};
use rustix::process::{pidfd_getfd, pidfd_open, Pid, PidfdFlags, PidfdGetfdFlags};

/// What a descriptor of another process is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    /// A connected TCP socket: its remote and local ports.
    Tcp { remote: u16, local: u16 },
    /// Never a connection: not a TCP socket (Unix, UDP, …), or a listening one.
    Other,
    /// A TCP socket with no peer yet (its `connect` under way, or closed before it connected;
    /// a listening socket asked itself reads so too).
    NotConnected,
    /// Could not be asked (no `pidfd_getfd`, no permission, or the descriptor is gone).
    Unknown,
}

/// The ports of descriptor `fd` of process `pid`: a copy of the descriptor is borrowed with
/// `pidfd_getfd` (Linux ≥ 5.6; the command is our child, so ptrace permission holds), asked
/// with `getsockopt`/`getsockname`/`getpeername` and closed at once. The socket itself is
/// untouched.
pub(crate) fn tcp_peer(pid: i32, fd: i32) -> Peer {
    let Some(pid) = Pid::from_raw(pid) else {
        return Peer::Unknown;
    };
    let borrowed = pidfd_open(pid, PidfdFlags::empty())
        .and_then(|pidfd| pidfd_getfd(&pidfd, fd, PidfdGetfdFlags::empty()));
    match borrowed {
        Ok(copy) => ask_socket(copy.as_fd()),
        Err(_) => Peer::Unknown,
    }
}

/// [`Peer`] of a socket descriptor of ours.
fn ask_socket(fd: BorrowedFd) -> Peer {
    if sockopt::socket_type(fd) != Ok(SocketType::STREAM) {
        return Peer::Other;
    }
    let Ok(local) = rustix::net::getsockname(fd) else {
        return Peer::Unknown;
    };
    let Some(local) = inet_port(local) else {
        return Peer::Other;
    };
    match rustix::net::getpeername(fd) {
        Ok(remote) => match remote.and_then(inet_port) {
            Some(remote) => Peer::Tcp { remote, local },
            None => Peer::Other,
        },
        Err(Errno::NOTCONN) => Peer::NotConnected,
        Err(_) => Peer::Unknown,
    }
}

/// The port of an IPv4 or IPv6 address (`None`: another family).
fn inet_port(addr: SocketAddrAny) -> Option<u16> {
    SocketAddr::try_from(addr).ok().map(|a| a.port())
}

/// The sockets of a TCP table (`/proc/net/tcp` or `tcp6`) that are among `inodes`, each as
/// the [`Peer`] its state and ports make it.
pub(crate) fn tcp_sockets(table: &[TcpNetEntry], inodes: &BTreeSet<u64>) -> HashMap<u64, Peer> {
    let peer = |e: &TcpNetEntry| match e.state {
        TcpState::Listen => Peer::Other,
        TcpState::SynSent | TcpState::Close => Peer::NotConnected,
        _ => Peer::Tcp {
            remote: e.remote_address.port(),
            local: e.local_address.port(),
        },
    };
    table
        .iter()
        .filter(|e| inodes.contains(&e.inode))
        .map(|e| (e.inode, peer(e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use procfs::net::TcpNetEntries;
    use procfs::FromReadSI;

    #[test]
    fn tcp_table_gives_state_and_ports_of_our_sockets() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C40 0100007F:20FB 01 00000000:00000000 00:00000000 00000000     0        0 111 1 0 20 4 30 10 -1
   1: 0100007F:9C41 0100007F:20FB 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1
   2: 0100007F:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0 20 4 30 10 -1
   3: 0100007F:9C42 0100007F:1F90 02 00000000:00000000 00:00000000 00000000     0        0 444 1 0 20 4 30 10 -1
";
        let TcpNetEntries(entries) =
            TcpNetEntries::from_read(table.as_bytes(), procfs::current_system_info())
                .expect("parses");
        let ours: BTreeSet<u64> = [111, 333, 444].into_iter().collect();
        // 0x20FB = 8443, 0x9C40 = 40000: socket 111 is ours and to the port; 222 is not
        // ours; 333 listens; 444 is still connecting elsewhere.
        let found = tcp_sockets(&entries, &ours);
        assert_eq!(found.len(), 3);
        let to_server = Peer::Tcp {
            remote: 8443,
            local: 40000,
        };
        assert_eq!(found[&111], to_server);
        assert_eq!(found[&333], Peer::Other);
        assert_eq!(found[&444], Peer::NotConnected);
    }
}
