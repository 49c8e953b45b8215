//! `harness exec` and the JVM: a Java program with no trust code of its own (plain
//! `java.net.http.HttpClient`, run as a source file) is checked unchanged, because exec passes
//! the harness CA as a PKCS#12 trust store in `JAVA_TOOL_OPTIONS`; keytool reads that store;
//! and a user's own `JAVA_TOOL_OPTIONS` is kept. Relations and counts only; no timing is
//! asserted. The tests that run a JVM are ignored without a JDK (`java` and `javac`) and
//! required in the project's CI (`tests/tools.rs`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

const REQUESTS: u64 = 20;

fn client(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/clients")
        .join(name)
}

/// A check's outcome: exit code, the summary (stdout with `--json`), stderr.
struct Checked {
    code: Option<i32>,
    summary: Value,
    stderr: String,
}

impl Checked {
    fn u(&self, field: &str) -> u64 {
        self.summary[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field} in {}", self.summary))
    }
    fn habit(&self) -> &str {
        self.summary["habit"].as_str().unwrap_or("null")
    }
    fn verdict(&self) -> String {
        self.summary["verdict"].to_string()
    }
}

/// `harness exec --json` over `command` with `env` added to the harness's own environment.
fn check(certs: &Path, env: &[(&str, &str)], command: &[&str]) -> Checked {
    let out_dir = tempfile::tempdir().expect("tempdir");
    let mut c = Command::new(env!("CARGO_BIN_EXE_harness"));
    c.arg("exec")
        .arg("--out")
        .arg(out_dir.path().join("reports"))
        .arg("--certs-dir")
        .arg(certs)
        // A bound on every check, so no test hangs on a command that never ends.
        .args(["--json", "--quiet", "--duration", "180s", "--"])
        .args(command)
        .env_remove("JAVA_TOOL_OPTIONS")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    let out = c.output().expect("harness runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let summary: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("summary on stdout ({e}); stderr: {stderr}"));
    common::check_exec_summary_json(&summary, "harness exec");
    Checked {
        code: out.status.code(),
        summary,
        stderr,
    }
}

fn java(certs: &Path, file: &str) -> Checked {
    let file = client(file);
    let n = REQUESTS.to_string();
    check(
        certs,
        &[],
        &["java", file.to_str().expect("utf-8 path"), &n],
    )
}

/// `harness exec -- java Client.java`, a plain
/// `HttpClient.newHttpClient()` program with no trust code, completes its requests and gets a
/// verdict. What the server saw, per habit (measured, JDK 17): a new `HttpClient` per request
/// opens a new connection each time, but all of them share the JVM's default `SSLContext`, so
/// every connection after the first resumes a session from its client cache; and JDK 17's
/// `HttpClient` has no `close()`, so connections are left to the exit. The shared client
/// keeps one connection for every request.
#[test_with::executable(java, javac)]
#[test]
fn java_httpclient_per_request_vs_shared() {
    let certs = tempfile::tempdir().expect("tempdir");
    let per = java(certs.path(), "java_httpclient_per_request.java");
    let what = "java_httpclient_per_request";
    assert_eq!(per.code, Some(0), "{what} completes: {}", per.stderr);
    assert!(
        per.stderr
            .contains(&format!("{what}: {REQUESTS} requests ok")),
        "{}",
        per.stderr
    );
    assert!(
        !per.summary["verdict"]
            .as_array()
            .is_none_or(|v| v.is_empty()),
        "{what} gets a verdict: {}",
        per.summary
    );
    assert_eq!(per.u("requests"), REQUESTS, "{what}");
    assert_eq!(
        per.u("connections"),
        REQUESTS,
        "{what}: a new connection each"
    );
    assert_eq!(per.u("handshakes_failed"), 0, "{what}");
    assert_eq!(
        per.u("handshakes_full") + per.u("handshakes_resumed"),
        REQUESTS,
        "{what}"
    );
    // The first connection cannot resume; the later ones resume from the default SSLContext's
    // session cache, which every new HttpClient shares.
    assert!(per.u("handshakes_full") >= 1, "{what}");
    assert!(
        per.u("handshakes_resumed") >= 1,
        "{what}: {}",
        per.verdict()
    );
    assert_eq!(
        per.habit(),
        "resumed_connection_per_request",
        "{what}: {}",
        per.verdict()
    );
    assert!(
        per.u("connections_open_at_exit") >= 1,
        "{what}: no close() in JDK 17: {}",
        per.verdict()
    );

    let shared = java(certs.path(), "java_httpclient_shared.java");
    let what = "java_httpclient_shared";
    assert_eq!(shared.code, Some(0), "{what} completes: {}", shared.stderr);
    assert_eq!(shared.u("requests"), REQUESTS, "{what}");
    assert!(
        shared.u("connections") < REQUESTS,
        "{what}: fewer connections than requests: {}",
        shared.verdict()
    );
    assert_eq!(shared.u("connections"), 1, "{what}");
    assert_eq!(
        shared.habit(),
        "one_connection",
        "{what}: {}",
        shared.verdict()
    );
    assert_eq!(
        shared.u("connections_open_at_exit"),
        1,
        "{what}: its one connection is left to the exit: {}",
        shared.verdict()
    );
}

/// Why the variable exists: the same program with `JAVA_TOOL_OPTIONS` taken away again
/// trusts only the JDK's own CAs, fails its first request (PKIX) and gets no verdict; the
/// server names the failed handshake.
#[test_with::executable(java, javac)]
#[test]
fn without_the_trust_store_the_jvm_fails_its_handshake() {
    let certs = tempfile::tempdir().expect("tempdir");
    let file = client("java_httpclient_per_request.java");
    let c = check(
        certs.path(),
        &[],
        &[
            "env",
            "-u",
            "JAVA_TOOL_OPTIONS",
            "java",
            file.to_str().expect("utf-8 path"),
            "3",
        ],
    );
    assert_eq!(c.code, Some(1), "the client fails: {}", c.stderr);
    assert!(
        c.stderr.contains("request 1 failed"),
        "its first request: {}",
        c.stderr
    );
    assert_eq!(c.u("requests"), 0);
    assert!(c.u("handshakes_failed") >= 1, "{}", c.summary);
    assert_eq!(c.habit(), "null");
}

/// A user's own `JAVA_TOOL_OPTIONS` is kept, the trust store's options after it (the JVM takes
/// the last `-D` of a property), naming the `ca.p12` beside the CA.
#[test]
fn a_users_java_tool_options_are_kept_and_the_trust_store_appended() {
    let certs = tempfile::tempdir().expect("tempdir");
    let c = check(
        certs.path(),
        &[("JAVA_TOOL_OPTIONS", "-Xmx64m -Dmine=1")],
        &[
            "sh",
            "-c",
            "printf 'seen: %s\\n' \"$JAVA_TOOL_OPTIONS\" >&2",
        ],
    );
    assert_eq!(c.code, Some(0), "{}", c.stderr);
    let store = std::fs::canonicalize(certs.path().join("ca.p12")).expect("ca.p12 written");
    let expected = format!(
        "seen: -Xmx64m -Dmine=1 -Djavax.net.ssl.trustStore={} -Djavax.net.ssl.trustStoreType=PKCS12",
        store.display()
    );
    assert!(
        c.stderr.lines().any(|l| l == expected),
        "{expected}\n in: {}",
        c.stderr
    );
}

/// The installed JDK's keytool reads the store with no password as one trusted certificate
/// entry, and writes the same bytes for the same CA when told to protect nothing.
#[test_with::executable(java, javac)]
#[test]
fn keytool_reads_the_trust_store_and_writes_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (set, _) = harness::tls::certs::ensure(dir.path()).expect("certificates");
    let store = &set.paths.java_truststore;
    let list = Command::new("keytool")
        .args(["-list", "-storetype", "PKCS12", "-keystore"])
        .arg(store)
        .stdin(Stdio::null())
        .output()
        .expect("keytool runs");
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success(), "{text}");
    assert!(text.contains("Your keystore contains 1 entry"), "{text}");
    let entry = format!("{}, ", harness::tls::truststore::ALIAS);
    assert!(
        text.lines()
            .any(|l| l.starts_with(&entry) && l.contains("trustedCertEntry")),
        "{text}"
    );

    let by_keytool = dir.path().join("keytool.p12");
    let import = Command::new("keytool")
        .args(["-importcert", "-noprompt", "-storetype", "PKCS12"])
        .args([
            "-alias",
            harness::tls::truststore::ALIAS,
            "-storepass",
            "unused",
        ])
        .args([
            "-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
            "-J-Dkeystore.pkcs12.macAlgorithm=NONE",
            "-file",
        ])
        .arg(&set.paths.ca)
        .arg("-keystore")
        .arg(&by_keytool)
        .stdin(Stdio::null())
        .output()
        .expect("keytool runs");
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert_eq!(
        std::fs::read(store).expect("ours"),
        std::fs::read(&by_keytool).expect("keytool's"),
        "the same bytes as keytool's"
    );
}
