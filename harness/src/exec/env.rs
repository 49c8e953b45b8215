//! The checked command's environment: the server's URL, and the CA where each client looks.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// The server's URL, for the program's own code.
pub const ENV_URL: &str = "TLS_SESSION_COST_URL";
/// The CA's path (PEM), under the harness's own name and where common clients read a bundle.
pub const ENV_CA: [&str; 5] = [
    "TLS_SESSION_COST_CA",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
];
/// Options every JVM reads at start-up: the only place to set a Java program's default trust
/// from outside, since the JVM reads none of [`ENV_CA`].
pub const ENV_JAVA: &str = "JAVA_TOOL_OPTIONS";

/// The command's variables: `url`, `ca` under every name of [`ENV_CA`], and [`ENV_JAVA`]
/// naming `java_truststore` after what `inherited_java` (the harness's own) already held.
pub fn for_command(
    url: &str,
    ca: &Path,
    java_truststore: &Path,
    inherited_java: Option<&OsStr>,
) -> Vec<(&'static str, OsString)> {
    let mut vars = vec![(ENV_URL, OsString::from(url))];
    vars.extend(ENV_CA.map(|name| (name, ca.as_os_str().to_owned())));
    vars.push((ENV_JAVA, java_tool_options(inherited_java, java_truststore)));
    vars
}

/// `inherited` with the trust store options appended last, so they win over a store the user
/// named (the JVM takes a property's last `-D`). No password: the store has no MAC and nothing
/// encrypted (`tls::truststore`), and JDK 17 loads it with none.
pub fn java_tool_options(inherited: Option<&OsStr>, truststore: &Path) -> OsString {
    let mut out = Vec::new();
    if let Some(user) = inherited.filter(|s| !s.as_bytes().trim_ascii().is_empty()) {
        out.extend_from_slice(user.as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(b"-Djavax.net.ssl.trustStore=");
    out.extend_from_slice(&quoted(truststore.as_os_str().as_bytes()));
    out.extend_from_slice(b" -Djavax.net.ssl.trustStoreType=PKCS12");
    OsString::from_vec(out)
}

/// `word` as one option of `JAVA_TOOL_OPTIONS`, which the JVM splits at white space, reading
/// `"…"` and `'…'` as quotes (no escapes): runs of `"` in single quotes, the rest in double.
fn quoted(word: &[u8]) -> Vec<u8> {
    let plain = |b: &u8| !b.is_ascii_whitespace() && *b != b'"' && *b != b'\'';
    if word.iter().all(plain) {
        return word.to_vec();
    }
    let mut out = Vec::with_capacity(word.len() + 4);
    for run in word.chunk_by(|a, b| (*a == b'"') == (*b == b'"')) {
        let q = if run[0] == b'"' { b'\'' } else { b'"' };
        out.push(q);
        out.extend_from_slice(run);
        out.push(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(inherited: Option<&str>, store: &str) -> String {
        java_tool_options(inherited.map(OsStr::new), Path::new(store))
            .into_string()
            .expect("utf-8")
    }

    #[test]
    fn the_trust_store_is_appended_to_the_users_options() {
        let ours = "-Djavax.net.ssl.trustStore=/c/ca.p12 -Djavax.net.ssl.trustStoreType=PKCS12";
        assert_eq!(opts(None, "/c/ca.p12"), ours);
        assert_eq!(opts(Some("  "), "/c/ca.p12"), ours);
        assert_eq!(
            opts(Some("-Xmx64m -Dfoo=bar"), "/c/ca.p12"),
            format!("-Xmx64m -Dfoo=bar {ours}")
        );
    }

    #[test]
    fn a_path_the_jvm_would_split_is_quoted() {
        assert_eq!(quoted(b"/a b/ca.p12"), b"\"/a b/ca.p12\"");
        assert_eq!(quoted(b"/it's/ca.p12"), b"\"/it's/ca.p12\"");
        assert_eq!(quoted(b"/a \"b\"/c"), b"\"/a \"'\"'\"b\"'\"'\"/c\"");
        assert_eq!(quoted(b"/plain/ca.p12"), b"/plain/ca.p12");
    }

    #[test]
    fn every_variable_is_set() {
        let vars = for_command(
            "https://localhost:1/",
            Path::new("/c/ca.pem"),
            Path::new("/c/ca.p12"),
            None,
        );
        let names: Vec<&str> = vars.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), 1 + ENV_CA.len() + 1);
        assert!(names.contains(&ENV_URL) && names.contains(&ENV_JAVA));
        for name in ENV_CA {
            assert!(
                vars.contains(&(name, OsString::from("/c/ca.pem"))),
                "{name}"
            );
        }
    }
}
