//! The repository is self-contained: no tracked file points a reader at a document outside it. Sluice was
//! designed from research notes that are not part of the repository; what a contributor needs of them is in
//! docs/ in the project's own words, with public URLs. A comment or doc that names one of those notes
//! (or a path out of the checkout) sends the reader nowhere, so this test lists every such line.
//!
//! It reads `git ls-files` from the workspace root, so it needs git, and fails (rather than passing
//! vacuously) when it cannot run it or finds no files. This file names the patterns, so it is not searched.

use std::path::{Path, PathBuf};
use std::process::Command;

/// This test's own path from the workspace root: it holds every pattern, and is the one file not searched.
const THIS_FILE: &str = "tests/self_contained.rs";

/// Names of the outside notes, and where their content lives in the repository now.
const OUTSIDE_FILES: &[(&str, &str)] = &[
    ("DESIGN.md", "docs/architecture.md"),
    ("STYLE.md", "docs/decisions.md"),
    (
        "codepipeline-api.md",
        "docs/codepipeline.md (or docs/validation.md for the rules S1-S22)",
    ),
    ("anchors.md", "the public source it cites (a URL)"),
    ("asl-peers.md", "the public source it cites (a URL)"),
    (
        "rust-toolchain.md",
        "the public source it cites, or our own words",
    ),
    ("000_ec5508", "examples/README.md"),
];

/// Phrases that name the outside overview document the examples were first taken from.
const OUTSIDE_PHRASES: &[&str] = &["the seed", "seed's", "seed pattern", "seed document"];

/// Uses of "seed" that are about a random seed (States.MathRandom's third argument), not the document.
const RANDOM_SEED: &[&str] = &["the seed value", "the seed is rounded"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is a folder of the workspace")
        .to_path_buf()
}

fn tracked_files(root: &Path) -> Vec<String> {
    let output = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .expect("git runs (this test lists the tracked files with `git ls-files`)");
    assert!(
        output.status.success(),
        "git ls-files in {}: {}",
        root.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let files: Vec<String> = output
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect();
    assert!(
        files.len() > 100,
        "git ls-files listed {} files; is {} the checkout?",
        files.len(),
        root.display()
    );
    files
}

/// Whether `c` can continue a word, a path or an address (so a match next to it is part of something else).
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every outside reference on one line, each as (what was found, where its content is now).
fn outside_references(root: &Path, line: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let lower = line.to_lowercase();
    for (name, instead) in OUTSIDE_FILES {
        if lower.contains(&name.to_lowercase()) {
            found.push(((*name).to_string(), (*instead).to_string()));
        }
    }
    for phrase in OUTSIDE_PHRASES {
        for (at, _) in lower.match_indices(phrase) {
            let before = lower[..at].chars().next_back();
            let after = lower[at + phrase.len()..].chars().next();
            let whole_word = !before.is_some_and(is_word) && !after.is_some_and(is_word);
            let random = RANDOM_SEED.iter().any(|r| lower[at..].starts_with(r));
            if whole_word && !random {
                found.push((
                    (*phrase).to_string(),
                    "the example described in our own words (examples/README.md)".to_string(),
                ));
            }
        }
    }
    // `reference/` starting a path (not inside a URL such as `…/latest/reference/…`).
    for (at, _) in line.match_indices("reference/") {
        let before = line[..at].chars().next_back();
        if !before.is_some_and(|c| is_word(c) || matches!(c, '/' | '-' | '.')) {
            found.push((
                "reference/".to_string(),
                "docs/, or the public source it cites".to_string(),
            ));
        }
    }
    // `../shared/<x>` is ours when <x> is one of the repository's shared crates (a path from cli/ or
    // tests/); anything else under that name is the outside notes' folder.
    for (at, _) in line.match_indices("../shared") {
        let segment: String = line[at + "../shared".len()..]
            .trim_start_matches('/')
            .chars()
            .take_while(|c| is_word(*c) || *c == '-')
            .collect();
        let ours = !segment.is_empty() && root.join("shared").join(&segment).is_dir();
        if !ours {
            found.push((
                format!("../shared/{segment}"),
                "docs/, or the public source it cites".to_string(),
            ));
        }
    }
    // An absolute path under /work (where the notes were kept), not `<data-dir>/work/`.
    for (at, _) in line.match_indices("/work/") {
        let before = line[..at].chars().next_back();
        if before.is_none_or(|c| c.is_whitespace() || matches!(c, '`' | '"' | '\'' | '(')) {
            found.push((
                "/work/".to_string(),
                "a path inside the repository".to_string(),
            ));
        }
    }
    found
}

#[test]
fn no_tracked_file_refers_to_a_document_outside_the_repository() {
    let root = workspace_root();
    let mut offenders = Vec::new();
    let mut searched = 0;
    for file in tracked_files(&root) {
        if file == THIS_FILE {
            continue;
        }
        let Ok(bytes) = std::fs::read(root.join(&file)) else {
            continue; // listed but deleted in the working tree
        };
        searched += 1;
        let text = String::from_utf8_lossy(&bytes);
        for (number, line) in text.lines().enumerate() {
            for (what, instead) in outside_references(&root, line) {
                offenders.push(format!(
                    "{file}:{}: {what:?} is outside the repository; what it gave is in {instead}",
                    number + 1
                ));
            }
        }
    }
    assert!(searched > 100, "only {searched} files were read");
    assert!(
        offenders.is_empty(),
        "{} references to documents outside the repository:\n{}",
        offenders.len(),
        offenders.join("\n")
    );
}

#[test]
fn the_patterns_find_what_they_are_for_and_leave_the_rest() {
    let root = workspace_root();
    let found = |line: &str| -> Vec<String> {
        outside_references(&root, line)
            .into_iter()
            .map(|(what, _)| what)
            .collect()
    };
    assert_eq!(found("see DESIGN.md §3"), ["DESIGN.md"]);
    assert_eq!(
        found("(codepipeline-api.md §5.11)"),
        ["codepipeline-api.md"]
    );
    assert_eq!(
        found("Sources: reference/anchors.md §4.5"),
        ["anchors.md", "reference/"]
    );
    assert_eq!(
        found("(../shared/reference/rust-toolchain.md §2)"),
        ["rust-toolchain.md", "../shared/reference"]
    );
    assert_eq!(
        found("read /work/shared/DESIGN.md"),
        ["DESIGN.md", "/work/"]
    );
    assert!(found("<data-dir>/work/<action execution id>/").is_empty());
    assert_eq!(
        found("runs the seed's first pattern"),
        ["the seed", "seed's"]
    );
    assert_eq!(found("as The seed shows"), ["the seed"]);
    assert_eq!(found("# simple-web-app (seed pattern 1)"), ["seed pattern"]);
    assert!(found("\"/../shared/core/tests/golden\"").is_empty());
    assert!(found("https://docs.aws.amazon.com/cli/latest/reference/codepipeline/").is_empty());
    assert!(found("// DG MathRandom: \"The seed value argument is optional.\"").is_empty());
    assert!(found("from a seeded generator; examples/seed-mywebapp/").is_empty());
    assert!(found("fn the_seeds_commands_work_verbatim_against_sluice_serve()").is_empty());
}
