//! Hard edges of a run: Ctrl-C / SIGTERM mid-run, a worker (or the parent) killed, report
//! directories that must never be overwritten, and TLS verification failures (wrong CA,
//! wrong server name, expired certificate).
//!
//! Process tests run the real binary against a temp dir and find its workers through /proc
//! (`__worker <role> <json>` whose JSON names this test's temp dir). Every wait has a
//! deadline: a hung child is killed and the test fails. Only 127.0.0.1 / localhost is
//! contacted. No timing assertions.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::tls::certs::{CertPaths, CertSet};
use harness::tls::config::ClientTls;
use harness::tls::server::{Server, ServerOptions};
use harness::tls::session::{Pooling, SessionFactory};
use harness::vocab::server_cache::ServerCachePolicy;
use harness::vocab::tls::{KxChoice, RootsChoice, TlsVersion};
use serde_json::Value;

/// Deadline for any one child process.
const DEADLINE: Duration = Duration::from_secs(45);
/// Load long enough that every signal lands mid-run.
const RATE: &str = "50";
const SECONDS: &str = "30";

fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_harness"))
}

// ---------------------------------------------------------------------------------------
// Processes and /proc

fn send(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with a pid we found ourselves; no memory is involved.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

fn wait_deadline(child: &mut Child, what: &str) -> ExitStatus {
    let until = Instant::now() + DEADLINE;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return s,
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(25)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {DEADLINE:?}; killed it");
            }
            Err(e) => panic!("{what}: wait failed: {e}"),
        }
    }
}

/// `(state, ppid)` from /proc/<pid>/stat (fields 3 and 4; the name in field 2 may hold
/// spaces and parentheses, so parse after the last `)`).
fn stat_of(pid: u32) -> Option<(char, u32)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = s[s.rfind(')')? + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((state, ppid))
}

fn cmdline_of(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Live (not zombie) worker processes whose command line mentions `needle`.
fn workers_mentioning(needle: &str) -> Vec<(u32, String)> {
    all_pids()
        .into_iter()
        .filter(|&p| stat_of(p).is_some_and(|(state, _)| state != 'Z'))
        .filter_map(|p| Some((p, cmdline_of(p)?)))
        .filter(|(_, c)| c.contains(" __worker ") && c.contains(needle))
        .collect()
}

/// The live child of `parent` running `__worker <role>`.
fn worker_of(parent: u32, role: &str) -> Option<u32> {
    let want = format!(" __worker {role} ");
    all_pids().into_iter().find(|&p| {
        stat_of(p).is_some_and(|(state, ppid)| ppid == parent && state != 'Z')
            && cmdline_of(p).is_some_and(|c| c.contains(&want))
    })
}

/// A `harness` run in the background, its output going to files in its temp dir.
struct Run {
    child: Child,
    /// Taken by [`Run::finish`] (a `Drop` type cannot be moved out of otherwise).
    tmp: Option<tempfile::TempDir>,
    dir: PathBuf,
    out: PathBuf,
}

impl Run {
    fn start(extra: &[&str]) -> Run {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("reports");
        let stdout = fs::File::create(tmp.path().join("stdout.txt")).expect("stdout file");
        let stderr = fs::File::create(tmp.path().join("stderr.txt")).expect("stderr file");
        let child = harness()
            .args([
                "--rate",
                RATE,
                "--seconds",
                SECONDS,
                "--mode",
                "fresh,shared",
            ])
            .args(["--sample-interval", "500ms", "--quiet", "--out"])
            .arg(&out)
            .arg("--certs-dir")
            .arg(tmp.path().join("certs"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("start harness");
        Run {
            child,
            dir: tmp.path().to_path_buf(),
            tmp: Some(tmp),
            out,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn needle(&self) -> String {
        self.dir.display().to_string()
    }

    /// Waits for the load to start (the client worker appears; the server worker is up by
    /// then), lets it run a few sample intervals, and returns the `role` worker's pid.
    fn worker_after_load(&mut self, role: &str) -> u32 {
        let until = Instant::now() + DEADLINE;
        let pid = loop {
            if let Some(p) = worker_of(self.pid(), "client") {
                break p;
            }
            if let Ok(Some(s)) = self.child.try_wait() {
                panic!("harness exited ({s}) before its client worker started");
            }
            assert!(
                Instant::now() < until,
                "no client worker within {DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(25));
        };
        // A few sample intervals of load, so there is something to report.
        std::thread::sleep(Duration::from_millis(2500));
        if role == "client" {
            pid
        } else {
            worker_of(self.pid(), role).unwrap_or_else(|| panic!("no {role} worker"))
        }
    }

    fn finish(mut self) -> Finished {
        let status = wait_deadline(&mut self.child, "harness");
        let read = |f: &str| fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        Finished {
            status,
            stdout: read("stdout.txt"),
            stderr: read("stderr.txt"),
            summary: read_summary(&self.out),
            rows: count_rows(&self.out),
            needle: self.needle(),
            _tmp: self.tmp.take(),
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    summary: Option<Value>,
    rows: usize,
    needle: String,
    _tmp: Option<tempfile::TempDir>,
}

impl Finished {
    fn summary(&self) -> &Value {
        self.summary
            .as_ref()
            .unwrap_or_else(|| panic!("no reports/latest/summary.json; stderr:\n{}", self.stderr))
    }

    fn mode(&self, name: &str) -> &Value {
        self.summary()["modes"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["mode"] == name))
            .unwrap_or_else(|| panic!("mode {name} in {}", self.summary()))
    }

    fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }

    fn assert_no_worker_left(&self) {
        let left = workers_mentioning(&self.needle);
        for (pid, _) in &left {
            send(*pid, libc::SIGKILL);
        }
        assert!(left.is_empty(), "workers outlived the run: {left:?}");
    }

    fn assert_no_panic(&self) {
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
    }

    fn describe(&self) -> String {
        format!(
            "exit {:?}\nstderr:\n{}\nstdout tail:\n{}",
            self.status.code(),
            self.stderr,
            self.stdout
                .lines()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

/// `reports/latest/summary.json`, checked against the published schema when it exists
/// (interrupted and failed runs must still write a valid report).
fn read_summary(out: &Path) -> Option<Value> {
    let text = fs::read_to_string(out.join("latest").join("summary.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    common::check_summary_json(&v, "reports/latest/summary.json");
    Some(v)
}

/// Data rows of `reports/latest/timeline.csv`.
fn count_rows(out: &Path) -> usize {
    fs::read_to_string(out.join("latest").join("timeline.csv"))
        .map(|t| t.lines().skip(1).filter(|l| !l.trim().is_empty()).count())
        .unwrap_or(0)
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is not a count"))
}

// ---------------------------------------------------------------------------------------
// Signals to the parent

fn interrupted_by(sig: libc::c_int) {
    let mut run = Run::start(&[]);
    run.worker_after_load("client");
    send(run.pid(), sig);
    let f = run.finish();
    eprintln!(
        "observed: exit {:?}, stderr last line {:?}",
        f.status.code(),
        f.stderr.lines().last()
    );
    assert_eq!(f.status.code(), Some(130), "{}", f.describe());
    assert!(
        f.stderr
            .contains("interrupted: wrote what was measured so far"),
        "{}",
        f.describe()
    );
    assert_eq!(f.summary()["interrupted"], true);
    let fresh = f.mode("fresh");
    assert!(u64_of(&fresh["requests_ok"]) > 0, "{fresh}");
    assert!(f.rows > 0, "timeline.csv has no rows");
    // The run stopped in its first mode: the second never started.
    assert!(
        f.summary()["modes"]
            .as_array()
            .is_some_and(|m| m.iter().all(|m| m["mode"] != "shared")),
        "{}",
        f.summary()
    );
    f.assert_no_panic();
    f.assert_no_worker_left();
}

#[test]
fn sigint_mid_run_writes_the_partial_report_and_leaves_no_worker() {
    interrupted_by(libc::SIGINT);
}

#[test]
fn sigterm_mid_run_writes_the_partial_report_and_leaves_no_worker() {
    interrupted_by(libc::SIGTERM);
}

#[test]
fn parent_killed_outright_its_workers_exit_on_their_own() {
    let mut run = Run::start(&[]);
    let client = run.worker_after_load("client");
    let server = worker_of(run.pid(), "server").expect("server worker");
    send(run.pid(), libc::SIGKILL);
    let status = wait_deadline(&mut run.child, "harness after SIGKILL");
    assert_eq!(status.code(), None, "killed by a signal");
    // The workers see their stdin close and stop; nothing is left behind.
    let until = Instant::now() + DEADLINE;
    let needle = run.needle();
    loop {
        let left = workers_mentioning(&needle);
        if left.is_empty() {
            break;
        }
        if Instant::now() > until {
            for (pid, _) in &left {
                send(*pid, libc::SIGKILL);
            }
            panic!("workers {left:?} (client {client}, server {server}) outlived a killed parent");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------
// A worker dying

/// Kills the `role` worker once the load runs, and checks what every such death must give:
/// exit 1, one error line naming the worker, the report kept with what was measured.
fn kill_worker_mid_run(role: &str) -> Finished {
    let mut run = Run::start(&[]);
    let pid = run.worker_after_load(role);
    send(pid, libc::SIGKILL);
    let f = run.finish();
    let errors = f.error_lines();
    eprintln!("observed: exit {:?}, {errors:?}", f.status.code());
    let died = format!("{role} worker died");
    assert_eq!(f.status.code(), Some(1), "{}", f.describe());
    assert_eq!(errors.len(), 1, "{}", f.describe());
    assert!(errors[0].contains(&died), "{}", errors[0]);
    let s = f.summary();
    assert_eq!(s["interrupted"], false);
    assert!(
        s["stopped_reason"]
            .as_str()
            .is_some_and(|r| r.contains(&died)),
        "{s}"
    );
    let fresh = f.mode("fresh");
    assert!(u64_of(&fresh["requests_ok"]) > 0, "{fresh}");
    assert!(f.rows > 0);
    f.assert_no_panic();
    f.assert_no_worker_left();
    f
}

#[test]
fn client_worker_killed_mid_run_is_named_and_the_report_kept() {
    let f = kill_worker_mid_run("client");
    let errors = f.error_lines();
    assert!(errors[0].contains("SIGKILL"), "{}", errors[0]);
    let fresh = f.mode("fresh");
    assert!(fresh["stopped_early"].is_string(), "{fresh}");
}

#[test]
fn server_worker_killed_mid_run_is_named_and_the_report_kept() {
    kill_worker_mid_run("server");
}

#[test]

fn server_worker_death_is_not_reported_as_an_interruption() {
    let mut run = Run::start(&[]);
    let server = run.worker_after_load("server");
    send(server, libc::SIGKILL);
    let f = run.finish();
    // Like the client's message: the exit status is part of it.
    let errors = f.error_lines();
    assert!(
        errors.first().is_some_and(|e| e.contains("SIGKILL")),
        "{errors:?}"
    );
    // The client was stopped because the server died, not by Ctrl-C.
    let why = f.mode("fresh")["stopped_early"].as_str().unwrap_or("");
    assert!(
        why.contains("server worker") && !why.contains("interrupted"),
        "fresh stopped_early = {why:?}"
    );
    f.assert_no_worker_left();
}

// ---------------------------------------------------------------------------------------
// Report directories

fn quick_run(out: &Path, certs: &Path) -> Command {
    let mut c = harness();
    c.args([
        "--rate",
        "10",
        "--seconds",
        "1",
        "--mode",
        "shared",
        "--quiet",
    ])
    .args(["--sample-interval", "500ms", "--out"])
    .arg(out)
    .arg("--certs-dir")
    .arg(certs)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    c
}

fn output_deadline(mut c: Command, what: &str) -> Output {
    let mut child = c.spawn().expect("start harness");
    let status = wait_deadline(&mut child, what);
    let mut out = Vec::new();
    let mut err = Vec::new();
    use std::io::Read;
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_end(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_end(&mut err);
    }
    Output {
        status,
        stdout: out,
        stderr: err,
    }
}

fn generate_certs(dir: &Path) {
    let o = harness()
        .args(["certs", "--certs-dir"])
        .arg(dir)
        .output()
        .expect("harness certs");
    assert!(o.status.success(), "{o:?}");
}

/// Run directories under `out` (everything but `latest` and hidden files).
fn run_dirs(out: &Path) -> BTreeSet<String> {
    fs::read_dir(out)
        .expect("out dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "latest" && !n.starts_with('.'))
        .collect()
}

use harness::run::orchestrator::run_id_at;

#[test]
fn an_existing_run_directory_is_never_reused() {
    // Occupy every run id of the next half minute: the run must pick `<id>-2`, and leave
    // what is in the occupied directories alone.
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("reports");
    let certs = tmp.path().join("certs");
    generate_certs(&certs);
    let now = time::OffsetDateTime::now_utc();
    let mut taken = Vec::new();
    for s in -2..30 {
        let dir = out.join(run_id_at(now + time::Duration::seconds(s)));
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join("summary.json"), "mine").expect("marker");
        taken.push(dir);
    }
    let o = output_deadline(quick_run(&out, &certs), "harness");
    assert!(o.status.success(), "{o:?}");
    for dir in &taken {
        assert_eq!(
            fs::read_to_string(dir.join("summary.json")).expect("marker kept"),
            "mine",
            "{} was written into",
            dir.display()
        );
        assert!(!dir.join("timeline.csv").exists(), "{}", dir.display());
    }
    let latest = fs::canonicalize(out.join("latest")).expect("latest");
    let name = latest.file_name().expect("name").to_string_lossy();
    assert!(name.ends_with("-2"), "the run used {name}");
    assert!(latest.join("summary.json").is_file());
}

#[test]
fn two_runs_at_once_into_the_same_out_get_two_directories() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("reports");
    let certs = tmp.path().join("certs");
    // Certificates made first, so the two runs compete only for the run directory, which is
    // what this test checks. Concurrent first use is safe too (`certs::ensure` serialises on
    // its lock): `concurrent_first_runs_share_one_certificate_set` covers that.
    generate_certs(&certs);
    let a = quick_run(&out, &certs).spawn().expect("start a");
    let b = quick_run(&out, &certs).spawn().expect("start b");
    let outputs: Vec<Output> = [a, b]
        .into_iter()
        .map(|mut c| {
            let status = wait_deadline(&mut c, "harness");
            let mut stdout = Vec::new();
            use std::io::Read;
            if let Some(mut s) = c.stdout.take() {
                let _ = s.read_to_end(&mut stdout);
            }
            Output {
                status,
                stdout,
                stderr: Vec::new(),
            }
        })
        .collect();
    let mut reported = BTreeSet::new();
    for o in &outputs {
        assert!(o.status.success(), "{o:?}");
        let text = String::from_utf8_lossy(&o.stdout);
        let line = text
            .lines()
            .find(|l| l.starts_with("report: "))
            .unwrap_or_else(|| panic!("no report line in {text}"));
        reported.insert(line.to_string());
    }
    assert_eq!(reported.len(), 2, "both runs reported {reported:?}");
    let dirs = run_dirs(&out);
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for d in &dirs {
        let summary = fs::read_to_string(out.join(d).join("summary.json")).expect("summary");
        let v: Value = serde_json::from_str(&summary).expect("json");
        assert_eq!(
            v["run_id"],
            d.as_str(),
            "each summary names its own directory"
        );
    }
}

// ---------------------------------------------------------------------------------------
// TLS verification failures, through the library: an in-process server presenting the bad
// certificate, a real client session, the failure's counted kind.

fn server_opts() -> ServerOptions {
    ServerOptions {
        port: 0,
        tls: TlsVersion::V13,
        body_bytes: 128,
        cache: ServerCachePolicy::default(),
        witness: false,
    }
}

/// A CA and a leaf valid only for `name` (not localhost, not 127.0.0.1), written to `dir`.
fn certs_for_another_name(dir: &Path, name: &str) -> CertSet {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    };
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("ca key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("unrelated test CA for {name}"),
    );
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("leaf key");
    let mut leaf = CertificateParams::new(vec![name.to_string()]).expect("leaf params");
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf");
    let paths = CertPaths::in_dir(dir);
    fs::create_dir_all(dir).expect("mkdir");
    fs::write(&paths.ca, ca_cert.pem()).expect("ca.pem");
    fs::write(&paths.server_cert, leaf_cert.pem()).expect("server.pem");
    fs::write(&paths.server_key, leaf_key.serialize_pem()).expect("server.key");
    CertSet {
        paths,
        ca: ca_cert.der().clone(),
        server_chain: vec![leaf_cert.der().clone()],
        server_key: std::sync::Arc::new(
            rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).expect("key der"),
        ),
    }
}

/// Certificates whose leaf expired 28 days ago (the CA is still valid).
fn expired_certs(dir: &Path) -> CertSet {
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    harness::tls::certs::generate_with_validity(dir, long_ago, time::Duration::days(2))
        .expect("expired certs")
}

/// One GET from a fresh session trusting `trusted`; returns the failure's kind and text.
async fn failing_get(
    server: &Server,
    trusted: rustls::pki_types::CertificateDer<'static>,
    url: &str,
) -> (String, String) {
    let tls = ClientTls::new(
        TlsVersion::V13,
        KxChoice::Default,
        RootsChoice::Ca,
        vec![trusted],
        256,
    );
    let session = SessionFactory::with_kind(harness::vocab::client::ClientKind::Hyper, tls)
        .build(Pooling::KeepAlive)
        .expect("session");
    let uri = url.parse().expect("uri");
    let err = match session.get(&uri).await {
        Ok(o) => panic!("{url}: the request succeeded ({o:?}); it must fail verification"),
        Err(e) => e,
    };
    // The server sees the handshake fail (the client's alert), counted on its side.
    let until = Instant::now() + Duration::from_secs(10);
    let stats = Arc::clone(&server.stats);
    while stats
        .handshakes_failed
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
    {
        assert!(Instant::now() < until, "server counted no failed handshake");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        stats.requests.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "no request may be served over an unverified connection"
    );
    (err.kind().to_string(), err.to_string())
}

/// The harness leaf, and a client trusting only `trusted`.
async fn harness_leaf_trusting(
    trusted: impl FnOnce(&Path) -> rustls::pki_types::CertificateDer<'static>,
) -> (String, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (served, _) = harness::tls::certs::ensure(&tmp.path().join("served")).expect("certs");
    let ca = trusted(&tmp.path().join("other"));
    let server = Server::start(&served, &server_opts())
        .await
        .expect("server");
    let url = format!("https://localhost:{}/", server.addr.port());
    failing_get(&server, ca, &url).await
}

/// Wrong CA: an unrelated one (its own name and key).
async fn wrong_ca() -> (String, String) {
    harness_leaf_trusting(|dir| certs_for_another_name(dir, "elsewhere.invalid").ca).await
}

/// Wrong CA: another harness CA — same subject name as the real issuer, different key.
async fn other_harness_ca() -> (String, String) {
    harness_leaf_trusting(|dir| harness::tls::certs::ensure(dir).expect("other CA").0.ca).await
}

async fn wrong_name() -> (String, String) {
    // The harness leaf names localhost and 127.0.0.1, and a server listens on 127.0.0.1:
    // every address we may reach is in the leaf. So the server presents a leaf for another
    // name instead, and the client asks for localhost.
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = certs_for_another_name(tmp.path(), "elsewhere.invalid");
    let server = Server::start(&set, &server_opts()).await.expect("server");
    let url = format!("https://localhost:{}/", server.addr.port());
    failing_get(&server, set.ca.clone(), &url).await
}

async fn expired() -> (String, String) {
    // Built with the library, not `certs::ensure`, which would replace the expired leaf.
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = expired_certs(tmp.path());
    let server = Server::start(&set, &server_opts()).await.expect("server");
    let url = format!("https://localhost:{}/", server.addr.port());
    failing_get(&server, set.ca.clone(), &url).await
}

// What works today: the request fails, the server counts a failed handshake and serves
// nothing, and the error's text names the cause.

#[tokio::test]
async fn wrong_ca_is_refused() {
    let (kind, text) = wrong_ca().await;
    eprintln!("observed kind {kind:?}; error: {text}");
    assert!(
        text.contains("invalid peer certificate: UnknownIssuer"),
        "{text}"
    );
}

#[tokio::test]
async fn another_harness_ca_is_refused() {
    // webpki finds the trusted CA by subject name, which every harness CA shares, so this
    // is reported as a bad signature rather than an unknown issuer (see the report).
    let (kind, text) = other_harness_ca().await;
    eprintln!("observed kind {kind:?}; error: {text}");
    assert!(
        text.contains("invalid peer certificate: UnknownIssuer")
            || text.contains("invalid peer certificate: BadSignature"),
        "{text}"
    );
}

#[tokio::test]
async fn wrong_server_name_is_refused() {
    let (kind, text) = wrong_name().await;
    eprintln!("observed kind {kind:?}; error: {text}");
    assert!(
        text.contains("invalid peer certificate: certificate not valid for name \"localhost\""),
        "{text}"
    );
}

#[tokio::test]
async fn expired_leaf_is_refused() {
    let (kind, text) = expired().await;
    eprintln!("observed kind {kind:?}; error: {text}");
    assert!(
        text.contains("invalid peer certificate: certificate expired"),
        "{text}"
    );
}

// What failures_by_kind needs: the kind is `tls: …`, not `io: Other`. hyper-rustls wraps
// tokio-rustls's io::Error (which holds the rustls::Error) in a second io::Error::other, and
// io::Error::source() skips the wrapped error, so RequestError::from_error never reaches it.

#[tokio::test]

async fn wrong_ca_kind_is_tls_unknown_issuer() {
    let (kind, _) = wrong_ca().await;
    assert_eq!(kind, "tls: invalid peer certificate: UnknownIssuer");
}

#[tokio::test]

async fn wrong_server_name_kind_is_a_stable_tls_key() {
    // A stable key like UnknownIssuer's: the names involved stay in the error's detail.
    let (kind, _) = wrong_name().await;
    assert_eq!(kind, "tls: invalid peer certificate: NotValidForName");
}

#[tokio::test]

async fn expired_leaf_kind_is_a_stable_tls_key() {
    // failures_by_kind groups by kind(): rustls's message for an expired certificate carries
    // the verification time and "N seconds ago", so every second would get its own key.
    let (kind, _) = expired().await;
    assert_eq!(kind, "tls: invalid peer certificate: Expired");
}

// ---------------------------------------------------------------------------------------
// The same failures through the CLI, against an external target. Needs `--target URL` and
// `--ca FILE` on the run command (no server worker; the client trusts only FILE).

/// A run against `target` trusting `ca`; returns the run's output and summary.
fn run_against(target: &str, ca: &Path, tmp: &Path) -> (Output, Value) {
    let out = tmp.join("reports");
    let mut c = harness();
    c.args([
        "--rate",
        "10",
        "--seconds",
        "1",
        "--mode",
        "fresh,shared",
        "--quiet",
    ])
    .args(["--target", target, "--ca"])
    .arg(ca)
    .arg("--out")
    .arg(&out)
    .arg("--certs-dir")
    .arg(tmp.join("unused-certs"))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let o = output_deadline(c, "harness --target");
    let summary = read_summary(&out).unwrap_or_else(|| {
        panic!(
            "no summary.json; exit {:?}, stderr {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o, summary)
}

/// Every request failed verification with a `tls: ` kind containing one of `expect`; exit 1.
fn assert_all_failed_tls(o: &Output, summary: &Value, expect: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let modes = summary["modes"].as_array().expect("modes");
    assert!(!modes.is_empty());
    for m in modes {
        assert_eq!(m["requests_ok"], 0, "{m}");
        assert!(u64_of(&m["requests_failed"]) > 0, "{m}");
        let kinds = m["failures_by_kind"].as_object().expect("failures_by_kind");
        assert!(!kinds.is_empty(), "{m}");
        for k in kinds.keys() {
            assert!(k.starts_with("tls: "), "{k}");
            assert!(
                expect.iter().any(|e| k.contains(e)),
                "{k} should mention one of {expect:?}"
            );
        }
    }
}

#[test]

fn cli_wrong_ca_against_harness_serve() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let other = tmp.path().join("other");
    generate_certs(&other);
    let mut serve = KillOnDrop(
        harness()
            .args(["serve", "--port", "0", "--certs-dir"])
            .arg(tmp.path().join("served"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("harness serve"),
    );
    let port = serve.port();
    let target = format!("https://localhost:{port}/");
    let (o, summary) = run_against(&target, &other.join("ca.pem"), tmp.path());
    // Another harness CA shares the real one's subject name: BadSignature today.
    assert_all_failed_tls(&o, &summary, &["UnknownIssuer", "BadSignature"]);
    assert_eq!(summary["scenario"]["target"], target.as_str());
}

/// A child killed when the test ends, passing or not.
struct KillOnDrop(Child);

impl KillOnDrop {
    /// The port of a `harness serve` child, from its first line (bounded wait).
    fn port(&mut self) -> u16 {
        use std::io::BufRead;
        let (tx, rx) = std::sync::mpsc::channel();
        // The pipe is read on a thread so a silent child cannot hang the test.
        let stdout = self.0.stdout.take();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(f) = stdout {
                let _ = std::io::BufReader::new(f).read_line(&mut line);
            }
            let _ = tx.send(line);
        });
        let first = rx.recv_timeout(DEADLINE).unwrap_or_default();
        first
            .trim()
            .strip_prefix("serving https://localhost:")
            .and_then(|r| r.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {first:?}"))
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `harness --target` against an in-process server presenting `set`.
fn cli_against_in_process(set: &CertSet, tmp: &Path) -> (Output, Value) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt
        .block_on(Server::start(set, &server_opts()))
        .expect("server");
    let target = format!("https://localhost:{}/", server.addr.port());
    let r = run_against(&target, &set.paths.ca, tmp);
    drop(server);
    r
}

#[test]

fn cli_wrong_server_name() {
    // `harness serve` binds 127.0.0.1 only and its leaf names localhost and 127.0.0.1, so
    // no target URL reaching it has a wrong name (https://127.0.0.2:P/ is refused at TCP,
    // an `io:` failure, not `tls:`). The target is an in-process server whose leaf names
    // another host, reached as localhost.
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = certs_for_another_name(&tmp.path().join("elsewhere"), "elsewhere.invalid");
    let (o, summary) = cli_against_in_process(&set, tmp.path());
    assert_all_failed_tls(&o, &summary, &["NotValidForName"]);
}

#[test]

fn cli_expired_certificate() {
    // `harness serve` would replace expired certificates (certs::ensure), so the target is
    // an in-process server presenting the expired leaf as generated.
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = expired_certs(&tmp.path().join("expired"));
    let (o, summary) = cli_against_in_process(&set, tmp.path());
    assert_all_failed_tls(&o, &summary, &["Expired"]);
}

// ---------------------------------------------------------------------------------------
// Certificates on first use by several runs at once

#[test]

fn concurrent_first_runs_share_one_certificate_set() {
    // Four runs start together with an empty --certs-dir: each finds no certificates and
    // generates its own CA and leaf into the same files, so a run can load one run's CA
    // with another's leaf or key (seen: "the leaf does not verify against the CA
    // (KeyMismatch)" / "BadSignature" from a worker). Racy by nature: passes only sometimes
    // until ensure() is serialised.
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("reports");
    let certs = tmp.path().join("certs");
    let children: Vec<Child> = (0..4)
        .map(|_| {
            let mut c = quick_run(&out, &certs);
            c.stdout(Stdio::null());
            c.spawn().expect("start harness")
        })
        .collect();
    for mut c in children {
        let status = wait_deadline(&mut c, "harness");
        let mut err = String::new();
        if let Some(mut s) = c.stderr.take() {
            use std::io::Read;
            let _ = s.read_to_string(&mut err);
        }
        assert!(status.success(), "exit {status}: {err}");
    }
}

/// Leak mode honours `--max-open` and stops cleanly before the file-descriptor limit.
#[test]
fn leak_stops_at_max_open_and_before_the_fd_limit() {
    let exe = env!("CARGO_BIN_EXE_harness");
    let tmp = tempfile::tempdir().expect("tempdir");
    let certs = tmp.path().join("certs");
    let run = |shell_prefix: &str, extra: &str, out: &str| {
        let cmd = format!(
            "{shell_prefix} exec '{exe}' --rate 100 --seconds 3 --mode leak --quiet {extra} --out '{}' --certs-dir '{}'",
            tmp.path().join(out).display(),
            certs.display()
        );
        let o = std::process::Command::new("sh")
            .args(["-c", &cmd])
            .output()
            .expect("run harness");
        let summary = harness::contract::summary::Summary::read(
            &tmp.path().join(out).join("latest").join("summary.json"),
        )
        .expect("summary written");
        (o, summary)
    };

    let (o, s) = run("", "--max-open 25", "bounded");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let leak = &s.modes[0];
    let why = leak.load.stopped_early.as_deref().expect("stopped early");
    assert!(why.contains("--max-open bound of 25"), "{why}");
    assert_eq!(
        leak.load.requests_failed, 0,
        "{:?}",
        leak.load.failures_by_kind
    );
    assert!(
        leak.load.requests_ok <= 25 && leak.load.requests_ok >= 20,
        "{}",
        leak.load.requests_ok
    );

    // A hard limit of 160 descriptors: leak must stop on its own, never hit EMFILE.
    let (o, s) = run("ulimit -n 160 &&", "", "limited");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let leak = &s.modes[0];
    let why = leak.load.stopped_early.as_deref().expect("stopped early");
    assert!(
        why.contains("RLIMIT_NOFILE soft limit 160") && why.contains("ulimit -n"),
        "{why}"
    );
    assert_eq!(
        leak.load.requests_failed, 0,
        "{:?}",
        leak.load.failures_by_kind
    );
    assert!(leak.open_fds_peak.expect("fds") < 160);
}
