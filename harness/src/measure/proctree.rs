//! What `/proc` says about the process tree `harness exec` runs, sampled from outside: processes,
//! memory, descriptors, CPU time and the sockets' TCP connections to one port (docs/exec.md).

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::net::SocketAddr;
use std::os::fd::AsFd;

use procfs::net::{TcpNetEntry, TcpState};
use procfs::process::{FDTarget, SmapsRollup, StatM};
use procfs::{FromRead, ProcResult};
use rustix::io::Errno;
use rustix::net::{sockopt, SocketAddrAny, SocketType};
use rustix::process::{pidfd_getfd, pidfd_open, Pid, PidfdFlags, PidfdGetfdFlags};

use crate::contract::exec::TreeSample;

/// The root and every live descendant, root first: from the kernel's `children` lists, or by
/// scanning every `/proc/PID/stat` where those are missing.
pub fn tree(root: i32) -> Vec<i32> {
    descendants(root, children_of).unwrap_or_else(|| tree_by_scan(root))
}

/// `/proc/PID/task/*/children` (CONFIG_PROC_CHILDREN); `None` if the process has tasks but no
/// such file, `Some(empty)` if it is gone. Read by path: procfs's `Task::children` opens two
/// more directories per thread, and its "not found" cannot tell a missing file from a gone thread.
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
    for p in procfs::process::all_processes()
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(st) = p.stat() {
            children.entry(st.ppid).or_default().push(p.pid);
        }
    }
    descendants(root, |pid| {
        Some(children.get(&pid).cloned().unwrap_or_default())
    })
    .unwrap_or_default()
}

/// `root` and every descendant, root first, by `children`; `None` as soon as it gives `None`.
fn descendants(root: i32, children: impl Fn(i32) -> Option<Vec<i32>>) -> Option<Vec<i32>> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        out.extend(children(out[i])?);
        i += 1;
    }
    Some(out)
}

/// The fields of `/proc/PID/stat` the sampler reads.
struct Stat {
    /// utime + stime + cutime + cstime, clock ticks.
    cpu_ticks: u64,
    /// A zombie, or `PF_EXITING` set: the kernel may already have closed its descriptors and
    /// freed its memory, so what it holds is the exit's, not the program's.
    gone: bool,
    /// Start time, clock ticks after boot: with the pid, who it is (pids are reused).
    start_ticks: u64,
}

/// `PF_EXITING` in the flags field of `/proc/PID/stat` (include/linux/sched.h).
const PF_EXITING: u32 = 0x4;

impl Stat {
    fn read(pid: i32) -> Option<Stat> {
        let st = procfs::process::Stat::from_file(format!("/proc/{pid}/stat")).ok()?;
        Stat::from_procfs(&st)
    }

    /// `None` where the children's CPU time is negative (the kernel never writes one).
    fn from_procfs(st: &procfs::process::Stat) -> Option<Stat> {
        let children = u64::try_from(st.cutime).ok()? + u64::try_from(st.cstime).ok()?;
        Some(Stat {
            cpu_ticks: st.utime + st.stime + children,
            gone: st.state == 'Z' || st.flags & PF_EXITING != 0,
            start_ticks: st.starttime,
        })
    }
}

/// Since when `pid` is running (not a zombie nor exiting); once `None` it stays so, so a time
/// taken before a `Some` is one at which it ran (`exec::closing`).
pub fn running_since(pid: i32) -> Option<u64> {
    Stat::read(pid)
        .filter(|st| !st.gone)
        .map(|st| st.start_ticks)
}

/// `Pss` of `/proc/PID/smaps_rollup`, bytes: shared pages split among their sharers.
fn pss_bytes(pid: i32) -> Option<u64> {
    let rollup = SmapsRollup::from_file(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let fields = &rollup.memory_map_rollup.0.first()?.extension.map;
    fields.get("Pss").copied()
}

/// Adds `v` to a sum over processes, which stays `None` only while no process gave a value.
fn add(sum: &mut Option<u64>, v: Option<u64>) {
    if let Some(v) = v {
        *sum = Some(sum.unwrap_or(0) + v);
    }
}

/// What a descriptor of another process is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    /// A connected TCP socket: its remote and local ports.
    Tcp { remote: u16, local: u16 },
    /// Never a connection: not a TCP socket (Unix, UDP, …), or a listening one.
    Other,
    /// A TCP socket with no peer yet (connecting, or closed before it connected).
    NotConnected,
    /// Could not be asked (no `pidfd_getfd`, no permission, or the descriptor is gone).
    Unknown,
}

/// The ports of descriptor `fd` of process `pid`, asked of a copy borrowed with `pidfd_getfd`
/// (Linux ≥ 5.6; ptrace permission holds for our child) and closed at once.
fn tcp_peer(pid: i32, fd: i32) -> Peer {
    let borrowed = Pid::from_raw(pid).map(|pid| {
        pidfd_open(pid, PidfdFlags::empty())
            .and_then(|pidfd| pidfd_getfd(&pidfd, fd, PidfdGetfdFlags::empty()))
    });
    let Some(Ok(copy)) = borrowed else {
        return Peer::Unknown;
    };
    let fd = copy.as_fd();
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

/// The [`Peer`] of each socket of a TCP table (`/proc/net/tcp` or `tcp6`) among `inodes`.
fn tcp_sockets(table: &[TcpNetEntry], inodes: &BTreeSet<u64>) -> HashMap<u64, Peer> {
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

/// Samples a process tree over time. Each socket is asked once what it connects to, through
/// a borrowed descriptor, not `/proc/net/tcp`, which prints every TCP socket of the machine
/// (the fallback); one not connected yet is asked again at the next sample.
#[derive(Default)]
pub struct Sampler {
    root: i32,
    port: u16,
    /// By socket inode: the local port of a connection to the server's port, or `None` for a
    /// socket that will stay something else (another peer, a listening or non-TCP socket).
    known: HashMap<u64, Option<u16>>,
    /// Every process of the tree seen alive (not a zombie) at some sample (`--heap valgrind`
    /// expects a profile from each).
    pub seen: BTreeSet<i32>,
    /// The local ports of the tree's connections to the server at the last sample (`None`:
    /// not every socket could be read or resolved then), to match against the server's record.
    pub held: Option<BTreeSet<u16>>,
}

/// Reads one of the machine's TCP tables; the fallback reads both.
type TcpTable = fn() -> ProcResult<Vec<TcpNetEntry>>;

const TCP_TABLES: [TcpTable; 2] = [procfs::net::tcp, procfs::net::tcp6];

impl Sampler {
    pub fn new(root: i32, port: u16) -> Sampler {
        Sampler {
            root,
            port,
            ..Default::default()
        }
    }

    /// Samples the tree now. A process that exits meanwhile is skipped; a figure no process gave
    /// is `None`, never 0, and the TCP count is `None` unless every socket was read and
    /// resolved: a partial count would pass for a measured one.
    pub fn sample(&mut self) -> TreeSample {
        self.sample_with(&TCP_TABLES, tcp_peer)
    }

    /// [`Sampler::sample`], with the way a socket is asked and the fallback's tables given (a
    /// test makes them fail).
    fn sample_with(&mut self, tables: &[TcpTable], ask: fn(i32, i32) -> Peer) -> TreeSample {
        let pids = tree(self.root);
        let page = rustix::param::page_size() as u64;
        let mut s = TreeSample::default();
        // Socket inode → one (process, descriptor) that holds it.
        let mut inodes: HashMap<u64, (i32, i32)> = HashMap::new();
        // Every live process's descriptors were listed, none while it was exiting.
        let mut sockets_read = true;
        let mut cpu_ticks = None;
        // Files are opened by path (`FromRead::from_file`), not through a procfs `Process`,
        // which holds `/proc/PID` open: one open fewer per process.
        for &pid in &pids {
            let Some(st) = Stat::read(pid).filter(|st| !st.gone) else {
                continue;
            };
            s.processes += 1;
            self.seen.insert(pid);
            add(&mut cpu_ticks, Some(st.cpu_ticks));
            let statm = StatM::from_file(format!("/proc/{pid}/statm")).ok();
            add(&mut s.rss_bytes, statm.map(|m| m.resident * page));
            add(&mut s.pss_bytes, pss_bytes(pid));
            // Listed here, not by procfs's `Process::fd`, which also opens and stats every
            // descriptor for its mode: three more system calls per descriptor per sample.
            match fs::read_dir(format!("/proc/{pid}/fd")) {
                Ok(dir) => {
                    let mut n = 0;
                    for e in dir.flatten() {
                        n += 1;
                        let fd = e.file_name().to_str().and_then(|f| f.parse::<i32>().ok());
                        let target = fs::read_link(e.path()).ok();
                        let target = target.and_then(|l| l.to_str()?.parse::<FDTarget>().ok());
                        if let (Some(FDTarget::Socket(inode)), Some(fd)) = (target, fd) {
                            inodes.entry(inode).or_insert((pid, fd));
                        }
                    }
                    add(&mut s.open_fds, Some(n));
                }
                Err(_) => sockets_read = false,
            }
            // Still not exiting after the listing: the list is the program's.
            if Stat::read(pid).is_none_or(|st| st.gone) {
                sockets_read = false;
            }
        }
        let ticks_per_second = rustix::param::clock_ticks_per_second() as f64;
        s.cpu_s = cpu_ticks.map(|t| t as f64 / ticks_per_second);
        self.held = None;
        if s.processes == 0 {
            return s;
        }
        self.known.retain(|i, _| inodes.contains_key(i));
        let mut peers: HashMap<u64, Peer> = inodes
            .iter()
            .filter(|(i, _)| !self.known.contains_key(i))
            .map(|(&i, &(pid, fd))| (i, ask(pid, fd)))
            .collect();
        let unknown: BTreeSet<u64> = peers
            .iter()
            .filter_map(|(&i, &p)| (p == Peer::Unknown).then_some(i))
            .collect();
        if !unknown.is_empty() {
            // The kernel would not lend the descriptor: the machine's TCP tables instead. A
            // table that cannot be read leaves the count unmeasured; a socket in neither table
            // is not connected now, and is asked again next time.
            for read in tables {
                match read() {
                    Ok(t) => peers.extend(tcp_sockets(&t, &unknown)),
                    Err(_) => sockets_read = false,
                }
            }
        }
        for (inode, peer) in peers {
            let known = match peer {
                Peer::Tcp { remote, local } if remote == self.port => Some(local),
                Peer::Tcp { .. } | Peer::Other => None,
                Peer::NotConnected | Peer::Unknown => continue,
            };
            self.known.insert(inode, known);
        }
        if sockets_read {
            let held: BTreeSet<u16> = inodes
                .keys()
                .filter_map(|i| self.known.get(i).copied().flatten())
                .collect();
            s.tcp_to_server = Some(held.len() as u64);
            self.held = Some(held);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::{AddressFamily, SocketFlags, SocketType};

    /// Held by the tests that sample this test process's tree or change it (sockets, children):
    /// a socket closed or a child gone mid-sample leaves the count unmeasured.
    static TREE: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn stat_fields_after_a_tricky_comm() {
        // A comm may hold spaces and parentheses; fields 25-37 are zeros here.
        let line = "42 (a) b (c)) S 7 42 42 0 -1 4194564 100 0 0 0 11 22 33 44 20 0 1 0 555 1 2 \
                    0 0 0 0 0 0 0 0 0 0 0 0 0";
        let st = procfs::process::Stat::from_read(line.as_bytes()).expect("parses");
        let st = Stat::from_procfs(&st).expect("converts");
        assert_eq!(st.cpu_ticks, 11 + 22 + 33 + 44);
        assert_eq!(st.start_ticks, 555);
        assert!(st.gone, "flags 0x400104 has PF_EXITING");
        let running =
            procfs::process::Stat::from_read(line.replace("4194564", "4194560").as_bytes());
        assert!(
            !Stat::from_procfs(&running.expect("parses"))
                .expect("converts")
                .gone
        );
    }

    /// A socket the sampler sees before its `connect` (no peer yet) is counted once it is
    /// connected: it is not remembered as "not to the server".
    #[test]
    fn a_socket_seen_before_connect_is_counted_once_connected() {
        let _tree = TREE.lock().unwrap_or_else(|e| e.into_inner());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = listener.local_addr().expect("addr").port();
        // Close-on-exec, as std's sockets are: a child another test spawns must not hold it.
        let (inet, stream) = (AddressFamily::INET, SocketType::STREAM);
        let sock =
            rustix::net::socket_with(inet, stream, SocketFlags::CLOEXEC, None).expect("socket");
        let me = std::process::id() as i32;
        let mut sampler = Sampler::new(me, port);
        assert_eq!(sampler.sample().tcp_to_server, Some(0), "not connected yet");
        rustix::net::connect(&sock, &std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .expect("connect");
        let s = sampler.sample();
        drop(sock);
        assert_eq!(s.tcp_to_server, Some(1), "{s:?}");
        assert_eq!(sampler.held.as_ref().map(|p| p.len()), Some(1));
    }

    /// Where the fallback is needed and its table cannot be read, the count is unmeasured,
    /// not 0.
    #[test]
    fn an_unreadable_tcp_table_leaves_the_count_unmeasured() {
        let _tree = TREE.lock().unwrap_or_else(|e| e.into_inner());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = listener.local_addr().expect("addr").port();
        let conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        // A child holds the one connection as its stdin: this test process's own descriptors
        // change under it while other tests open and close sockets in parallel, and one
        // closed between the listing and the asking would need the (failing) fallback.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .stdin(std::process::Stdio::from(std::os::fd::OwnedFd::from(conn)))
            .spawn()
            .expect("sleep runs");
        // The fallback runs where the kernel refuses pidfd_getfd; here it is forced.
        let mut sampler = Sampler::new(child.id() as i32, port);
        let failing: [TcpTable; 2] = [|| Err(procfs::ProcError::Other("injected".into())); 2];
        assert_eq!(
            sampler.sample_with(&failing, tcp_peer).tcp_to_server,
            Some(1)
        );
        sampler.known.clear();
        let s = sampler.sample_with(&failing, |_, _| Peer::Unknown);
        assert_eq!(s.tcp_to_server, None, "{s:?}");
        assert!(sampler.held.is_none());
        // The same with a readable table finds the connection.
        sampler.known.clear();
        let s = sampler.sample_with(&TCP_TABLES, |_, _| Peer::Unknown);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(s.tcp_to_server, Some(1));
    }

    #[test]
    fn a_running_process_is_seen_running_and_a_zombie_is_not() {
        let _tree = TREE.lock().unwrap_or_else(|e| e.into_inner());
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep runs");
        let pid = child.id() as i32;
        let since = running_since(pid).expect("running");
        assert_eq!(running_since(pid), Some(since), "same process, same start");
        let _ = child.kill();
        // Killed, not yet reaped: a zombie, not running.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while running_since(pid).is_some() {
            assert!(std::time::Instant::now() < deadline, "never seen exiting");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = child.wait();
        assert_eq!(running_since(pid), None);
    }

    #[test]
    fn samples_a_real_tree() {
        let _tree = TREE.lock().unwrap_or_else(|e| e.into_inner());
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
        let _tree = TREE.lock().unwrap_or_else(|e| e.into_inner());
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

    #[test]
    fn tcp_table_gives_state_and_ports_of_our_sockets() {
        let _tree = TREE.lock().unwrap_or_else(|e| e.into_inner());
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C40 0100007F:20FB 01 00000000:00000000 00:00000000 00000000     0        0 111 1 0 20 4 30 10 -1
   1: 0100007F:9C41 0100007F:20FB 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1
   2: 0100007F:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0 20 4 30 10 -1
   3: 0100007F:9C42 0100007F:1F90 02 00000000:00000000 00:00000000 00000000     0        0 444 1 0 20 4 30 10 -1
";
        let procfs::net::TcpNetEntries(entries) =
            procfs::FromReadSI::from_read(table.as_bytes(), procfs::current_system_info())
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
