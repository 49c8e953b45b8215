//! `harness serve` against real clients: curl and `openssl s_client` verify its certificate
//! with the CA it prints, resume TLS 1.3 sessions from tickets and TLS 1.2 sessions by id,
//! and the final counts printed on SIGTERM / Ctrl-C agree with what the clients did.
//!
//! Tests that need curl or openssl are ignored, naming the tool, when it is not on PATH where
//! they are compiled (`test_with`), so cargo reports them as ignored rather than passed; in
//! the project's CI `tests/tools.rs` fails instead. Every
//! child is waited for with a deadline and killed if it hangs. Only 127.0.0.1 / localhost is
//! ever contacted. No timing assertions.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Deadline for any one child (start-up, a client, shutdown).
const DEADLINE: Duration = Duration::from_secs(30);
const REQUEST: &str = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// The default response body: 128 bytes of `x`.
fn body_128() -> String {
    "x".repeat(128)
}

fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_harness"))
}

/// Waits for `child` until the deadline; kills it and panics if it hangs.
fn wait_deadline(child: &mut Child, what: &str) -> ExitStatus {
    let until = Instant::now() + DEADLINE;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return s,
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {DEADLINE:?}; killed it");
            }
            Err(e) => panic!("{what}: wait failed: {e}"),
        }
    }
}

/// Runs a client to completion with `stdin` as its input, bounded by the deadline.
fn run_client(mut cmd: Command, stdin: &str, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    // Drain both pipes on threads so a chatty client cannot block on a full pipe.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let status = wait_deadline(&mut child, what);
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// A running `harness serve`.
struct Serve {
    child: Child,
    port: u16,
    /// The lines printed before the port was known.
    banner: Vec<String>,
    stdout: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    certs: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        let tmp = tempfile::tempdir().expect("tempdir");
        let certs = tmp.path().join("certs");
        let mut child = harness()
            .args(["serve", "--port", "0", "--certs-dir"])
            .arg(&certs)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start harness serve");
        let (tx, rx) = mpsc::channel();
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut serve = Serve {
            child,
            port: 0,
            banner: Vec::new(),
            stdout: rx,
            stderr: Some(stderr),
            certs,
            _tmp: tmp,
        };
        // The first line arrives while the server runs: stdout is flushed line by line even
        // into a pipe.
        let first = match serve.stdout.recv_timeout(DEADLINE) {
            Ok(l) => l,
            Err(_) => {
                let (status, _, err) = serve.kill();
                panic!("harness serve printed no line within {DEADLINE:?} ({status}): {err}");
            }
        };
        serve.port = port_of(&first).unwrap_or_else(|| panic!("no port in {first:?}"));
        serve.banner.push(first);
        // The rest of the banner (CA path, curl hint) follows at once.
        while serve.banner.len() < 3 {
            match serve.stdout.recv_timeout(DEADLINE) {
                Ok(l) => serve.banner.push(l),
                Err(_) => break,
            }
        }
        serve
    }

    fn ca(&self) -> PathBuf {
        self.certs.join("ca.pem")
    }

    fn url(&self) -> String {
        format!("https://localhost:{}/", self.port)
    }

    /// Sends `sig`, waits (bounded) and returns the exit status, the stdout lines printed
    /// after the banner, and stderr.
    fn stop(mut self, sig: libc::c_int) -> (ExitStatus, Vec<String>, String) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig})");
        let status = wait_deadline(&mut self.child, "harness serve after a signal");
        let (lines, err) = self.collect();
        (status, lines, err)
    }

    fn kill(&mut self) -> (ExitStatus, Vec<String>, String) {
        let _ = self.child.kill();
        let status = self.child.wait().expect("wait");
        let (lines, err) = self.collect();
        (status, lines, err)
    }

    fn collect(&mut self) -> (Vec<String>, String) {
        // The child has exited: the reader thread ends at EOF, closing the channel.
        let lines: Vec<String> = self.stdout.iter().collect();
        let err = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        (lines, err)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // A failed assertion must not leave a server behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The port in `serving https://localhost:PORT/ (TLS 1.3)`.
fn port_of(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("serving https://localhost:")?;
    rest.split('/').next()?.parse().ok()
}

/// The number just before `label` in `line`: `number_before("3 connections", " connections")`.
fn number_before(line: &str, label: &str) -> Option<u64> {
    let head = &line[..line.find(label)?];
    let digits: String = head
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// The `served …` line printed on stop.
fn final_line(lines: &[String]) -> &str {
    lines
        .iter()
        .find(|l| l.starts_with("served "))
        .unwrap_or_else(|| panic!("no `served` line in {lines:?}"))
}

fn curl(serve: &Serve, extra: &[&str]) -> Output {
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "20", "--cacert"])
        .arg(serve.ca())
        .args(extra)
        .arg(serve.url());
    run_client(c, "", "curl")
}

fn s_client(serve: &Serve, extra: &[&str], stdin: &str) -> (Output, String) {
    let mut c = Command::new("openssl");
    c.args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{}", serve.port))
        .args(["-servername", "localhost", "-CAfile"])
        .arg(serve.ca())
        .args(extra);
    let o = run_client(c, stdin, "openssl s_client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o, text)
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.contains(needle))
        .collect()
}

#[test]
fn banner_names_url_ca_and_a_curl_line() {
    let serve = Serve::start(&[]);
    assert_eq!(
        serve.banner[0],
        format!("serving https://localhost:{}/ (TLS 1.3)", serve.port)
    );
    let ca = serve.ca();
    assert!(ca.is_file(), "{} exists", ca.display());
    assert_eq!(serve.banner[1], format!("CA: {}", ca.display()));
    assert_eq!(
        serve.banner[2],
        format!("try: curl --cacert {} {}", ca.display(), serve.url())
    );
    let (status, lines, err) = serve.stop(libc::SIGTERM);
    assert!(status.success(), "exit {status}; stderr {err}");
    // Stopped before anyone connected: the counts are zeros, not missing.
    let last = final_line(&lines);
    assert_eq!(number_before(last, " connections"), Some(0), "{last}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test_with::executable(curl)]
#[test]
fn curl_gets_the_body_and_ctrl_c_prints_the_counts() {
    let serve = Serve::start(&[]);
    // Exactly the command the banner suggests (plus -sS and a time limit).
    let o = curl(&serve, &[]);
    let body = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "curl {}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(body, body_128());
    let o = curl(&serve, &[]);
    assert!(o.status.success());

    let (status, lines, err) = serve.stop(libc::SIGINT);
    assert!(status.success(), "exit {status} after Ctrl-C; stderr {err}");
    let last = final_line(&lines);
    eprintln!("{last}");
    assert!(
        number_before(last, " connections").expect("connections") >= 2,
        "{last}"
    );
    assert!(
        number_before(last, " requests").expect("requests") >= 2,
        "{last}"
    );
    assert!(last.contains("RSS "), "{last}");
}

#[test_with::executable(openssl)]
#[test]
fn openssl_verifies_and_resumes_tls13_from_a_ticket_then_sigterm_counts_it() {
    let serve = Serve::start(&[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let sess = tmp.path().join("session.pem");
    let sess_s = sess.to_string_lossy().into_owned();

    // First connection: full handshake, a request, the response, and the tickets that
    // follow it (-ign_eof keeps reading until the server closes).
    let (o1, text1) = s_client(&serve, &["-sess_out", &sess_s, "-ign_eof"], REQUEST);
    assert!(o1.status.success(), "s_client {}: {text1}", o1.status);
    assert!(
        text1.contains("Verify return code: 0 (ok)"),
        "certificate did not verify:\n{text1}"
    );
    assert!(text1.contains("New, TLSv1.3"), "{text1}");
    assert!(text1.contains("HTTP/1.1 200 OK"), "{text1}");
    assert!(text1.contains("content-length: 128"), "{text1}");
    assert!(text1.contains(&body_128()), "no body in:\n{text1}");
    assert!(sess.is_file(), "s_client wrote no session file");
    eprintln!("first:  {:?}", lines_with(&text1, "TLSv1.3"));

    // Second connection: resumed from the saved ticket.
    let (o2, text2) = s_client(&serve, &["-sess_in", &sess_s, "-ign_eof"], REQUEST);
    assert!(o2.status.success(), "s_client {}: {text2}", o2.status);
    assert!(
        text2.contains("Reused, TLSv1.3"),
        "second connection not resumed:\n{text2}"
    );
    assert!(text2.contains(&body_128()), "no body in:\n{text2}");
    eprintln!("second: {:?}", lines_with(&text2, "TLSv1.3"));

    let (status, lines, err) = serve.stop(libc::SIGTERM);
    assert!(
        status.success(),
        "exit {status} after SIGTERM; stderr {err}"
    );
    let last = final_line(&lines);
    eprintln!("{last}");
    assert!(
        number_before(last, " connections").expect("connections") >= 2,
        "{last}"
    );
    assert!(
        number_before(last, " resumed").expect("resumed") >= 1,
        "{last}"
    );
    assert!(number_before(last, " full").expect("full") >= 1, "{last}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test_with::executable(curl, openssl)]
#[test]
fn tls12_resumes_by_session_id_and_serves_the_requested_body_size() {
    let serve = Serve::start(&["--tls", "1.2", "--body-bytes", "1000"]);
    assert!(
        serve.banner[0].ends_with("(TLS 1.2)"),
        "{}",
        serve.banner[0]
    );

    let o = curl(&serve, &["--tlsv1.2", "--tls-max", "1.2"]);
    assert!(
        o.status.success(),
        "curl {}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.stdout, vec![b'x'; 1000]);

    // A TLS 1.3-only client is refused.
    let o = curl(&serve, &["--tlsv1.3"]);
    assert!(
        !o.status.success(),
        "curl --tlsv1.3 against a TLS 1.2 server"
    );

    // -reconnect: one full handshake, then five reconnections with the same session id.
    let (o, text) = s_client(&serve, &["-tls1_2", "-reconnect"], "");
    assert!(o.status.success(), "s_client {}: {text}", o.status);
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    let reused = lines_with(&text, "Reused, TLSv1.2");
    eprintln!("reconnect: {:?}", lines_with(&text, "TLSv1.2"));
    assert!(
        !reused.is_empty(),
        "no reconnection reused the session:\n{text}"
    );

    let (status, lines, err) = serve.stop(libc::SIGTERM);
    assert!(status.success(), "exit {status}; stderr {err}");
    let last = final_line(&lines);
    eprintln!("{last}");
    assert!(
        number_before(last, " resumed").expect("resumed") >= reused.len() as u64,
        "{} reused by openssl; server says {last}",
        reused.len()
    );
}

#[test]
fn port_in_use_is_one_line_naming_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut c = harness();
    c.args(["serve", "--port", &port.to_string(), "--certs-dir"])
        .arg(tmp.path().join("certs"));
    let o = run_client(c, "", "harness serve on a taken port");
    let err = String::from_utf8_lossy(&o.stderr);
    let out = String::from_utf8_lossy(&o.stdout);
    eprintln!("observed: exit {:?}, stderr {err:?}", o.status.code());
    assert!(!o.status.success(), "exit {}", o.status);
    assert_eq!(o.status.code(), Some(1));
    // The certificates are generated before binding; that notice may come first.
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "stderr: {err}");
    let line = errors[0];
    assert!(
        line.starts_with(&format!(
            "error: cannot listen on 127.0.0.1:{port}: Address already in use"
        )),
        "{line}"
    );
    assert!(!line.contains("os error"), "{line}");
    assert!(
        err.lines()
            .all(|l| l.starts_with("error:") || l.starts_with("generated certificates in ")),
        "unexpected stderr: {err}"
    );
    assert!(!out.contains("serving"), "stdout: {out}");
    drop(taken);
}

#[test]
fn sigterm_right_after_the_banner_still_prints_the_counts() {
    // The signal handlers are installed before the banner is printed, so a script that
    // stops the server as soon as it has read the port gets a clean exit and the summary.
    let serve = Serve::start(&[]);
    let (status, lines, err) = serve.stop(libc::SIGTERM);
    assert!(status.success(), "exit {status}; stderr {err}");
    final_line(&lines);
}

/// A helper check for the parser the tests rely on.
#[test]
fn parsers() {
    assert_eq!(
        port_of("serving https://localhost:8443/ (TLS 1.3)"),
        Some(8443)
    );
    assert_eq!(port_of("CA: x"), None);
    let l = "served 2 s: 3 connections (0 still open), 3 requests, handshakes 2 full / 1 resumed / 0 failed";
    assert_eq!(number_before(l, " connections"), Some(3));
    assert_eq!(number_before(l, " resumed"), Some(1));
    assert_eq!(number_before(l, " nothing"), None);
}
