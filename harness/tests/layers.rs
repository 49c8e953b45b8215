//! The house in layers (ARCHITECTURE.md, "Layers"): every module of `harness/src` imports only
//! modules of its own layer or of a layer below it, and no set of modules imports each other in
//! a cycle. Read from the sources as the compiler would resolve them: every `crate::`, `super::`
//! and `self::` path (grouped `use` trees included) outside `#[cfg(test)] mod tests` and outside
//! comments, resolved to the longest module prefix that is a file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, bottom first. A module may import a module of a layer with a lower rank, or of
/// its own layer; two layers of the same rank (`tls` and `report`) may not import each other.
const LAYERS: &[(&str, u8)] = &[
    ("vocab", 0),
    ("contract", 1),
    ("tls", 2),
    ("report", 2),
    ("measure", 3),
    ("run", 4),
    ("exec", 5),
    ("cli", 6),
];

/// A module path, as segments under `crate` (`["run", "load"]`); the crate root is empty.
type Module = Vec<String>;

fn module_of(rel: &Path) -> Module {
    let mut segs: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    if matches!(
        segs.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        segs.pop();
    }
    segs
}

/// The text the compiler resolves imports from, without comments (so that doc links to other
/// modules are not imports); without the unit tests unless `with_tests`.
fn code(text: &str, with_tests: bool) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !with_tests
            && line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        let kept = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(kept);
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path that starts with `crate`, `super` or `self`, with grouped `use` trees expanded:
/// `crate::a::{b, c::{d, e}}` gives `crate::a::b`, `crate::a::c::d`, `crate::a::c::e`.
fn paths(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let at_word = i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':');
        if at_word {
            for root in ["crate", "super", "self"] {
                let r: Vec<char> = root.chars().collect();
                let end = i + r.len();
                if chars.get(i..end) == Some(&r[..]) && chars.get(end..end + 2) == Some(&[':', ':'])
                {
                    let mut next = i;
                    tree(&chars, &mut next, Vec::new(), &mut found);
                    i = next.max(i + 1);
                    break;
                }
            }
        }
        i += 1;
    }
    found
}

/// Reads one use tree at `*i`, whose segments so far are `prefix`, into `out`.
fn tree(chars: &[char], i: &mut usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
            *i += 1;
        }
        if chars.get(*i) == Some(&'{') {
            *i += 1;
            loop {
                while chars
                    .get(*i)
                    .is_some_and(|c| c.is_whitespace() || *c == ',')
                {
                    *i += 1;
                }
                match chars.get(*i) {
                    None => return,
                    Some('}') => {
                        *i += 1;
                        return;
                    }
                    _ => {
                        let before = *i;
                        tree(chars, i, prefix.clone(), out);
                        if *i == before {
                            *i += 1;
                        }
                    }
                }
            }
        }
        let start = *i;
        while chars.get(*i).is_some_and(|c| is_ident(*c)) {
            *i += 1;
        }
        if *i == start {
            break;
        }
        let seg: String = chars[start..*i].iter().collect();
        prefix.push(seg);
        if chars.get(*i..*i + 2) == Some(&[':', ':']) {
            *i += 2;
        } else {
            break;
        }
    }
    out.push(prefix);
}

/// The module a path names: its longest prefix that is a module file.
fn resolve(from: &Module, path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let mut base: Module = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self") => from.clone(),
        Some("super") => {
            // In `a/b.rs` and in `a/b/mod.rs` (both module a::b) `super` is `a`.
            let mut b = from.clone();
            b.pop();
            b
        }
        _ => return None,
    };
    let mut rest = &path[1..];
    while let Some(seg) = rest.first() {
        match seg.as_str() {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    // `super::Ctx` names the module `super` itself when `Ctx` is an item in it.
    for k in (0..=rest.len()).rev() {
        let mut m = base.clone();
        m.extend(rest[..k].iter().cloned());
        if !m.is_empty() && modules.contains(&m) {
            return Some(m);
        }
    }
    None
}

/// The module graph of the crate whose sources are `files` (path under `src`, text); with
/// `with_tests`, the unit tests' imports count too.
fn graph_of(
    files: &BTreeMap<String, String>,
    with_tests: bool,
) -> BTreeMap<Module, BTreeSet<Module>> {
    let modules: BTreeSet<Module> = files.keys().map(|p| module_of(Path::new(p))).collect();
    let mut edges = BTreeMap::new();
    for (path, text) in files {
        let from = module_of(Path::new(path));
        let to: BTreeSet<Module> = paths(&code(text, with_tests))
            .iter()
            .filter_map(|p| resolve(&from, p, &modules))
            .filter(|m| *m != from && !m.is_empty())
            .collect();
        edges.insert(from, to);
    }
    edges
}

/// The module graph without the unit tests (what the crate itself imports).
fn graph(files: &BTreeMap<String, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    graph_of(files, false)
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

fn rank(m: &Module) -> Option<u8> {
    let top = m.first()?;
    LAYERS.iter().find(|(l, _)| l == top).map(|(_, r)| *r)
}

/// Imports that point up or sideways between layers, and modules outside every layer.
fn layer_violations(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    let mut bad = Vec::new();
    for (from, tos) in edges {
        if from.is_empty() {
            continue;
        }
        let Some(rf) = rank(from) else {
            bad.push(format!(
                "{} is in no layer (add its folder to LAYERS)",
                name(from)
            ));
            continue;
        };
        for to in tos {
            let Some(rt) = rank(to) else { continue };
            if from[0] != to[0] && rt >= rf {
                bad.push(format!(
                    "{} (layer {}) imports {} (layer {}): imports point down",
                    name(from),
                    from[0],
                    name(to),
                    to[0]
                ));
            }
        }
    }
    bad
}

/// Every set of two or more modules that import each other (Tarjan's strongly connected
/// components), each as sorted names.
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on: BTreeSet<&'a Module>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(name(w));
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.found.push(comp);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

fn read_sources(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_sources(&p, root, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p
                .strip_prefix(root)
                .expect("under src")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            out.insert(rel, text);
        }
    }
}

fn crate_sources() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    read_sources(&src, &src, &mut files);
    files
}

#[test]
fn imports_point_down_and_no_module_cycle() {
    let edges = graph(&crate_sources());
    let imports: usize = edges.values().map(BTreeSet::len).sum();
    assert!(
        edges.len() > 40 && imports > 150,
        "the source read found too little ({} modules, {imports} imports): the reader is broken",
        edges.len()
    );
    let bad = layer_violations(&edges);
    assert!(
        bad.is_empty(),
        "imports against the layers:\n{}",
        bad.join("\n")
    );
    let loops = cycles(&edges);
    assert!(loops.is_empty(), "import cycles:\n{loops:#?}");
}

#[test]
fn unit_tests_use_only_what_their_module_may_use() {
    // A test next to the code builds its fixtures from its own layer and below (a run test
    // builds a RunPlan, it does not parse a command line).
    let bad = layer_violations(&graph_of(&crate_sources(), true));
    assert!(
        bad.is_empty(),
        "unit tests importing against the layers:\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_source_file_is_under_500_lines() {
    // ARCHITECTURE.md, "Layers": a file over 500 lines holds more than one job; split it.
    let long: Vec<String> = crate_sources()
        .iter()
        .map(|(p, t)| (p, t.lines().count()))
        .filter(|(_, n)| *n > 500)
        .map(|(p, n)| format!("{p}: {n} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "files over 500 lines:\n{}",
        long.join("\n")
    );
}

/// The checks on small made-up crates, so that each is seen to fail on what it must refuse.
mod the_checks_themselves {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn an_upward_import_is_refused() {
        let g = graph(&files(&[
            ("vocab/mode.rs", "use crate::run::load::Clock;"),
            ("run/load.rs", "pub struct Clock;"),
        ]));
        let bad = layer_violations(&g);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].starts_with("vocab::mode (layer vocab) imports run::load"),
            "{bad:?}"
        );
    }

    #[test]
    fn a_sideways_import_between_equal_ranks_is_refused() {
        let g = graph(&files(&[
            (
                "tls/server.rs",
                "fn f() { crate::report::table::render(); }",
            ),
            ("report/table.rs", "pub fn render() {}"),
        ]));
        assert_eq!(layer_violations(&g).len(), 1);
    }

    #[test]
    fn a_downward_import_and_a_comment_pass() {
        let g = graph(&files(&[
            ("run/load.rs", "use crate::{vocab::{mode::Mode, clock}, contract::wire};\n/// [`crate::cli::args`]\nfn f() {}"),
            ("vocab/mode.rs", ""),
            ("vocab/clock.rs", ""),
            ("contract/wire.rs", ""),
            ("cli/args.rs", ""),
        ]));
        assert!(layer_violations(&g).is_empty());
        let load: Module = vec!["run".into(), "load".into()];
        assert_eq!(g[&load].len(), 3, "{:?}", g[&load]);
    }

    #[test]
    fn a_cycle_through_super_is_found_and_tests_are_not_read() {
        let g = graph(&files(&[
            ("run/load/mod.rs", "mod real;\nfn f() { self::real::go() }\npub struct Ctx;"),
            ("run/load/real.rs", "use super::Ctx;\npub fn go() {}\n#[cfg(test)]\nmod tests {\n    use crate::cli::args;\n}"),
            ("cli/args.rs", ""),
        ]));
        assert_eq!(
            cycles(&g),
            vec![vec!["run::load".to_string(), "run::load::real".to_string()]]
        );
        assert!(
            layer_violations(&g).is_empty(),
            "the test module's import is not read"
        );
    }

    #[test]
    fn a_folder_outside_the_layers_is_named() {
        let g = graph(&files(&[("misc/util.rs", "")]));
        assert_eq!(layer_violations(&g).len(), 1);
    }
}
