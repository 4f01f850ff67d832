//! The layer rule of src/lib.rs: a module uses only modules of the layers listed before its own. The list
//! is read from lib.rs itself, so the rule and its check cannot drift apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// The layer of each top-level module, from the numbered list of lib.rs's documentation.
fn layers(lib: &str) -> BTreeMap<String, usize> {
    let mut layers = BTreeMap::new();
    for line in lib.lines() {
        let Some(item) = line.strip_prefix("//! ") else {
            continue;
        };
        let Some((number, rest)) = item.split_once(". ") else {
            continue;
        };
        let Ok(layer) = number.trim().parse::<usize>() else {
            continue;
        };
        let names = rest.split(':').next().unwrap_or_default();
        for name in names.split(',') {
            let name = name.trim().trim_matches('`');
            assert!(
                layers.insert(name.to_string(), layer).is_none(),
                "lib.rs lists module {name} twice"
            );
        }
    }
    layers
}

/// Every `crate::<module>` a line of code names (comments are not code: a doc link may point anywhere).
fn used_modules(line: &str) -> Vec<&str> {
    let code = match line.find("//") {
        Some(at) => &line[..at],
        None => line,
    };
    code.match_indices("crate::")
        .filter(|(at, _)| {
            // `sluice_crate::` or `my_crate::` is not this crate.
            !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            let rest = &code[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The upward (or sideways) uses in one file of module `module`: (line number, used module).
fn violations(layers: &BTreeMap<String, usize>, module: &str, text: &str) -> Vec<(usize, String)> {
    let own = layers[module];
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        for used in used_modules(line) {
            if used == module {
                continue;
            }
            match layers.get(used) {
                Some(&layer) if layer < own => {}
                _ => found.push((number + 1, used.to_string())),
            }
        }
    }
    found
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn no_module_uses_one_of_its_own_layer_or_below() {
    let lib = std::fs::read_to_string(Path::new(SRC).join("lib.rs")).unwrap();
    let layers = layers(&lib);
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let mut broken = Vec::new();
    for file in files {
        let relative = file.strip_prefix(SRC).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if module == "lib" {
            continue;
        }
        assert!(
            layers.contains_key(&module),
            "module {module} is in no layer of lib.rs's list"
        );
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, used) in violations(&layers, &module, &text) {
            broken.push(format!(
                "src/{}:{line}: {module} (layer {}) uses {used} (layer {})",
                relative.display(),
                layers[&module],
                layers
                    .get(&used)
                    .map_or("none".to_string(), |l| l.to_string())
            ));
        }
    }
    assert!(broken.is_empty(), "layers broken:\n{}", broken.join("\n"));
}

#[test]
fn every_declared_module_is_in_the_list_and_the_list_names_no_other() {
    let lib = std::fs::read_to_string(Path::new(SRC).join("lib.rs")).unwrap();
    let layers = layers(&lib);
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let mut listed: Vec<&str> = layers.keys().map(String::as_str).collect();
    let mut sorted = declared.clone();
    sorted.sort();
    listed.sort();
    assert_eq!(sorted, listed);
}

#[test]
fn the_check_finds_an_upward_use_and_a_sideways_one_and_ignores_comments() {
    let layers = layers("//! 1. `record`: types\n//! 2. `port`, `builders`: traits\n");
    assert_eq!(
        violations(&layers, "record", "use crate::port::Store;\n"),
        [(1, "port".to_string())]
    );
    assert_eq!(
        violations(&layers, "port", "fn f() { crate::builders::x(); }\n"),
        [(1, "builders".to_string())]
    );
    assert!(
        violations(
            &layers,
            "port",
            "use crate::record::X; // crate::builders\n"
        )
        .is_empty()
    );
    assert!(
        violations(
            &layers,
            "builders",
            "/// see [`crate::port::X`]\nuse sluice_crate::port::y;\n"
        )
        .is_empty()
    );
}

/// The store's record writes, which only the recorder makes: each announces the status it writes.
const RECORD_WRITES: &[&str] = &[
    ".create_execution(",
    ".update_execution(",
    ".put_stage_execution(",
    ".put_action_execution(",
];

#[test]
fn every_execution_stage_and_action_record_is_written_by_the_recorder() {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let mut writers = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(SRC)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        // The ports declare the writes; the adapters in memory and the contract suites make them.
        if relative == "recorder.rs"
            || relative.starts_with("port")
            || relative.starts_with("contract")
            || relative == "memory.rs"
        {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            if RECORD_WRITES.iter().any(|write| line.contains(write)) {
                writers.push(format!("src/{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        writers.is_empty(),
        "records written around the recorder:\n{}",
        writers.join("\n")
    );
}
