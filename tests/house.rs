//! The shape of the house (issue 20), held as tests so that it stays the shape: each operation
//! named in at most three production files, no wildcard arm choosing a permission, no production
//! file longer than 500 lines before its tests, every module importing only modules below it, and
//! a domain that names no adapter, no Lambda and no terminal.
//!
//! "Production" is `src/` without comment lines and without `#[cfg(test)]` items. The reading is
//! textual on purpose: it needs no parser and fails loudly when the code takes a shape it does not
//! know (an operation list it cannot read, a module missing from the layer table).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mdi_sensor_key::operations::DECLARATIONS;

const LONGEST_PRODUCTION_FILE: usize = 500;
const MOST_FILES_NAMING_AN_OPERATION: usize = 3;

/// The library's top-level modules, lowest first: a module may import only modules of a lower
/// layer. A new module must take its place here before the test passes, which is the point.
const LAYERS: &[&[&str]] = &[
    // Machinery and leaves: no crate imports at all.
    &[
        "problem",
        "cloud",
        "deadline",
        "tls",
        "logging",
        "metrics",
        "access",
        "candidates",
        "gate",
        "bounded_file",
        "door",
    ],
    // Upstream errors and what they mean to a caller.
    &["upstream"],
    // The Secrets Manager port and its adapter; the certificate parser.
    &["secrets", "certificate"],
    // The key domain over the secrets port; federation's token exchange.
    &["keys", "federation"],
    // Domain over keys; the Graph app's credentials.
    &["rotation", "sensors", "credentials"],
    // What a caller may ask for; the Graph adapter; the settings.
    &["operations", "graph", "config"],
    // The wiring of a cold start.
    &["app"],
    // The Lambda adapter.
    &["handler"],
];

/// Modules of the domain: they know nothing of Lambda, terminals, HTTP clients or AWS SDKs, and
/// reach Graph and Secrets Manager only through their ports.
const DOMAIN: &[&str] = &[
    "keys",
    "rotation",
    "sensors",
    "candidates",
    "operations",
    "access",
    "deadline",
];

/// What the domain must not name (the ports' implementations and the front ends' crates).
const ADAPTERS: &[&str] = &[
    "crate::handler",
    "crate::app",
    "crate::graph",
    "crate::config",
    "crate::credentials",
    "crate::federation",
    "crate::secrets::aws",
    "crate::secrets::http",
    "lambda_http",
    "lambda_runtime",
    "aws_sdk_",
    "aws_config",
    "reqwest",
    "clap",
    "indicatif",
];

#[test]
fn every_operation_is_named_in_at_most_three_production_files() {
    let sources = production_sources();
    let operations = declared_operations(&sources);
    assert_eq!(
        operations.len(),
        DECLARATIONS.len(),
        "the operations! list in src/operations/mod.rs and DECLARATIONS disagree: {operations:?}"
    );
    for (variant, module) in &operations {
        let naming: Vec<&PathBuf> = sources
            .iter()
            .filter(|(path, code)| names_operation(path, code, variant, module))
            .map(|(path, _)| path)
            .collect();
        assert!(
            naming.len() <= MOST_FILES_NAMING_AN_OPERATION,
            "{variant} is named in {} production files: {naming:?}",
            naming.len()
        );
        assert!(
            !naming.is_empty(),
            "{variant} is not found at all: the test no longer reads the code"
        );
    }
}

#[test]
fn every_operation_module_is_in_the_operations_list_and_formatted_by_cargo_fmt() {
    let sources = production_sources();
    let listed: BTreeSet<String> = declared_operations(&sources)
        .into_iter()
        .map(|(_, module)| module)
        .collect();
    let list = std::fs::read_to_string(root().join("src/operations/mod.rs")).expect("src/operations/mod.rs");
    // `pub mod` lines outside the macro: rustfmt formats only the modules it sees declared.
    let declared: BTreeSet<String> = list
        .lines()
        .filter_map(|line| line.strip_prefix("pub mod "))
        .map(|name| name.trim_end_matches(';').to_owned())
        .collect();
    assert_eq!(
        declared, listed,
        "src/operations/mod.rs: the `pub mod` lines and the operations! list"
    );
    let files: BTreeSet<String> = std::fs::read_dir(root().join("src/operations"))
        .expect("src/operations")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_owned))
        .filter(|name| !["mod", "answers", "declaration", "request"].contains(&name.as_str()))
        .collect();
    assert_eq!(
        files, listed,
        "a file in src/operations/ that is not an operation of the list"
    );
}

#[test]
fn no_wildcard_arm_chooses_a_permission() {
    for (path, code) in production_sources() {
        let lines: Vec<&str> = code.lines().map(str::trim).collect();
        for (index, line) in lines.iter().enumerate() {
            let Some(arm) = line.find("_ =>") else {
                continue;
            };
            let rest = &line[arm..];
            let next = lines[index + 1..]
                .iter()
                .find(|line| !line.is_empty())
                .copied()
                .unwrap_or_default();
            let chooses_a_permission =
                rest.contains("Permission") || (rest.ends_with("=>") && next.contains("Permission"));
            assert!(
                !chooses_a_permission,
                "{}: a wildcard arm chooses a permission: {line}",
                path.display()
            );
        }
    }
}

#[test]
fn no_production_file_is_longer_than_500_lines_before_its_tests() {
    let long: Vec<String> = production_sources()
        .iter()
        .filter(|(_, code)| code.lines().count() > LONGEST_PRODUCTION_FILE)
        .map(|(path, code)| format!("{} ({} lines)", path.display(), code.lines().count()))
        .collect();
    assert!(long.is_empty(), "longer than {LONGEST_PRODUCTION_FILE} lines: {long:?}");
}

#[test]
fn every_module_imports_only_modules_of_a_lower_layer() {
    let layer_of: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(layer, modules)| modules.iter().map(move |module| (*module, layer)))
        .collect();
    let mut upward = Vec::new();
    for (module, imports) in module_imports() {
        let Some(&layer) = layer_of.get(module.as_str()) else {
            panic!("src/{module} has no place in LAYERS (tests/house.rs): give it one");
        };
        for imported in imports {
            let Some(&imported_layer) = layer_of.get(imported.as_str()) else {
                panic!("{module} imports crate::{imported}, which has no place in LAYERS");
            };
            if imported_layer >= layer {
                upward.push(format!(
                    "{module} (layer {layer}) imports {imported} (layer {imported_layer})"
                ));
            }
        }
    }
    assert!(upward.is_empty(), "imports that do not go down: {upward:#?}");
}

#[test]
fn the_layer_table_holds_every_module_of_the_library() {
    let declared: BTreeSet<&str> = LAYERS.iter().flat_map(|modules| modules.iter().copied()).collect();
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).expect("src/lib.rs");
    let modules: BTreeSet<&str> = lib
        .lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix("pub mod ")
                .or_else(|| line.trim().strip_prefix("pub(crate) mod "))
        })
        .map(|name| name.trim_end_matches(';'))
        .collect();
    assert!(
        modules.len() > 10,
        "src/lib.rs no longer reads as a module list: {modules:?}"
    );
    assert_eq!(modules, declared, "src/lib.rs's modules and LAYERS disagree");
}

#[test]
fn the_domain_names_no_adapter_no_lambda_and_no_terminal() {
    let mut found = Vec::new();
    for (path, code) in production_sources() {
        let Some(module) = top_module(&path) else {
            continue;
        };
        if !DOMAIN.contains(&module.as_str()) {
            continue;
        }
        for adapter in ADAPTERS {
            if code.contains(adapter) {
                found.push(format!("{} names {adapter}", path.display()));
            }
        }
    }
    assert!(found.is_empty(), "the domain stands on adapters: {found:#?}");
}

/// The `Variant => module,` lines of the `operations!` list.
fn declared_operations(sources: &[(PathBuf, String)]) -> Vec<(String, String)> {
    let (_, list) = sources
        .iter()
        .find(|(path, _)| path.ends_with("src/operations/mod.rs"))
        .expect("src/operations/mod.rs");
    let start = list.find("operations! {").expect("the operations! list");
    list[start..]
        .lines()
        .skip(1)
        .take_while(|line| line.trim() != "}")
        .filter_map(|line| {
            let (variant, module) = line.trim().trim_end_matches(',').split_once(" => ")?;
            Some((variant.to_owned(), module.to_owned()))
        })
        .collect()
}

/// Whether a production file names the operation: its own file, a path through its module, the
/// `Operation::Variant` constructor, or its line in the list. A permission or a key-service method
/// that happens to share a word with it is not the operation.
fn names_operation(path: &Path, code: &str, variant: &str, module: &str) -> bool {
    path.file_stem().is_some_and(|stem| stem == module)
        || contains_word(code, &format!("{module}::"))
        || contains_word(code, &format!("Operation::{variant}"))
        || code.contains(&format!("{variant} => {module},"))
}

fn contains_word(code: &str, needle: &str) -> bool {
    code.match_indices(needle).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + needle.len()..].chars().next();
        let is_ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !is_ident(before) && (needle.ends_with("::") || !is_ident(after))
    })
}

/// Each library module's `crate::` imports (production code only), by top-level module.
fn module_imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, code) in production_sources() {
        let Some(module) = top_module(&path) else {
            continue;
        };
        let entry = imports.entry(module.clone()).or_default();
        for imported in crate_paths(&code) {
            if imported != module {
                entry.insert(imported);
            }
        }
    }
    imports
}

/// The first segment of every `crate::` path, `crate::{a, b::c}` groups included.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue; // `mdi_sensor_key::...` or another crate's name ending in "crate"
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut part_start = true;
            for (index, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => part_start = true,
                    c if part_start && (c.is_alphanumeric() || c == '_') => {
                        found.insert(leading_ident(&group[index..]));
                        part_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(leading_ident(rest));
        }
    }
    found.retain(|name| !name.is_empty());
    found
}

fn leading_ident(text: &str) -> String {
    text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// `src/x.rs` and `src/x/...` belong to module `x`; `lib.rs` and the binaries to none.
fn top_module(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root().join("src")).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "bin" => None,
        file => Some(file.trim_end_matches(".rs").to_owned()),
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `src/` as production code: comment lines and `#[cfg(test)]` items cut.
fn production_sources() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    collect_rust_files(&root().join("src"), &mut files);
    files.sort();
    assert!(files.len() > 20, "src/ holds only {} files", files.len());
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a source file");
            let code = production_code(&text);
            (path, code)
        })
        .collect()
}

fn collect_rust_files(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).expect("a source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// The file without comment lines and without the items under `#[cfg(test)]` (an item ends at
/// the brace that closes its first, or at its `;` when it has no body).
fn production_code(text: &str) -> String {
    let mut kept = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            let mut depth = 0i64;
            let mut opened = false;
            for item in lines.by_ref() {
                let code = item.split("//").next().unwrap_or_default();
                depth += code.matches('{').count() as i64 - code.matches('}').count() as i64;
                opened |= code.contains('{');
                if (opened && depth <= 0) || (!opened && code.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        kept.push(line);
    }
    kept.join("\n")
}

#[test]
fn the_reader_cuts_test_items_and_comments_and_finds_grouped_imports() {
    let text = "//! header\nuse crate::{a::B, c, d::{e, f}};\nfn x() { crate::g::h(); }\n#[cfg(test)]\nmod tests {\n    use crate::z;\n    fn t() { if true { } }\n}\n#[cfg(test)]\nuse crate::y;\nfn after() {}\n";
    let code = production_code(text);
    assert_eq!(code.lines().count(), 3, "{code}");
    assert!(code.contains("fn after"));
    let paths: Vec<String> = crate_paths(&code).into_iter().collect();
    assert_eq!(paths, ["a", "c", "d", "g"]);
    assert!(contains_word("use x::read_key::Input;", "read_key::"));
    assert!(!contains_word("KeyService::unread_key::x", "read_key::"));
    assert!(contains_word("Operation::ReadKey(())", "Operation::ReadKey"));
    assert!(!contains_word("Operation::ReadKeyLater", "Operation::ReadKey"));
}
