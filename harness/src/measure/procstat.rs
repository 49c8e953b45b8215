//! What the operating system says about this process: resident memory, CPU time, open file
//! descriptors and their limit. Linux `/proc` and `getrusage`; elsewhere the figures are
//! `None` (reported as not measured), never guessed.

use std::fs;

/// Resident set size in bytes, from `/proc/self/statm`.
pub fn rss_bytes() -> Option<u64> {
    let statm = fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(resident_pages * page_size())
}

pub(crate) fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// Open file descriptors of this process, counted in `/proc/self/fd` (less the one the count
/// itself opens).
pub fn open_fds() -> Option<u64> {
    let n = fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some(n.saturating_sub(1))
}

/// User + system CPU time of this process, seconds.
pub fn cpu_seconds() -> Option<f64> {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return None;
    }
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    Some(secs(ru.ru_utime) + secs(ru.ru_stime))
}

/// Peak resident set of this program image, bytes (`VmHWM` in `/proc/self/status`). Unlike
/// `getrusage`'s `ru_maxrss`, it starts afresh at `exec`: a process spawned by a large parent
/// carries that parent's peak in `ru_maxrss` (the kernel keeps the larger of the two across
/// `exec`), not in `VmHWM`.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// glibc's `mallinfo2()`, all arenas, or `None` when glibc's malloc is not the one in use
/// (all zero: valgrind, an `LD_PRELOAD`ed allocator), which is not 0 bytes.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn mallinfo() -> Option<(u64, u64)> {
    // SAFETY: mallinfo2 has no preconditions and returns a plain struct.
    let m = unsafe { libc::mallinfo2() };
    (m.arena + m.hblkhd > 0).then_some(((m.uordblks + m.hblkhd) as u64, m.fordblks as u64))
}

/// Not glibc: not measured.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn mallinfo() -> Option<(u64, u64)> {
    None
}

/// Bytes in use in glibc's malloc, all arenas: `mallinfo2()` `uordblks` (in the heap arenas)
/// plus `hblkhd` (in blocks mapped on their own). It sees every `malloc`, the C libraries'
/// (aws-lc, OpenSSL) as well as Rust's, which the counting allocator alone does not.
pub fn malloc_in_use_bytes() -> Option<u64> {
    mallinfo().map(|(in_use, _)| in_use)
}

/// Free bytes glibc's malloc holds in its arenas (`mallinfo2()` `fordblks`): freed blocks it
/// keeps for reuse, resident once touched, in no allocation.
pub fn malloc_free_bytes() -> Option<u64> {
    mallinfo().map(|(_, free)| free)
}

/// CPU time of the calling thread, µs: what the sampler charges itself.
pub fn thread_cpu_us() -> Option<u64> {
    thread_cpu_ns().map(|ns| ns / 1000)
}

/// CPU time of the calling thread, nanoseconds (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the struct we pass.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// CPU time of every child process this process has waited for (and the children they waited
/// for), user + system, seconds (`getrusage(RUSAGE_CHILDREN)`).
pub fn children_cpu_seconds() -> Option<f64> {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    if rc != 0 {
        return None;
    }
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    Some(secs(ru.ru_utime) + secs(ru.ru_stime))
}

/// The file-descriptor limit (RLIMIT_NOFILE): soft and hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    pub soft: u64,
    pub hard: u64,
}

/// Reads RLIMIT_NOFILE.
pub fn fd_limit() -> Option<FdLimit> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) };
    (rc == 0).then_some(FdLimit {
        soft: rl.rlim_cur,
        hard: rl.rlim_max,
    })
}

/// Raises the soft file-descriptor limit to the hard one, as Go and most servers do at start,
/// and returns the limit now in force. Leak mode holds one descriptor per leaked session, so
/// the soft limit (often 1024) is what it runs into; the summary reports the limit used.
pub fn raise_fd_limit() -> Option<FdLimit> {
    let lim = fd_limit()?;
    if lim.soft < lim.hard {
        let rl = libc::rlimit {
            rlim_cur: lim.hard,
            rlim_max: lim.hard,
        };
        // SAFETY: setrlimit reads the struct we pass.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) };
    }
    fd_limit()
}

/// A sum over processes that is `None` only when no process gave a value.
#[derive(Default)]
pub(crate) struct Sum(Option<u64>);

impl Sum {
    pub(crate) fn add(&mut self, v: Option<u64>) {
        if let Some(v) = v {
            self.0 = Some(self.0.unwrap_or(0) + v);
        }
    }
    pub(crate) fn get(&self) -> Option<u64> {
        self.0
    }
}

/// `Pss:  1234 kB` → bytes.
pub(crate) fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(rss_bytes().unwrap_or(0) > 0);
        // Other tests run on other threads of this process and open and close descriptors
        // meanwhile (a knob or held-connection probe test holds tens of sockets): 256 opened
        // here stand out of that noise.
        let before = open_fds().expect("fds") as i64;
        let files: Vec<std::fs::File> = (0..256)
            .map(|_| std::fs::File::open("/proc/self/statm").expect("open"))
            .collect();
        let grew = open_fds().expect("fds") as i64 - before;
        assert!(
            (192..=320).contains(&grew),
            "256 opened, counted {grew} more"
        );
        drop(files);
        assert!(cpu_seconds().is_some());
        let lim = fd_limit().expect("limit");
        assert!(lim.soft <= lim.hard);
    }
}

#[cfg(test)]
mod malloc_tests {
    /// In a normal process glibc's malloc is in use and has handed out bytes already.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_malloc_reports_bytes_in_use() {
        let keep = vec![0u8; 1 << 20];
        assert!(super::malloc_in_use_bytes().unwrap() >= keep.len() as u64);
        assert!(super::malloc_free_bytes().is_some());
    }
}
