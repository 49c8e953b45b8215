//! A foreign process's sockets, asked from outside: what a descriptor of another process is
//! connected to (a borrowed copy through `pidfd_getfd`), and the machine's TCP tables
//! (`/proc/net/tcp`, `tcp6`) where the kernel will not lend the descriptor. Used by the
//! process-tree sampler ([`crate::measure::proctree`]) to count a checked command's
//! connections to the server and match them with the server's record by local port.

use std::collections::{BTreeSet, HashMap};

/// What a descriptor of another process is connected to.
pub(crate) enum Peer {
    /// A connected TCP socket: its remote and local ports.
    Tcp { remote: u16, local: u16 },
    /// Not a TCP socket (Unix, UDP, …).
    NotTcp,
    /// A TCP stream socket with no peer yet (its `connect` under way, or listening).
    NotConnected,
    /// Could not be asked (no `pidfd_getfd`, no permission, or the descriptor is gone).
    Unknown,
}

/// The ports of descriptor `fd` of process `pid`: a copy of the descriptor is borrowed with
/// `pidfd_getfd` (Linux ≥ 5.6; the command is our child, so ptrace permission holds), asked
/// with `getsockopt`/`getsockname`/`getpeername` and closed at once. The socket itself is
/// untouched.
pub(crate) fn tcp_peer(pid: i32, fd: i32) -> Peer {
    // SAFETY: raw syscalls on integers; every descriptor opened here is closed here.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
        if pidfd < 0 {
            return Peer::Unknown;
        }
        let dup = libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) as i32;
        libc::close(pidfd);
        if dup < 0 {
            return Peer::Unknown;
        }
        let peer = ask_socket(dup);
        libc::close(dup);
        peer
    }
}

/// [`Peer`] of a socket descriptor of ours.
///
/// # Safety
/// `fd` is an open descriptor.
unsafe fn ask_socket(fd: i32) -> Peer {
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    let stream = libc::getsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_TYPE,
        (&mut kind as *mut libc::c_int).cast(),
        &mut len,
    ) == 0
        && kind == libc::SOCK_STREAM;
    if !stream {
        return Peer::NotTcp;
    }
    let mut local: libc::sockaddr_storage = std::mem::zeroed();
    let mut llen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    if libc::getsockname(
        fd,
        (&mut local as *mut libc::sockaddr_storage).cast(),
        &mut llen,
    ) != 0
    {
        return Peer::Unknown;
    }
    let Some(local_port) = inet_port(&local) else {
        return Peer::NotTcp;
    };
    let mut remote: libc::sockaddr_storage = std::mem::zeroed();
    let mut rlen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    if libc::getpeername(
        fd,
        (&mut remote as *mut libc::sockaddr_storage).cast(),
        &mut rlen,
    ) != 0
    {
        return match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::ENOTCONN) => Peer::NotConnected,
            _ => Peer::Unknown,
        };
    }
    match inet_port(&remote) {
        Some(remote) => Peer::Tcp {
            remote,
            local: local_port,
        },
        None => Peer::NotTcp,
    }
}

/// The port of an IPv4 or IPv6 address (`None`: another family).
fn inet_port(addr: &libc::sockaddr_storage) -> Option<u16> {
    // SAFETY: the family says which of the layouts sockaddr_storage holds.
    unsafe {
        match i32::from(addr.ss_family) {
            libc::AF_INET => {
                let a = &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>();
                Some(u16::from_be(a.sin_port))
            }
            libc::AF_INET6 => {
                let a = &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>();
                Some(u16::from_be(a.sin6_port))
            }
            _ => None,
        }
    }
}

/// `socket:[12345]` → 12345.
pub(crate) fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// TCP states of `/proc/net/tcp` (include/net/tcp_states.h) the fallback tells apart.
pub(crate) const TCP_SYN_SENT: u8 = 0x02;
pub(crate) const TCP_CLOSE: u8 = 0x07;
pub(crate) const TCP_LISTEN: u8 = 0x0A;

/// The sockets of a `/proc/net/tcp` table that are among `inodes`: inode → (state, local
/// port, remote port).
pub(crate) fn tcp_sockets(table: &str, inodes: &BTreeSet<u64>) -> HashMap<u64, (u8, u16, u16)> {
    let port = |a: &str| {
        a.rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    let mut out = HashMap::new();
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(loc), Some(rem), Some(st), Some(inode)) =
            (f.get(1), f.get(2), f.get(3), f.get(9))
        else {
            continue;
        };
        let (Some(local), Some(remote), Ok(state), Ok(inode)) = (
            port(loc),
            port(rem),
            u8::from_str_radix(st, 16),
            inode.parse::<u64>(),
        ) else {
            continue;
        };
        if inodes.contains(&inode) {
            out.insert(inode, (state, local, remote));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_table_gives_state_and_ports_of_our_sockets() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C40 0100007F:20FB 01 00000000:00000000 00:00000000 00000000     0        0 111 1 0 20 4 30 10 -1
   1: 0100007F:9C41 0100007F:20FB 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1
   2: 0100007F:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0 20 4 30 10 -1
   3: 0100007F:9C42 0100007F:1F90 02 00000000:00000000 00:00000000 00000000     0        0 444 1 0 20 4 30 10 -1
";
        let ours: BTreeSet<u64> = [111, 333, 444].into_iter().collect();
        // 0x20FB = 8443, 0x9C40 = 40000: socket 111 is ours and to the port; 222 is not
        // ours; 333 listens; 444 is still connecting elsewhere.
        let found = tcp_sockets(table, &ours);
        assert_eq!(found.len(), 3);
        assert_eq!(found[&111], (0x01, 40000, 8443));
        assert_eq!(found[&333].0, TCP_LISTEN);
        assert_eq!(found[&444].0, TCP_SYN_SENT);
    }
}
