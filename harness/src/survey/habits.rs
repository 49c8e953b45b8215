//! The survey's one list: every habit it checks, its program, how to run it, what it needs.

use crate::vocab::runtime::Runtime;

/// Where a needed piece comes from, named as its installer names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Package {
    Debian(&'static str),
    PyPi(&'static str),
    /// A Cargo example of the harness package, built next to the harness.
    CargoExample(&'static str),
}

impl Package {
    pub fn install(self) -> String {
        match self {
            Package::Debian(p) => format!("apt-get install {p}"),
            Package::PyPi(p) => format!("python3 -m pip install {p}"),
            Package::CargoExample(p) => format!("cargo build --release -p harness --example {p}"),
        }
    }
}

/// Something a habit's program needs on the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// An executable on `PATH`.
    Exe(&'static str, Package),
    PythonModule(&'static str, Package),
    PhpExtension(&'static str, Package),
}

impl Need {
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
    /// `EXE PROGRAM N`.
    Interpreter(&'static str),
    /// `sh -c SCRIPT PROGRAM N`: the script ends in `exec`, so the checked process is the
    /// runtime's own, and reads what it needs from the environment the check sets.
    Shell { script: &'static str },
    /// Built first with `go build -o DIR/STEM PROGRAM` (outside the check, so the `go` tool is
    /// not in the measured tree), then `DIR/STEM N`.
    GoBuild,
    /// The harness package's Cargo example next to the harness: `…/examples/NAME MODE N`.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HabitSpec {
    pub library: Library,
    pub shape: Shape,
    pub habit: &'static str,
    /// The program, in the examples directory.
    pub program: &'static str,
}

/// What every habit of one library shares: how its programs run and what they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Library {
    pub runtime: Runtime,
    pub name: &'static str,
    pub launch: Launch,
    pub needs: &'static [Need],
    /// What `--heap valgrind` cannot see: memory the runtime manages itself (`None`: all malloc's).
    pub heap_blind_spot: Option<&'static str>,
}

impl Library {
    const fn habit(self, shape: Shape, habit: &'static str, program: &'static str) -> HabitSpec {
        HabitSpec {
            library: self,
            shape,
            habit,
            program,
        }
    }

    const fn per_request(self, habit: &'static str, program: &'static str) -> HabitSpec {
        self.habit(Shape::PerRequest, habit, program)
    }

    const fn resumed(self, habit: &'static str, program: &'static str) -> HabitSpec {
        self.habit(Shape::Resumed, habit, program)
    }

    const fn shared(self, habit: &'static str, program: &'static str) -> HabitSpec {
        self.habit(Shape::Shared, habit, program)
    }
}

const PYTHON: Need = Need::Exe("python3", Package::Debian("python3"));
const REQUESTS: Need = Need::PythonModule("requests", Package::PyPi("requests"));
const HTTPX: Need = Need::PythonModule("httpx", Package::PyPi("httpx"));
const URLLIB3: Need = Need::PythonModule("urllib3", Package::PyPi("urllib3"));
/// `java File.java` compiles the file in memory: a JDK, not a JRE alone.
const JDK: Need = Need::Exe("javac", Package::Debian("default-jdk-headless"));
const CURL_EXTENSION: Need = Need::PhpExtension("curl", Package::Debian("php-curl"));

const PY_REQUESTS: Library = Library {
    runtime: Runtime::Python,
    name: "requests",
    launch: Launch::Interpreter("python3"),
    needs: &[PYTHON, REQUESTS],
    heap_blind_spot: Some(
        "pymalloc's arenas hold Python's small objects; OpenSSL's state is malloc's",
    ),
};
const PY_HTTPX: Library = Library {
    name: "httpx",
    needs: &[PYTHON, HTTPX],
    ..PY_REQUESTS
};
const PY_URLLIB3: Library = Library {
    name: "urllib3",
    needs: &[PYTHON, URLLIB3],
    ..PY_REQUESTS
};
const NODE_HTTPS: Library = Library {
    runtime: Runtime::Node,
    name: "https",
    launch: Launch::Interpreter("node"),
    needs: &[Need::Exe("node", Package::Debian("nodejs"))],
    heap_blind_spot: Some("V8's heap (JavaScript objects) is not malloc's"),
};
const NODE_FETCH: Library = Library {
    name: "fetch (undici)",
    ..NODE_HTTPS
};
const JAVA_HTTP: Library = Library {
    runtime: Runtime::Java,
    name: "java.net.http",
    launch: Launch::Interpreter("java"),
    needs: &[JDK],
    heap_blind_spot: Some(
        "the JVM's own heap (Java objects, the TLS session cache) is not malloc's",
    ),
};
const GO_HTTP: Library = Library {
    runtime: Runtime::Go,
    name: "net/http",
    launch: Launch::GoBuild,
    needs: &[Need::Exe("go", Package::Debian("golang-go"))],
    heap_blind_spot: Some(
        "Go's own allocator does not go through malloc: valgrind sees almost nothing",
    ),
};
const CURL: Library = Library {
    runtime: Runtime::Curl,
    name: "curl",
    launch: Launch::Interpreter("sh"),
    needs: &[Need::Exe("curl", Package::Debian("curl"))],
    heap_blind_spot: None,
};
const RUBY_HTTP: Library = Library {
    runtime: Runtime::Ruby,
    name: "net/http",
    launch: Launch::Interpreter("ruby"),
    needs: &[Need::Exe("ruby", Package::Debian("ruby"))],
    heap_blind_spot: Some("Ruby's object heap pages are malloc's, but not attributed per object"),
};
const PHP_CURL: Library = Library {
    runtime: Runtime::Php,
    name: "curl",
    // PHP's curl reads its CA bundle only from the `curl.cainfo` ini setting.
    launch: Launch::Shell {
        script: "exec php -d curl.cainfo=\"$SSL_CERT_FILE\" \"$0\" \"$@\"",
    },
    needs: &[Need::Exe("php", Package::Debian("php-cli")), CURL_EXTENSION],
    heap_blind_spot: None,
};

/// reqwest's habits are one Cargo example, run in `mode`.
const fn reqwest(mode: &'static str) -> Library {
    Library {
        runtime: Runtime::Rust,
        name: "reqwest",
        launch: Launch::CargoExample {
            name: "reqwest_client",
            mode,
        },
        needs: &[],
        heap_blind_spot: None,
    }
}

/// Every habit the survey checks, in the order of its table: per request first, then shared.
pub const HABITS: &[HabitSpec] = &[
    PY_REQUESTS.per_request("requests.get() per request", "python_requests_get.py"),
    PY_REQUESTS.shared("one requests.Session", "python_requests_session.py"),
    PY_HTTPX.per_request("httpx.Client per request", "python_httpx_per_request.py"),
    PY_HTTPX.shared("one httpx.Client", "python_httpx_shared.py"),
    PY_URLLIB3.shared("one urllib3.PoolManager", "python_urllib3_pool.py"),
    NODE_HTTPS.per_request("https.get, agent: false", "node_agent_false.js"),
    NODE_HTTPS.shared("https.get, default agent", "node_https_get.js"),
    NODE_HTTPS.shared("one keep-alive Agent", "node_keepalive_agent.js"),
    NODE_FETCH.shared("fetch() per request", "node_fetch.js"),
    JAVA_HTTP.resumed("HttpClient per request", "java_httpclient_per_request.java"),
    JAVA_HTTP.shared("one HttpClient", "java_httpclient_shared.java"),
    GO_HTTP.per_request(
        "new http.Transport per request",
        "go_transport_per_request.go",
    ),
    GO_HTTP.shared("http.Get (DefaultClient)", "go_http_get.go"),
    GO_HTTP.shared("one http.Client", "go_shared_client.go"),
    GO_HTTP.resumed("ClientSessionCache, no keep-alive", "go_session_cache.go"),
    CURL.per_request("a curl process per request", "curl_per_request.sh"),
    CURL.shared("one curl process", "curl_one_process.sh"),
    RUBY_HTTP.per_request(
        "Net::HTTP.start block per request",
        "ruby_net_http_start.rb",
    ),
    RUBY_HTTP.shared("one persistent Net::HTTP", "ruby_net_http_persistent.rb"),
    RUBY_HTTP.per_request(
        "Net::HTTP per request, never finished",
        "ruby_net_http_per_request.rb",
    ),
    PHP_CURL.per_request("curl_init per request", "php_curl_per_request.php"),
    PHP_CURL.shared("one reused curl handle", "php_curl_reused.php"),
    reqwest("per-request").per_request("reqwest::Client per request", "reqwest_client.rs"),
    reqwest("resumed").resumed("Client per request, shared config", "reqwest_client.rs"),
    reqwest("shared").shared("one reqwest::Client", "reqwest_client.rs"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_has_a_habit_and_every_program_is_there() {
        for r in Runtime::ALL {
            assert!(
                HABITS.iter().any(|h| h.library.runtime == *r),
                "{r} has no habit"
            );
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/clients");
        for h in HABITS {
            assert!(dir.join(h.program).is_file(), "{} is missing", h.program);
        }
    }
}
