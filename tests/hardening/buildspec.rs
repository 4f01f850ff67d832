//! Buildspecs (from a source, `sluice.json` or a Commands action): YAML text of any shape is parsed
//! or refused with CodeBuild's YAML_FILE_ERROR, never a panic, and deep flow nesting is refused
//! before the YAML parser sees it.

use proptest::prelude::*;
use sluice_local::build::Buildspec;

use crate::{config, text_from};

const VALID: &str = "version: 0.2
env:
  variables:
    STAGE: test
  exported-variables: [STAGE]
phases:
  install:
    runtime-versions: {python: 3.11}
    commands: [echo install]
  build:
    on-failure: CONTINUE
    commands:
      - echo \"building $STAGE\"
      - if [ -f x ]; then echo x; fi
    finally:
      - echo done
artifacts:
  files: ['**/*']
  base-directory: out
  secondary-artifacts:
    Web: {files: [index.html]}
";

const YAML_CHARS: &str =
    "version: 0.2\nphases build commands - echo [ ] { } , & * ! | > ' \" # % @ ` ?\t";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn yaml_like_text_never_panics(text in text_from(YAML_CHARS, 300)) {
        let _ = Buildspec::parse(&text);
    }

    #[test]
    fn the_valid_buildspec_with_a_line_changed_never_panics(
        line in any::<prop::sample::Index>(),
        with in text_from(YAML_CHARS, 60),
    ) {
        let mut lines: Vec<&str> = VALID.lines().collect();
        let i = line.index(lines.len());
        lines[i] = &with;
        let _ = Buildspec::parse(&lines.join("\n"));
    }
}

#[test]
fn the_valid_buildspec_parses() {
    Buildspec::parse(VALID).expect("valid");
}

/// Probing found a 200 KB buildspec of `[` kept the parser busy for 99 s: flow collections nested
/// deeper than the limit are refused at once, naming the rule.
#[test]
fn deep_flow_nesting_is_refused_naming_the_limit() {
    for text in [
        "[".repeat(200_000),
        format!("phases: {}", "{a: ".repeat(50_000)),
        format!(
            "version: 0.2\nphases:\n  build:\n    commands: {}",
            "[".repeat(129)
        ),
    ] {
        let error = Buildspec::parse(&text).expect_err("refused");
        assert!(error.to_string().contains("nest"), "{error}");
    }
    // Brackets inside commands and quoted text are not nesting.
    let commands = format!(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo '{}'\n      - \"{}\"\n      - if [[ -f a ]]; then echo [x]; fi\n",
        "[".repeat(500),
        "{".repeat(500)
    );
    Buildspec::parse(&commands).expect("brackets in scalars are text");
}
