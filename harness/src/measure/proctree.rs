//! What `/proc` says about a process *tree*: the command `harness exec` runs and every process
//! it spawned, sampled from outside without touching their code.
//!
//! Per sample: the processes in the tree, their summed resident memory (RSS from `statm`, and
//! PSS from `smaps_rollup` where the kernel gives it: shared pages split among sharers, so a
//! tree of forked children is not counted twice), open descriptors, CPU time and the TCP
//! connections they hold to one port (each new socket of `/proc/PID/fd` asked for its peer
//! through a borrowed copy, `pidfd_getfd`; `/proc/net/tcp` and `tcp6` where that is refused). A process that exits between listing and reading is skipped;
//! a figure that cannot be read for any process is `None`, never 0.

use std::collections::{BTreeSet, HashMap};
use std::fs;

use crate::contract::exec::TreeSample;

/// The root and every live descendant, root first: from the kernel's per-thread `children`
/// lists (a few small reads), or by scanning every `/proc/PID/stat` where those are missing.
pub fn tree(root: i32) -> Vec<i32> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let Some(kids) = children_of(out[i]) else {
            return tree_by_scan(root);
        };
        out.extend(kids);
        i += 1;
    }
    out
}

/// `/proc/PID/task/*/children` (Linux ≥ 3.5 with CONFIG_PROC_CHILDREN); `None` if the
/// process has tasks but no such file, `Some(empty)` if it is gone.
fn children_of(pid: i32) -> Option<Vec<i32>> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Some(Vec::new());
    };
    let mut kids = Vec::new();
    for t in tasks.flatten() {
        match fs::read_to_string(t.path().join("children")) {
            Ok(text) => kids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && t.path().exists() => return None,
            Err(_) => {}
        }
    }
    Some(kids)
}

fn tree_by_scan(root: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Some(st) = Stat::read(pid) {
                children.entry(st.ppid).or_default().push(pid);
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(kids) = children.get(&out[i]) {
            out.extend(kids.iter().copied());
        }
        i += 1;
    }
    out
}

/// The fields of `/proc/PID/stat` the sampler reads.
struct Stat {
    ppid: i32,
    /// utime + stime + cutime + cstime, clock ticks.
    cpu_ticks: u64,
    zombie: bool,
}

impl Stat {
    fn read(pid: i32) -> Option<Stat> {
        let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Stat::parse(&text)
    }

    /// `pid (comm) state ppid …`: comm may hold spaces and parentheses, so fields are counted
    /// after the last `)`.
    fn parse(text: &str) -> Option<Stat> {
        let rest = &text[text.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // f[0] = state (field 3), f[1] = ppid (4), f[11..15] = utime, stime, cutime, cstime
        // (fields 14-17).
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
        Some(Stat {
            ppid: f.get(1)?.parse().ok()?,
            cpu_ticks: num(11)? + num(12)? + num(13)? + num(14)?,
            zombie: f.first() == Some(&"Z"),
        })
    }
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Samples a process tree over time. It remembers which of the tree's sockets are TCP
/// connections to the server's port, so only a socket it has not seen before is asked about.
/// It asks the socket itself (`pidfd_getfd`, then `getpeername`), not `/proc/net/tcp`: the
/// kernel prints every TCP socket of the machine into that table (TIME_WAIT ones included),
/// which cost ~8 ms of system CPU per read here and made the sampler a quarter of a core.
pub struct Sampler {
    root: i32,
    port: u16,
    /// Socket inode → connected to the server's port (false: another socket, or not TCP).
    known: HashMap<u64, bool>,
}

impl Sampler {
    pub fn new(root: i32, port: u16) -> Sampler {
        Sampler {
            root,
            port,
            known: HashMap::new(),
        }
    }

    /// Samples the tree now.
    pub fn sample(&mut self) -> TreeSample {
        let pids = tree(self.root);
        let page = crate::measure::procstat::page_size();
        let mut s = TreeSample::default();
        // Socket inode → one (process, descriptor) that holds it.
        let mut inodes: HashMap<u64, (i32, i32)> = HashMap::new();
        let (mut rss, mut pss, mut fds, mut cpu) = (
            Sum::default(),
            Sum::default(),
            Sum::default(),
            Sum::default(),
        );
        for &pid in &pids {
            let Some(st) = Stat::read(pid) else { continue };
            if st.zombie {
                continue;
            }
            s.processes += 1;
            cpu.add(Some(st.cpu_ticks));
            rss.add(
                fs::read_to_string(format!("/proc/{pid}/statm"))
                    .ok()
                    .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .map(|pages| pages * page),
            );
            pss.add(
                fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
                    .ok()
                    .and_then(|t| kib_field(&t, "Pss:")),
            );
            match fs::read_dir(format!("/proc/{pid}/fd")) {
                Ok(dir) => {
                    let mut n = 0;
                    for e in dir.flatten() {
                        n += 1;
                        let fd = e.file_name().to_str().and_then(|f| f.parse::<i32>().ok());
                        if let (Some(inode), Some(fd)) = (
                            fs::read_link(e.path())
                                .ok()
                                .and_then(|l| socket_inode(&l.to_string_lossy())),
                            fd,
                        ) {
                            inodes.entry(inode).or_insert((pid, fd));
                        }
                    }
                    fds.add(Some(n));
                }
                Err(_) => fds.add(None),
            }
        }
        s.rss_bytes = rss.get();
        s.pss_bytes = pss.get();
        s.open_fds = fds.get();
        s.cpu_s = cpu.get().map(|t| t as f64 / ticks_per_second());
        if s.processes > 0 && s.open_fds.is_some() {
            // Forget sockets the tree closed; learn the new ones.
            self.known.retain(|i, _| inodes.contains_key(i));
            let mut unknown = BTreeSet::new();
            for (&inode, &(pid, fd)) in &inodes {
                if self.known.contains_key(&inode) {
                    continue;
                }
                match tcp_peer_port(pid, fd) {
                    Peer::Port(p) => {
                        self.known.insert(inode, p == self.port);
                    }
                    Peer::NotTcp => {
                        self.known.insert(inode, false);
                    }
                    Peer::Unknown => {
                        unknown.insert(inode);
                    }
                }
            }
            if !unknown.is_empty() {
                // The kernel would not lend us the descriptor: look the sockets up in the
                // machine's TCP tables instead (costly: it prints every TCP socket).
                let to_port: BTreeSet<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
                    .iter()
                    .filter_map(|p| fs::read_to_string(p).ok())
                    .flat_map(|t| tcp_to_port(&t, self.port, &unknown))
                    .collect();
                for i in unknown {
                    self.known.insert(i, to_port.contains(&i));
                }
            }
            s.tcp_to_server = Some(self.known.values().filter(|&&to| to).count() as u64);
        }
        s
    }
}

/// What a descriptor of another process is connected to.
enum Peer {
    /// A TCP socket connected to this remote port.
    Port(u16),
    /// Not a connected TCP socket.
    NotTcp,
    /// Could not be asked (no `pidfd_getfd`, no permission, or the descriptor is gone).
    Unknown,
}

/// The remote port of descriptor `fd` of process `pid`: a copy of the descriptor is borrowed
/// with `pidfd_getfd` (Linux ≥ 5.6; the command is our child, so ptrace permission holds),
/// asked with `getsockopt`/`getpeername` and closed at once. The socket itself is untouched.
fn tcp_peer_port(pid: i32, fd: i32) -> Peer {
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
        let mut kind: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let stream = libc::getsockopt(
            dup,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut kind as *mut libc::c_int).cast(),
            &mut len,
        ) == 0
            && kind == libc::SOCK_STREAM;
        let mut addr: libc::sockaddr_storage = std::mem::zeroed();
        let mut alen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let peer = libc::getpeername(
            dup,
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut alen,
        ) == 0;
        libc::close(dup);
        if !stream || !peer {
            return Peer::NotTcp;
        }
        match i32::from(addr.ss_family) {
            libc::AF_INET => {
                let a = &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>();
                Peer::Port(u16::from_be(a.sin_port))
            }
            libc::AF_INET6 => {
                let a = &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>();
                Peer::Port(u16::from_be(a.sin6_port))
            }
            _ => Peer::NotTcp,
        }
    }
}

/// A sum over processes that is `None` only when no process gave a value.
#[derive(Default)]
struct Sum(Option<u64>);

impl Sum {
    fn add(&mut self, v: Option<u64>) {
        if let Some(v) = v {
            self.0 = Some(self.0.unwrap_or(0) + v);
        }
    }
    fn get(&self) -> Option<u64> {
        self.0
    }
}

/// `Pss:  1234 kB` → bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// `socket:[12345]` → 12345.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The sockets of a `/proc/net/tcp` table whose remote port is `port` and which are among
/// `inodes`, in any state but LISTEN (0A) and CLOSE (07).
fn tcp_to_port(table: &str, port: u16, inodes: &BTreeSet<u64>) -> Vec<u64> {
    let mut out = Vec::new();
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(rem), Some(st), Some(inode)) = (f.get(2), f.get(3), f.get(9)) else {
            continue;
        };
        let rem_port = rem
            .rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok());
        let Ok(inode) = inode.parse::<u64>() else {
            continue;
        };
        if rem_port == Some(port) && *st != "0A" && *st != "07" && inodes.contains(&inode) {
            out.push(inode);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_tricky_comm() {
        let st = Stat::parse("42 (a) b (c)) S 7 42 42 0 -1 4194560 100 0 0 0 11 22 33 44 20 0 1 0")
            .expect("parses");
        assert_eq!(st.ppid, 7);
        assert_eq!(st.cpu_ticks, 11 + 22 + 33 + 44);
        assert!(!st.zombie);
    }

    #[test]
    fn tcp_table_counts_only_our_sockets_to_the_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C40 0100007F:20FB 01 00000000:00000000 00:00000000 00000000     0        0 111 1 0 20 4 30 10 -1
   1: 0100007F:9C41 0100007F:20FB 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1
   2: 0100007F:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0 20 4 30 10 -1
   3: 0100007F:9C42 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 444 1 0 20 4 30 10 -1
";
        let ours: BTreeSet<u64> = [111, 333, 444].into_iter().collect();
        // 0x20FB = 8443: socket 111 is ours and to the port; 222 is not ours; 333 listens;
        // 444 goes elsewhere.
        assert_eq!(tcp_to_port(table, 8443, &ours), vec![111]);
    }

    #[test]
    fn samples_a_real_tree() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep runs");
        let me = std::process::id() as i32;
        let s = Sampler::new(me, 1).sample();
        assert!(tree(me).contains(&(child.id() as i32)));
        assert_eq!(
            tree(me).into_iter().collect::<BTreeSet<_>>(),
            tree_by_scan(me).into_iter().collect::<BTreeSet<_>>()
        );
        assert!(s.processes >= 2, "{s:?}");
        assert!(
            s.rss_bytes.unwrap_or(0) > 0 && s.open_fds.unwrap_or(0) > 0,
            "{s:?}"
        );
        assert_eq!(s.tcp_to_server, Some(0));
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn finds_our_own_connection_by_its_peer_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = listener.local_addr().expect("addr").port();
        let conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let me = std::process::id() as i32;
        let mut sampler = Sampler::new(me, port);
        let s = sampler.sample();
        // The accepted side is not accepted yet; our connecting socket is the one.
        assert_eq!(s.tcp_to_server, Some(1), "{s:?}");
        drop(conn);
        assert_eq!(sampler.sample().tcp_to_server, Some(0));
    }
}
