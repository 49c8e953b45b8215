//! The house in layers (ARCHITECTURE.md): every module of `harness/src` imports only
//! modules of its own layer or of a layer below it, and no set of modules imports each other in
//! a cycle. Read from the sources parsed as the compiler parses them (`syn`): every `crate::`,
//! `super::` and `self::` path of a `use` tree, an expression, a type or a macro's tokens,
//! outside `#[cfg(test)]` modules, resolved to the longest module prefix that is a file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::{self, Visit};

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
    ("survey", 6),
    ("cli", 7),
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

/// Collects the paths of a file, as segments.
struct Paths {
    with_tests: bool,
    found: Vec<Vec<String>>,
}

const ROOTS: [&str; 3] = ["crate", "super", "self"];

impl Paths {
    /// A `use` tree, grouped trees expanded: `crate::a::{b, c::{d, e}}` gives `crate::a::b`,
    /// `crate::a::c::d`, `crate::a::c::e`.
    fn tree(&mut self, mut prefix: Vec<String>, tree: &syn::UseTree) {
        let last = match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                return self.tree(prefix, &p.tree);
            }
            syn::UseTree::Group(g) => {
                return g.items.iter().for_each(|t| self.tree(prefix.clone(), t));
            }
            syn::UseTree::Name(n) => Some(&n.ident),
            syn::UseTree::Rename(r) => Some(&r.ident),
            syn::UseTree::Glob(_) => None,
        };
        prefix.extend(last.map(ToString::to_string));
        self.found.push(prefix);
    }

    /// A macro's tokens, which `syn` leaves unparsed: every `a::b::c` run in them.
    fn tokens(&mut self, tokens: TokenStream) {
        let tts: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < tts.len() {
            match &tts[i] {
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Ident(id) => {
                    let mut path = vec![id.to_string()];
                    while let [TokenTree::Punct(a), TokenTree::Punct(b), TokenTree::Ident(seg), ..] =
                        &tts[(i + 1).min(tts.len())..]
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        path.push(seg.to_string());
                        i += 3;
                    }
                    self.found.push(path);
                }
                _ => {}
            }
            i += 1;
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let cfg_test = m.attrs.iter().any(|a| {
            a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
        });
        if self.with_tests || !cfg_test {
            visit::visit_item_mod(self, m);
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.tree(Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.found.push(segs);
        visit::visit_path(self, p);
    }

    /// `pub(super)` and `pub(in crate::a)` say who may see an item; they import nothing.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    /// An attribute's arguments, e.g. `#[error("{}", crate::a::B)]`.
    fn visit_attribute(&mut self, a: &'ast syn::Attribute) {
        if let syn::Meta::List(l) = &a.meta {
            self.tokens(l.tokens.clone());
        }
        visit::visit_attribute(self, a);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        visit::visit_macro(self, m);
    }
}

/// Every rooted path of one source file; with `with_tests`, its `#[cfg(test)]` modules' too.
fn paths(text: &str, with_tests: bool) -> Result<Vec<Vec<String>>, syn::Error> {
    let file = syn::parse_file(text)?;
    let mut v = Paths {
        with_tests,
        found: Vec::new(),
    };
    v.visit_file(&file);
    v.found
        .retain(|p| p.first().is_some_and(|s| ROOTS.contains(&s.as_str())));
    Ok(v.found)
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
        let found = paths(text, with_tests).unwrap_or_else(|e| panic!("{path}: {e}"));
        let to: BTreeSet<Module> = found
            .iter()
            .filter_map(|p| resolve(&from, p, &modules))
            .filter(|m| *m != from && !m.is_empty())
            .collect();
        edges.insert(from, to);
    }
    edges
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

/// Every set of two or more modules that import each other (each reaches the others), each
/// as sorted names.
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<String>> {
    let reaches: BTreeMap<&Module, BTreeSet<&Module>> = edges
        .keys()
        .map(|from| {
            let (mut seen, mut todo) = (BTreeSet::new(), vec![from]);
            while let Some(m) = todo.pop() {
                todo.extend(
                    edges
                        .get(m)
                        .into_iter()
                        .flatten()
                        .filter(|to| seen.insert(*to)),
                );
            }
            (from, seen)
        })
        .collect();
    let mut found = BTreeSet::new();
    for (m, r) in &reaches {
        let mut set: Vec<String> = r
            .iter()
            .filter(|w| reaches.get(*w).is_some_and(|back| back.contains(m)))
            .map(|w| name(w))
            .collect();
        set.sort();
        if set.len() > 1 {
            found.insert(set);
        }
    }
    found.into_iter().collect()
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
    let edges = graph_of(&crate_sources(), false);
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

/// The checks on small made-up crates, so that each is seen to fail on what it must refuse.
mod the_checks_themselves {
    use super::*;

    fn graph(list: &[(&str, &str)]) -> BTreeMap<Module, BTreeSet<Module>> {
        let files = list.iter().map(|(p, t)| (p.to_string(), t.to_string()));
        graph_of(&files.collect(), false)
    }

    #[test]
    fn an_upward_import_is_refused() {
        let g = graph(&[
            ("vocab/mode.rs", "use crate::run::load::Clock;"),
            ("run/load.rs", "pub struct Clock;"),
        ]);
        let bad = layer_violations(&g);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].starts_with("vocab::mode (layer vocab) imports run::load"),
            "{bad:?}"
        );
    }

    #[test]
    fn a_sideways_import_between_equal_ranks_is_refused() {
        let g = graph(&[
            (
                "tls/server.rs",
                "fn f() { crate::report::table::render(); }",
            ),
            ("report/table.rs", "pub fn render() {}"),
        ]);
        assert_eq!(layer_violations(&g).len(), 1);
    }

    #[test]
    fn a_downward_import_and_a_comment_pass() {
        let g = graph(&[
            ("run/load.rs", "use crate::{vocab::{mode::Mode, clock}, contract::wire};\n/// [`crate::cli::args`]\nfn f() {}"),
            ("vocab/mode.rs", ""),
            ("vocab/clock.rs", ""),
            ("contract/wire.rs", ""),
            ("cli/args.rs", ""),
        ]);
        assert!(layer_violations(&g).is_empty());
        let load: Module = vec!["run".into(), "load".into()];
        assert_eq!(g[&load].len(), 3, "{:?}", g[&load]);
    }

    #[test]
    fn a_cycle_through_super_is_found_and_tests_are_not_read() {
        let g = graph(&[
            ("run/load/mod.rs", "mod real;\nfn f() { self::real::go() }\npub struct Ctx;"),
            ("run/load/real.rs", "use super::Ctx;\npub fn go() {}\n#[cfg(test)]\nmod tests {\n    use crate::cli::args;\n}"),
            ("cli/args.rs", ""),
        ]);
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
    fn a_string_holding_slashes_and_an_attribute_hide_no_import() {
        let g = graph(&[
            (
                "vocab/mode.rs",
                "const U: &str = \"https://x\"; fn f() { crate::run::load::go() }\n\
                 #[error(\"{}\", crate::cli::args::X)] struct E;",
            ),
            ("run/load.rs", ""),
            ("cli/args.rs", ""),
        ]);
        assert_eq!(layer_violations(&g).len(), 2, "{g:?}");
    }

    #[test]
    fn a_folder_outside_the_layers_is_named() {
        let g = graph(&[("misc/util.rs", "")]);
        assert_eq!(layer_violations(&g).len(), 1);
    }
}
