//! The survey's one list: every runtime habit it checks, its example program, how to run it, and
//! what has to be installed for it.
//!
//! Adding a habit is a program in `examples/clients/` and one entry in [`HABITS`].

use crate::vocab::runtime::Runtime;

/// Where a needed piece comes from, named as its installer names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Package {
    /// A Debian package (`apt-get install NAME`).
    Debian(&'static str),
    /// A PyPI package (`python3 -m pip install NAME`).
    PyPi(&'static str),
    /// A Cargo example of the harness package, built next to the harness.
    CargoExample(&'static str),
}

impl Package {
    /// The command that installs it.
    pub fn install(self) -> String {
        match self {
            Package::Debian(p) => format!("apt-get install {p}"),
            Package::PyPi(p) => format!("python3 -m pip install {p}"),
            Package::CargoExample(p) => {
                format!("cargo build --release -p harness --example {p}")
            }
        }
    }
}

/// Something a habit's program needs on the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// An executable on `PATH`.
    Exe(&'static str, Package),
    /// A module `python3` can import.
    PythonModule(&'static str, Package),
    /// An extension `php` has loaded.
    PhpExtension(&'static str, Package),
}

impl Need {
    /// What provides it.
    pub fn package(self) -> Package {
        match self {
            Need::Exe(_, p) | Need::PythonModule(_, p) | Need::PhpExtension(_, p) => p,
        }
    }

    /// The need, in words: `go (golang-go)`.
    pub fn describe(self) -> String {
        let what = match self {
            Need::Exe(e, _) => e.to_string(),
            Need::PythonModule(m, _) => format!("python3 module {m}"),
            Need::PhpExtension(x, _) => format!("php extension {x}"),
        };
        format!("{what} ({})", self.package().install())
    }
}

/// How a habit's program is run; the request count is always the last argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// `EXE ARGS… PROGRAM N`.
    Interpreter {
        exe: &'static str,
        args: &'static [&'static str],
    },
    /// `sh -c SCRIPT PROGRAM N`: the script ends in `exec`, so the checked process is the
    /// runtime's own, and reads what it needs from the environment the check sets.
    Shell { script: &'static str },
    /// Built first with `go build -o DIR/STEM PROGRAM` (outside the check, so the `go` tool is
    /// not in the measured tree), then `DIR/STEM N`.
    GoBuild,
    /// The harness package's Cargo example `NAME`, next to the harness executable:
    /// `…/examples/NAME MODE N`.
    CargoExample {
        name: &'static str,
        mode: &'static str,
    },
}

/// What a habit's code does with connections, as its author meant it: the relation the
/// survey's test checks the measured figures against (the verdict reads the figures alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A new client (or process) per request: a new connection each time.
    PerRequest,
    /// A new connection per request over one kept TLS session store: resumed handshakes.
    Resumed,
    /// One client for every request: its pool's connection is reused.
    Shared,
}

/// One runtime habit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HabitSpec {
    pub runtime: Runtime,
    pub shape: Shape,
    pub library: &'static str,
    pub habit: &'static str,
    /// The program, in the examples directory.
    pub program: &'static str,
    pub launch: Launch,
    pub needs: &'static [Need],
    /// What `--heap valgrind` cannot see in this runtime: memory it manages itself, not
    /// through malloc (`None`: the program's memory is malloc's).
    pub heap_blind_spot: Option<&'static str>,
}

const PYTHON: Need = Need::Exe("python3", Package::Debian("python3"));
const REQUESTS: Need = Need::PythonModule("requests", Package::PyPi("requests"));
const HTTPX: Need = Need::PythonModule("httpx", Package::PyPi("httpx"));
const URLLIB3: Need = Need::PythonModule("urllib3", Package::PyPi("urllib3"));
const NODE: Need = Need::Exe("node", Package::Debian("nodejs"));
/// `java File.java` compiles the file in memory: a JDK, not a JRE alone.
const JDK: Need = Need::Exe("javac", Package::Debian("default-jdk-headless"));
const GO: Need = Need::Exe("go", Package::Debian("golang-go"));
const CURL: Need = Need::Exe("curl", Package::Debian("curl"));
const RUBY: Need = Need::Exe("ruby", Package::Debian("ruby"));
const PHP: Need = Need::Exe("php", Package::Debian("php-cli"));
const PHP_CURL: Need = Need::PhpExtension("curl", Package::Debian("php-curl"));

const PYTHON3: Launch = Launch::Interpreter {
    exe: "python3",
    args: &[],
};
const NODE_JS: Launch = Launch::Interpreter {
    exe: "node",
    args: &[],
};
const JAVA: Launch = Launch::Interpreter {
    exe: "java",
    args: &[],
};
const RUBY_RB: Launch = Launch::Interpreter {
    exe: "ruby",
    args: &[],
};
/// PHP's curl reads its CA bundle only from the `curl.cainfo` ini setting.
const PHP_WITH_CA: Launch = Launch::Shell {
    script: "exec php -d curl.cainfo=\"$SSL_CERT_FILE\" \"$0\" \"$@\"",
};
const SH: Launch = Launch::Interpreter {
    exe: "sh",
    args: &[],
};

const JVM_HEAP: &str = "the JVM's own heap (Java objects, the TLS session cache) is not malloc's";
const V8_HEAP: &str = "V8's heap (JavaScript objects) is not malloc's";
const GO_HEAP: &str = "Go's own allocator does not go through malloc: valgrind sees almost nothing";
const PY_HEAP: &str = "pymalloc's arenas hold Python's small objects; OpenSSL's state is malloc's";
const RUBY_HEAP: &str = "Ruby's object heap pages are malloc's, but not attributed per object";

/// Every habit the survey checks, in the order of its table: per request first, then shared.
pub const HABITS: &[HabitSpec] = &[
    HabitSpec {
        runtime: Runtime::Python,
        shape: Shape::PerRequest,
        library: "requests",
        habit: "requests.get() per request",
        program: "python_requests_get.py",
        launch: PYTHON3,
        needs: &[PYTHON, REQUESTS],
        heap_blind_spot: Some(PY_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Python,
        shape: Shape::Shared,
        library: "requests",
        habit: "one requests.Session",
        program: "python_requests_session.py",
        launch: PYTHON3,
        needs: &[PYTHON, REQUESTS],
        heap_blind_spot: Some(PY_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Python,
        shape: Shape::PerRequest,
        library: "httpx",
        habit: "httpx.Client per request",
        program: "python_httpx_per_request.py",
        launch: PYTHON3,
        needs: &[PYTHON, HTTPX],
        heap_blind_spot: Some(PY_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Python,
        shape: Shape::Shared,
        library: "httpx",
        habit: "one httpx.Client",
        program: "python_httpx_shared.py",
        launch: PYTHON3,
        needs: &[PYTHON, HTTPX],
        heap_blind_spot: Some(PY_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Python,
        shape: Shape::Shared,
        library: "urllib3",
        habit: "one urllib3.PoolManager",
        program: "python_urllib3_pool.py",
        launch: PYTHON3,
        needs: &[PYTHON, URLLIB3],
        heap_blind_spot: Some(PY_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Node,
        shape: Shape::PerRequest,
        library: "https",
        habit: "https.get, agent: false",
        program: "node_agent_false.js",
        launch: NODE_JS,
        needs: &[NODE],
        heap_blind_spot: Some(V8_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Node,
        shape: Shape::Shared,
        library: "https",
        habit: "https.get, default agent",
        program: "node_https_get.js",
        launch: NODE_JS,
        needs: &[NODE],
        heap_blind_spot: Some(V8_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Node,
        shape: Shape::Shared,
        library: "https",
        habit: "one keep-alive Agent",
        program: "node_keepalive_agent.js",
        launch: NODE_JS,
        needs: &[NODE],
        heap_blind_spot: Some(V8_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Node,
        shape: Shape::Shared,
        library: "fetch (undici)",
        habit: "fetch() per request",
        program: "node_fetch.js",
        launch: NODE_JS,
        needs: &[NODE],
        heap_blind_spot: Some(V8_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Java,
        shape: Shape::Resumed,
        library: "java.net.http",
        habit: "HttpClient per request",
        program: "java_httpclient_per_request.java",
        launch: JAVA,
        needs: &[JDK],
        heap_blind_spot: Some(JVM_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Java,
        shape: Shape::Shared,
        library: "java.net.http",
        habit: "one HttpClient",
        program: "java_httpclient_shared.java",
        launch: JAVA,
        needs: &[JDK],
        heap_blind_spot: Some(JVM_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Go,
        shape: Shape::PerRequest,
        library: "net/http",
        habit: "new http.Transport per request",
        program: "go_transport_per_request.go",
        launch: Launch::GoBuild,
        needs: &[GO],
        heap_blind_spot: Some(GO_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Go,
        shape: Shape::Shared,
        library: "net/http",
        habit: "http.Get (DefaultClient)",
        program: "go_http_get.go",
        launch: Launch::GoBuild,
        needs: &[GO],
        heap_blind_spot: Some(GO_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Go,
        shape: Shape::Shared,
        library: "net/http",
        habit: "one http.Client",
        program: "go_shared_client.go",
        launch: Launch::GoBuild,
        needs: &[GO],
        heap_blind_spot: Some(GO_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Go,
        shape: Shape::Resumed,
        library: "net/http",
        habit: "ClientSessionCache, no keep-alive",
        program: "go_session_cache.go",
        launch: Launch::GoBuild,
        needs: &[GO],
        heap_blind_spot: Some(GO_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Curl,
        shape: Shape::PerRequest,
        library: "curl",
        habit: "a curl process per request",
        program: "curl_per_request.sh",
        launch: SH,
        needs: &[CURL],
        heap_blind_spot: None,
    },
    HabitSpec {
        runtime: Runtime::Curl,
        shape: Shape::Shared,
        library: "curl",
        habit: "one curl process",
        program: "curl_one_process.sh",
        launch: SH,
        needs: &[CURL],
        heap_blind_spot: None,
    },
    HabitSpec {
        runtime: Runtime::Ruby,
        shape: Shape::PerRequest,
        library: "net/http",
        habit: "Net::HTTP.start block per request",
        program: "ruby_net_http_start.rb",
        launch: RUBY_RB,
        needs: &[RUBY],
        heap_blind_spot: Some(RUBY_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Ruby,
        shape: Shape::Shared,
        library: "net/http",
        habit: "one persistent Net::HTTP",
        program: "ruby_net_http_persistent.rb",
        launch: RUBY_RB,
        needs: &[RUBY],
        heap_blind_spot: Some(RUBY_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Ruby,
        shape: Shape::PerRequest,
        library: "net/http",
        habit: "Net::HTTP per request, never finished",
        program: "ruby_net_http_per_request.rb",
        launch: RUBY_RB,
        needs: &[RUBY],
        heap_blind_spot: Some(RUBY_HEAP),
    },
    HabitSpec {
        runtime: Runtime::Php,
        shape: Shape::PerRequest,
        library: "curl",
        habit: "curl_init per request",
        program: "php_curl_per_request.php",
        launch: PHP_WITH_CA,
        needs: &[PHP, PHP_CURL],
        heap_blind_spot: None,
    },
    HabitSpec {
        runtime: Runtime::Php,
        shape: Shape::Shared,
        library: "curl",
        habit: "one reused curl handle",
        program: "php_curl_reused.php",
        launch: PHP_WITH_CA,
        needs: &[PHP, PHP_CURL],
        heap_blind_spot: None,
    },
    HabitSpec {
        runtime: Runtime::Rust,
        shape: Shape::PerRequest,
        library: "reqwest",
        habit: "reqwest::Client per request",
        program: "reqwest_client.rs",
        launch: Launch::CargoExample {
            name: "reqwest_client",
            mode: "per-request",
        },
        needs: &[],
        heap_blind_spot: None,
    },
    HabitSpec {
        runtime: Runtime::Rust,
        shape: Shape::Resumed,
        library: "reqwest",
        habit: "Client per request, shared config",
        program: "reqwest_client.rs",
        launch: Launch::CargoExample {
            name: "reqwest_client",
            mode: "resumed",
        },
        needs: &[],
        heap_blind_spot: None,
    },
    HabitSpec {
        runtime: Runtime::Rust,
        shape: Shape::Shared,
        library: "reqwest",
        habit: "one reqwest::Client",
        program: "reqwest_client.rs",
        launch: Launch::CargoExample {
            name: "reqwest_client",
            mode: "shared",
        },
        needs: &[],
        heap_blind_spot: None,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_has_a_habit_and_every_program_is_there() {
        for r in Runtime::ALL {
            assert!(HABITS.iter().any(|h| h.runtime == *r), "{r} has no habit");
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/clients");
        for h in HABITS {
            assert!(dir.join(h.program).is_file(), "{} is missing", h.program);
        }
    }
}
