//! What the operating system says about this process: memory, CPU time, malloc, descriptors.

use procfs::process::{StatM, Status};
use procfs::FromRead;
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Resident set size in bytes, from `/proc/self/statm`.
pub fn rss_bytes() -> Option<u64> {
    let statm = StatM::from_file("/proc/self/statm").ok()?;
    Some(statm.resident * rustix::param::page_size() as u64)
}

/// Open file descriptors of this process: the size the kernel gives `/proc/self/fd` (Linux ≥
/// 6.2), else the entries counted in it (less the one the count itself opens).
pub fn open_fds() -> Option<u64> {
    match rustix::fs::stat("/proc/self/fd") {
        Ok(st) if st.st_size > 0 => Some(st.st_size as u64),
        _ => {
            let n = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
            Some(n.saturating_sub(1))
        }
    }
}

/// User + system CPU time of this process, seconds.
pub fn cpu_seconds() -> Option<f64> {
    rusage_cpu_seconds(libc::RUSAGE_SELF)
}

/// `getrusage(who)`: user + system time, seconds, to the µs (`/proc`'s clock ticks are 10 ms);
/// neither std nor rustix wraps it.
fn rusage_cpu_seconds(who: libc::c_int) -> Option<f64> {
    // SAFETY: an all-zero rusage is valid (integers only); getrusage writes into the one we
    // pass and reads nothing from it.
    let (rc, ru) = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        (libc::getrusage(who, &mut ru), ru)
    };
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (rc == 0).then(|| secs(ru.ru_utime) + secs(ru.ru_stime))
}

/// Peak resident set of this program image, bytes (`VmHWM`): unlike `ru_maxrss`, which keeps a
/// large parent's peak across `exec`, it starts afresh there.
pub fn peak_rss_bytes() -> Option<u64> {
    let kib = Status::from_file("/proc/self/status").ok()?.vmhwm?;
    Some(kib * 1024)
}

/// glibc's `mallinfo2()`, all arenas: in use and free; `None` when glibc's malloc is not the
/// one in use (all zero: valgrind, an `LD_PRELOAD`ed allocator).
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

/// Bytes in use in glibc's malloc (`uordblks` + `hblkhd`): every `malloc`, the C libraries'
/// (aws-lc, OpenSSL) as well as Rust's.
pub fn malloc_in_use_bytes() -> Option<u64> {
    mallinfo().map(|(in_use, _)| in_use)
}

/// Free bytes glibc's malloc keeps for reuse in its arenas (`fordblks`), resident once touched.
pub fn malloc_free_bytes() -> Option<u64> {
    mallinfo().map(|(_, free)| free)
}

/// CPU time of the calling thread, µs: what the sampler charges itself.
pub fn thread_cpu_us() -> Option<u64> {
    thread_cpu_ns().map(|ns| ns / 1000)
}

/// CPU time of the calling thread, nanoseconds (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_ns() -> Option<u64> {
    let clock = rustix::time::DynamicClockId::Known(rustix::time::ClockId::ThreadCPUTime);
    let ts = rustix::time::clock_gettime_dynamic(clock).ok()?;
    Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// CPU time of every child this process has waited for (and theirs), user + system, seconds.
pub fn children_cpu_seconds() -> Option<f64> {
    rusage_cpu_seconds(libc::RUSAGE_CHILDREN)
}

/// The file-descriptor limit (RLIMIT_NOFILE): soft and hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft file-descriptor limit to the hard one, as Go and most servers do at start
/// (leak mode holds a descriptor per leaked session), and returns the limit now in force, an
/// unlimited one as `RLIM_INFINITY`.
pub fn raise_fd_limit() -> Option<FdLimit> {
    let rl = getrlimit(Resource::Nofile);
    if rl.current != rl.maximum {
        let raised = Rlimit {
            current: rl.maximum,
            maximum: rl.maximum,
        };
        // A refusal leaves the limit as it was, which the reading below reports.
        let _ = setrlimit(Resource::Nofile, raised);
    }
    let rl = getrlimit(Resource::Nofile);
    let value = |v: Option<u64>| v.unwrap_or(libc::RLIM_INFINITY);
    Some(FdLimit {
        soft: value(rl.current),
        hard: value(rl.maximum),
    })
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
        let lim = raise_fd_limit().expect("limit");
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
