use std::fmt;

use serde_json::{Value, json};

use super::reference::Step;
use super::syntax::is_reserved_in_dotted_name;
use super::*;

fn reference(text: &str) -> ReferencePath {
    ReferencePath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn path(text: &str) -> Path {
    Path::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn members(names: &[&str]) -> ReferencePath {
    ReferencePath {
        steps: names
            .iter()
            .map(|n| Step::Member((*n).to_owned()))
            .collect(),
    }
}

fn syntax_reason(result: Result<impl fmt::Debug, PathError>) -> String {
    match result {
        Err(PathError::Syntax { reason, .. }) => reason,
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

// -- Reference Path parsing ---------------------------------------------

#[test]
fn spec_reference_path_examples_parse() {
    // [SPEC] "Reference Paths": "examples of acceptable Reference Path syntax".
    for text in [
        "$.store.book",
        "$.store\\.book",
        "$.\\stor\\e.boo\\k",
        "$.store.book.title",
        "$.foo.\\.bar",
        "$.foo\\@bar.baz\\[\\[.\\?pretty",
        "$.&Ж中.\u{10346}",
        "$.ledgers.branch[0].pending.count",
        "$.ledgers.branch[0]",
        "$.ledgers[0][22][315].foo",
        "$['store']['book']",
        "$['store'][0]['book']",
    ] {
        reference(text);
        assert!(path(text).is_definite(), "{text}");
    }
}

#[test]
fn escapes_in_dotted_names() {
    assert_eq!(reference("$.store\\.book"), members(&["store.book"]));
    assert_eq!(reference("$.\\stor\\e.boo\\k"), members(&["store", "book"]));
    assert_eq!(reference("$.foo.\\.bar"), members(&["foo", ".bar"]));
    assert_eq!(
        reference("$.foo\\@bar.baz\\[\\[.\\?pretty"),
        members(&["foo@bar", "baz[[", "?pretty"])
    );
    assert_eq!(reference("$.a\\]b"), members(&["a]b"]));
    assert_eq!(reference("$.a\\\\b"), members(&["a\\b"]));
    assert_eq!(reference("$.a\\*"), members(&["a*"]));
    // The escaped and the bracketed spelling name the same member.
    assert_eq!(reference("$['foo']['\\.bar']"), members(&["foo", ".bar"]));
    assert_eq!(
        reference("$['foo@bar']['baz[[']['?pretty']"),
        members(&["foo@bar", "baz[[", "?pretty"])
    );
}

#[test]
fn non_ascii_member_names() {
    assert_eq!(
        reference("$.&Ж中.\u{10346}"),
        members(&["&Ж中", "\u{10346}"])
    );
    assert_eq!(reference("$['日本']"), members(&["日本"]));
    // A \u escape in a quoted name, including a surrogate pair.
    assert_eq!(reference("$['\\uD800\\uDF46']"), members(&["\u{10346}"]));
    assert_eq!(reference("$['\\u00e9']"), members(&["é"]));
}

#[test]
fn bracket_and_index_forms() {
    assert_eq!(reference("$['a']['b c']"), members(&["a", "b c"]));
    assert_eq!(reference("$[\"a\"]"), members(&["a"]));
    assert_eq!(reference("$[ 'a' ]"), members(&["a"]));
    assert_eq!(reference("$['it\\'s']"), members(&["it's"]));
    // [DG-PATHS] writes `$.abc.['def ghi']`.
    assert_eq!(reference("$.abc.['def ghi']"), members(&["abc", "def ghi"]));
    assert_eq!(
        reference("$.a[0]"),
        ReferencePath {
            steps: vec![Step::Member("a".into()), Step::Index(0)]
        }
    );
    assert_eq!(
        reference("$[12][10]"),
        ReferencePath {
            steps: vec![Step::Index(12), Step::Index(10)]
        }
    );
    // Jayway reads leading zeros; the canonical text drops them.
    assert_eq!(reference("$.a[007]").to_string(), "$.a[7]");
    assert!(reference("$").is_root());
}

#[test]
fn reference_path_refusals_say_why() {
    let cases = [
        ("$.*", "wildcard"),
        ("$[*]", "wildcard"),
        ("$.a.*", "wildcard"),
        ("$.a*", "wildcard"),
        ("$..a", "deep scan"),
        ("$.a..b", "deep scan"),
        ("$.a[?(@.v == 2)]", "filter"),
        ("$.a[0,1]", "union"),
        ("$['a','b']", "union"),
        ("$.a[1:2]", "slice"),
        ("$.a[:2]", "slice"),
        ("$.a@b", "'@'"),
        ("$.a,b", "','"),
        ("$.a:b", "':'"),
        ("$.a?b", "'?'"),
        ("$.a[-1]", "negative"),
        ("$.a.length()", "functions"),
        ("$[(@.length-1)]", "script"),
        ("$$.Execution.Id", "Context Object"),
        ("$var", "variable"),
        ("$var.a", "variable"),
        ("", "empty"),
        ("a.b", "starts with '$'"),
        (" $.a", "starts with '$'"),
        ("$.a ", "whitespace"),
        ("$.", "ends with '.'"),
        ("$.a.", "ends with '.'"),
        ("$..", "ends with '..'"),
        ("$...a", "'...'"),
        ("$[", "never closed"),
        ("$['a'", "never closed"),
        ("$['a", "never closed"),
        ("$[]", "empty brackets"),
        ("$[a]", "unexpected 'a'"),
        ("$['a'b]", "expected ',' or ']'"),
        ("$.a b", "whitespace"),
        ("$.a\\", "lone '\\'"),
        ("$a", "variable"),
        ("$x]", "variable"),
        ("$]", "unexpected ']'"),
        ("$[12aa]", "unexpected 'a'"),
        ("$[1-2]", "not an integer"),
        ("$[99999999999999999999]", "out of range"),
        ("$['\\uD800']", "surrogate"),
        ("$['\\uDC00']", "surrogate"),
        ("$['\\u12G4']", "four hex digits"),
    ];
    for (text, expected) in cases {
        let reason = syntax_reason(ReferencePath::parse(text));
        assert!(
            reason.contains(expected),
            "{text:?}: reason {reason:?} does not mention {expected:?}"
        );
    }
}

#[test]
fn syntax_errors_name_the_path() {
    let error = ReferencePath::parse("$.a[*]").unwrap_err();
    assert!(error.to_string().contains("'$.a[*]'"), "{error}");
    let error = Path::parse("$.a.length()").unwrap_err();
    assert!(error.to_string().contains("'$.a.length()'"), "{error}");
}

#[test]
fn display_is_canonical_and_round_trips() {
    let cases = [
        ("$", "$"),
        ("$['a']['b c']", "$.a['b c']"),
        ("$.store\\.book", "$['store.book']"),
        ("$['store'][0]['book']", "$.store[0].book"),
        ("$['it\\'s']", "$['it\\'s']"),
        ("$['back\\\\slash']", "$['back\\\\slash']"),
        ("$['tab\\there']", "$['tab\\u0009here']"),
        ("$.error-info", "$.error-info"),
        ("$.&Ж中", "$['&Ж中']"),
        ("$.Ж中", "$.Ж中"),
        ("$.0", "$['0']"),
    ];
    for (text, canonical) in cases {
        let parsed = reference(text);
        assert_eq!(parsed.to_string(), canonical, "{text}");
        assert_eq!(reference(canonical), parsed, "{canonical}");
    }
}

// -- Reference Path reads -------------------------------------------------

#[test]
fn get_follows_the_spec_examples() {
    // [SPEC] and [DG-PATHS] "Reference Paths".
    let input = json!({"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": true}});
    assert_eq!(reference("$.foo").get(&input), Some(&json!(123)));
    assert_eq!(
        reference("$.bar").get(&input),
        Some(&json!(["a", "b", "c"]))
    );
    assert_eq!(reference("$.car.cdr").get(&input), Some(&json!(true)));
    assert_eq!(reference("$.bar[1]").get(&input), Some(&json!("b")));
    assert_eq!(reference("$").get(&input), Some(&input));
    assert_eq!(reference("$.missing").get(&input), None);
    assert_eq!(reference("$.bar[3]").get(&input), None);
    assert_eq!(reference("$.foo.x").get(&input), None);
    assert_eq!(reference("$.car[0]").get(&input), None);
    assert_eq!(reference("$.bar.0").get(&input), None);
    assert_eq!(
        reference("$.n").get(&json!({"n": null})),
        Some(&Value::Null)
    );
}

// -- ResultPath writes ----------------------------------------------------

/// Compares serialised text so that member order is checked too.
fn assert_json_text(actual: &Value, expected: &Value) {
    assert_eq!(actual.to_string(), expected.to_string());
}

#[test]
fn result_path_examples_from_the_developer_guide() {
    // [DG-RESULTPATH].
    let input = json!({
        "comment": "This is a test of the input and output of a Task state.",
        "details": "Default example",
        "who": "AWS Step Functions"
    });
    let result = json!("Hello, AWS Step Functions!");

    // "ResultPath": "$" replaces the input.
    assert_eq!(
        reference("$").set(input.clone(), result.clone()).unwrap(),
        result
    );

    // "ResultPath": "$.taskresult" appends the result.
    assert_json_text(
        &reference("$.taskresult")
            .set(input.clone(), result.clone())
            .unwrap(),
        &json!({
            "comment": "This is a test of the input and output of a Task state.",
            "details": "Default example",
            "who": "AWS Step Functions",
            "taskresult": "Hello, AWS Step Functions!"
        }),
    );

    // "ResultPath": "$.comment" overwrites the existing node in place.
    assert_json_text(
        &reference("$.comment").set(input, result.clone()).unwrap(),
        &json!({
            "comment": "Hello, AWS Step Functions!",
            "details": "Default example",
            "who": "AWS Step Functions"
        }),
    );

    // "ResultPath": "$.strings.lambdaresult" inserts into a child node.
    let input = json!({
        "comment": "An input comment.",
        "strings": {"string1": "foo", "string2": "bar", "string3": "baz"},
        "who": "AWS Step Functions"
    });
    assert_json_text(
        &reference("$.strings.lambdaresult")
            .set(input, result)
            .unwrap(),
        &json!({
            "comment": "An input comment.",
            "strings": {
                "string1": "foo", "string2": "bar", "string3": "baz",
                "lambdaresult": "Hello, AWS Step Functions!"
            },
            "who": "AWS Step Functions"
        }),
    );

    // A Catch with "ResultPath": "$.error".
    assert_json_text(
        &reference("$.error")
            .set(json!({"foo": "bar"}), json!({"Error": "Error here"}))
            .unwrap(),
        &json!({"foo": "bar", "error": {"Error": "Error here"}}),
    );
}

#[test]
fn result_path_examples_from_the_spec() {
    // [SPEC] "Input/Output Processing Examples".
    assert_json_text(
        &reference("$.sum")
            .set(
                json!({"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}}),
                json!(7),
            )
            .unwrap(),
        &json!({"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}, "sum": 7}),
    );
    assert_json_text(
        &reference("$.b.greeting")
            .set(json!({"a": 1}), json!("Hi!"))
            .unwrap(),
        &json!({"a": 1, "b": {"greeting": "Hi!"}}),
    );
    // [SPEC] "Using InputPath, …": overwrite, then create a chain.
    let input = json!({"master": {"detail": [1, 2, 3]}});
    assert_json_text(
        &reference("$.master.detail")
            .set(input.clone(), json!(6))
            .unwrap(),
        &json!({"master": {"detail": 6}}),
    );
    assert_json_text(
        &reference("$.master.result.sum")
            .set(input, json!(6))
            .unwrap(),
        &json!({"master": {"detail": [1, 2, 3], "result": {"sum": 6}}}),
    );
}

#[test]
fn result_path_creates_missing_objects() {
    assert_json_text(
        &reference("$.a.b.c").set(json!({}), json!(1)).unwrap(),
        &json!({"a": {"b": {"c": 1}}}),
    );
    assert_json_text(
        &reference("$['x y']['b.c']")
            .set(json!({"k": 0}), json!([1]))
            .unwrap(),
        &json!({"k": 0, "x y": {"b.c": [1]}}),
    );
    // Writing a null result is an ordinary write.
    assert_json_text(
        &reference("$.a").set(json!({}), Value::Null).unwrap(),
        &json!({"a": null}),
    );
}

#[test]
fn result_path_into_a_non_object_fails() {
    // [SPEC] "Runtime Errors": input "foo" with ResultPath "$.x".
    assert_eq!(
        reference("$.x").set(json!("foo"), json!(1)),
        Err(PathError::NotAnObject {
            path: "$.x".into(),
            found: "$ is a string, not an object".into()
        })
    );
    let cases = [
        ("$.a.b", json!({"a": 1}), "$.a is a number, not an object"),
        ("$.a.b", json!({"a": null}), "$.a is null, not an object"),
        (
            "$.a.b.c",
            json!({"a": {"b": "s"}}),
            "$.a.b is a string, not an object",
        ),
        (
            "$.a.b",
            json!({"a": [1, 2]}),
            "$.a is an array of 2 elements, not an object",
        ),
        ("$.x", json!([]), "$ is an empty array, not an object"),
        ("$.x", json!(true), "$ is a boolean, not an object"),
        ("$.x", Value::Null, "$ is null, not an object"),
    ];
    for (text, input, found) in cases {
        let error = reference(text).set(input, json!(0)).unwrap_err();
        assert_eq!(
            error,
            PathError::NotAnObject {
                path: text.into(),
                found: found.into()
            }
        );
        assert!(error.to_string().contains(text));
    }
}

#[test]
fn result_path_index_steps_write_into_existing_elements() {
    // [SFN-LOCAL]: `$[1].payload` merges into the existing element and
    // keeps the rest of the array.
    assert_json_text(
        &reference("$[1].payload")
            .set(
                json!([{"a": 1}, {"id": 7}, {"c": 3}, 4]),
                json!({"subject_status": 1}),
            )
            .unwrap(),
        &json!([{"a": 1}, {"id": 7, "payload": {"subject_status": 1}}, {"c": 3}, 4]),
    );
    assert_json_text(
        &reference("$.a[0]")
            .set(json!({"a": [1, 2]}), json!("x"))
            .unwrap(),
        &json!({"a": ["x", 2]}),
    );
    assert_json_text(
        &reference("$[0][1]").set(json!([[1, 2]]), json!(9)).unwrap(),
        &json!([[1, 9]]),
    );
}

#[test]
fn result_path_index_steps_never_create_arrays() {
    let cases = [
        (
            "$.a[5]",
            json!({"a": [1, 2]}),
            "$.a is an array of 2 elements, which has no index 5",
        ),
        (
            "$.a[0]",
            json!({"a": []}),
            "$.a is an empty array, which has no index 0",
        ),
        (
            "$.a[0]",
            json!({"a": {"0": 1}}),
            "$.a is an object, not an array",
        ),
        (
            "$.a[0].b",
            json!({"a": "s"}),
            "$.a is a string, not an array",
        ),
        (
            "$.missing[0]",
            json!({}),
            "$.missing does not exist, and ResultPath creates missing members only as objects",
        ),
        ("$[0]", json!({}), "$ is an object, not an array"),
    ];
    for (text, input, found) in cases {
        assert_eq!(
            reference(text).set(input, json!(0)),
            Err(PathError::NotAnObject {
                path: text.into(),
                found: found.into()
            }),
            "{text}"
        );
    }
}

// -- General Paths --------------------------------------------------------

#[test]
fn input_path_and_parameters_examples() {
    // [DG-INPUTPATH].
    let input = json!({
        "comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"}
    });
    assert_eq!(
        path("$.dataset2").select(&input).unwrap(),
        json!({"val1": "a", "val2": "b", "val3": "c"})
    );
    let input = json!({
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock", "sku": "2317", "cost": "$23"
        }
    });
    assert_eq!(
        path("$.product.details.size").select(&input).unwrap(),
        json!("small")
    );
    assert_eq!(
        path("$.product.availability").select(&input).unwrap(),
        json!("in stock")
    );
    assert_eq!(path("$").select(&input).unwrap(), input);
}

#[test]
fn spec_payload_template_and_multi_value_examples() {
    // [SPEC] "Payload Template": "$.vals[0]" and "$.vals[3:]".
    let input = json!({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]});
    assert_eq!(path("$.vals[0]").select(&input).unwrap(), json!(0));
    assert_eq!(
        path("$.vals[3:]").select(&input).unwrap(),
        json!([30, 40, 50])
    );
    // [SPEC] "Using InputPath, …": "$.a[0,1]" gathers two texts.
    assert_eq!(
        path("$.a[0,1]")
            .select(&json!({"a": [1, 2, 3, 4]}))
            .unwrap(),
        json!([1, 2])
    );
}

#[test]
fn definite_index_paths_yield_the_scalar() {
    // [LS-11369]: AWS gives 7 here; moto gives [7].
    assert_eq!(path("$[0].v").select(&json!([{"v": 7}])).unwrap(), json!(7));
    assert_eq!(
        path("$.items[0]")
            .select(&json!({"items": ["alpha", "bravo"]}))
            .unwrap(),
        json!("alpha")
    );
    // Jayway counts a negative index from the end and calls it definite.
    let last = path("$.items[-1]");
    assert!(last.is_definite());
    assert_eq!(last.select(&json!({"items": [1, 2, 3]})).unwrap(), json!(3));
}

#[test]
fn filters_in_jayway_and_rfc_form() {
    // [DG-PATHS]: $.jar[?(@.a >= 5)] => [{"a": 5}, {"a": 7}].
    let input = json!({"jar": [{"a": 1}, {"a": 5}, {"a": 2}, {"a": 7}, {"a": 3}]});
    let filter = path("$.jar[?(@.a >= 5)]");
    assert!(!filter.is_definite());
    assert_eq!(filter.select(&input).unwrap(), json!([{"a": 5}, {"a": 7}]));
    assert_eq!(
        path("$.jar[?@.a >= 5]").select(&input).unwrap(),
        json!([{"a": 5}, {"a": 7}])
    );
    let input = json!({"a": [{"v": 1}, {"v": 2}, {"w": 2}]});
    assert_eq!(
        path("$.a[?(@.v == 2)]").select(&input).unwrap(),
        json!([{"v": 2}])
    );
    assert_eq!(
        path("$.a[?(@.v)]").select(&input).unwrap(),
        json!([{"v": 1}, {"v": 2}])
    );
    assert_eq!(
        path("$.a[?(@.v == 1 || @.w == 2)]").select(&input).unwrap(),
        json!([{"v": 1}, {"w": 2}])
    );
    let books = json!({"book": [{"c": "x y", "p": 8}, {"c": "z", "p": 12}]});
    assert_eq!(
        path("$.book[?(@.c == 'x y')].p").select(&books).unwrap(),
        json!([8])
    );
    assert_eq!(
        path("$.book[?(@['p'] < 10 && @.c != \"z]\")].c")
            .select(&books)
            .unwrap(),
        json!(["x y"])
    );
}

#[test]
fn indefinite_paths_gather_matches_into_an_array() {
    let input = json!({"a": [{"v": 1}, {"v": 2}], "b": {"v": 3}});
    for text in [
        "$..v",
        "$.a[*].v",
        "$.*",
        "$.a[0:1]",
        "$['a','b']",
        "$..[0]",
    ] {
        assert!(!path(text).is_definite(), "{text}");
    }
    assert_eq!(path("$..v").select(&input).unwrap(), json!([1, 2, 3]));
    assert_eq!(path("$.a[*].v").select(&input).unwrap(), json!([1, 2]));
    assert_eq!(path("$.a.*.v").select(&input).unwrap(), json!([1, 2]));
    assert_eq!(path("$.b.*").select(&input).unwrap(), json!([3]));
    assert_eq!(path("$['a','b'].v").select(&input).unwrap(), json!([3]));
    assert_eq!(path("$.a[::-1].v").select(&input).unwrap(), json!([2, 1]));
    assert_eq!(path("$..['v']").select(&input).unwrap(), json!([1, 2, 3]));
}

#[test]
fn indefinite_paths_that_match_nothing_yield_an_empty_array() {
    // [LS-12366]: AWS answers [] rather than failing.
    let input = json!({"a": []});
    assert_eq!(path("$.items[*]").select(&json!({})).unwrap(), json!([]));
    assert_eq!(path("$[*].type").select(&json!({})).unwrap(), json!([]));
    assert_eq!(path("$.a[*]").select(&input).unwrap(), json!([]));
    assert_eq!(path("$.a[?(@.v == 2)]").select(&input).unwrap(), json!([]));
    assert_eq!(path("$..nothing").select(&input).unwrap(), json!([]));
}

#[test]
fn definite_paths_that_match_nothing_are_not_found() {
    let input = json!({"a": [1], "s": "x"});
    for text in ["$.missing", "$.a[1]", "$.s.x", "$.a.b", "$.s[0]", "$.a[-2]"] {
        assert_eq!(
            path(text).select(&input),
            Err(PathError::NotFound { path: text.into() }),
            "{text}"
        );
    }
    assert_eq!(
        path("$.missing").select(&input).unwrap_err().to_string(),
        "the JSONPath '$.missing' could not be found in the input"
    );
}

#[test]
fn jayway_escapes_work_in_general_paths() {
    let input = json!({"store.book": 1, "foo": {".bar": 2}, "a b": {"c": 3}, "it's": 4});
    assert_eq!(path("$.store\\.book").select(&input).unwrap(), json!(1));
    assert_eq!(path("$.foo.\\.bar").select(&input).unwrap(), json!(2));
    assert_eq!(path("$['a b'].c").select(&input).unwrap(), json!(3));
    assert_eq!(path("$.a\\ b.c").select(&input).unwrap(), json!(3));
    assert_eq!(path("$['it\\'s']").select(&input).unwrap(), json!(4));
    assert_eq!(path("$[\"it's\"]").select(&input).unwrap(), json!(4));
}

#[test]
fn general_path_refusals_say_why() {
    let cases = [
        ("$.a.length()", "functions"),
        ("$.length()", "functions"),
        ("$..book.length()", "functions"),
        ("$.a[?(length(@.b) > 1)]", "functions"),
        ("$.a[?(@.b.length() > 1)]", "functions"),
        ("$.a[?(@.v == $.w)]", "other values"),
        ("$.a[?(@.v =~ /x/)]", "regular-expression"),
        ("$.a[?(@.v in ['x'])]", "lexical"),
        ("$.a[?(@.v subsetof ['x'])]", "lexical"),
        ("$.a[?(@.v == FooBar)]", "lexical"),
        ("$[(@.length-1)]", "script"),
        ("$.a[?()]", "not a valid JSONPath"),
        ("$.a[?]", "empty"),
        ("$.a[?(@.v == 1]", "never closed"),
        ("$.a[?(@.v == 1 ++ 2)]", "not a valid JSONPath"),
        ("$.a[?(@.v == 'x)]", "never closed"),
        ("$.a[?(@.v))]", "unbalanced"),
        ("$..", "ends with '..'"),
        ("$.a[1:2:3:4]", "three parts"),
        ("$$.a", "Context Object"),
        ("$x", "variable"),
    ];
    for (text, expected) in cases {
        let reason = syntax_reason(Path::parse(text));
        assert!(
            reason.contains(expected),
            "{text:?}: reason {reason:?} does not mention {expected:?}"
        );
    }
    let deep = format!("$.a[?{}@.v{}]", "(".repeat(40), ")".repeat(40));
    assert!(syntax_reason(Path::parse(&deep)).contains("nested"));
}

#[test]
fn path_display_gives_back_the_text() {
    for text in [
        "$",
        "$.a['b c'][0]",
        "$.store\\.book",
        "$..v",
        "$.a[?(@.v == 2)]",
    ] {
        assert_eq!(path(text).to_string(), text);
        assert_eq!(path(text).as_str(), text);
    }
}

// -- PathRef --------------------------------------------------------------

#[test]
fn path_ref_routes_by_prefix() {
    assert_eq!(
        PathRef::parse("$$.Execution.Id").unwrap(),
        PathRef::Context(path("$.Execution.Id"))
    );
    assert_eq!(PathRef::parse("$$").unwrap(), PathRef::Context(path("$")));
    assert_eq!(
        PathRef::parse("$$.Map.Item.Value").unwrap(),
        PathRef::Context(path("$.Map.Item.Value"))
    );
    assert_eq!(
        PathRef::parse("$name.a.b").unwrap(),
        PathRef::Variable {
            name: "name".into(),
            path: path("$.a.b")
        }
    );
    assert_eq!(
        PathRef::parse("$customerName").unwrap(),
        PathRef::Variable {
            name: "customerName".into(),
            path: path("$")
        }
    );
    assert_eq!(
        PathRef::parse("$_x1[0]").unwrap(),
        PathRef::Variable {
            name: "_x1".into(),
            path: path("$[0]")
        }
    );
    assert_eq!(PathRef::parse("$.a").unwrap(), PathRef::Input(path("$.a")));
    assert_eq!(PathRef::parse("$").unwrap(), PathRef::Input(path("$")));
    assert_eq!(
        PathRef::parse("$['a']").unwrap(),
        PathRef::Input(path("$['a']"))
    );
    assert!(!PathRef::parse("$items[*].id").unwrap().path().is_definite());
}

#[test]
fn path_ref_display_gives_back_the_text() {
    for text in [
        "$",
        "$.a",
        "$$",
        "$$.Execution.Input.x",
        "$v",
        "$v.a[0]",
        "$v['x y']",
    ] {
        assert_eq!(PathRef::parse(text).unwrap().to_string(), text);
    }
}

#[test]
fn path_ref_errors_name_the_written_text() {
    let cases = [
        ("$1", "letter or '_'"),
        ("$9abc.x", "letter or '_'"),
        ("", "empty"),
        ("x", "starts with '$'"),
        ("$$$", "Context Object"),
        ("$$x", "variable"),
        ("$name.", "ends with '.'"),
        ("$name-x", "unexpected '-' at character 6"),
        ("$$.a b", "whitespace at character 5"),
        ("$ab[*", "never closed"),
    ];
    for (text, expected) in cases {
        match PathRef::parse(text) {
            Err(PathError::Syntax { path, reason }) => {
                assert_eq!(path, text);
                assert!(reason.contains(expected), "{text:?}: {reason:?}");
            }
            other => panic!("{text:?}: expected a syntax error, got {other:?}"),
        }
    }
}

// -- Property-style checks: no input makes anything panic ------------------

/// xorshift64*: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &[
    "a", "b", "v", "0", "a.b", "Ж", "it's", "x y", "@", "\\", "]",
];

fn random_document(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 4 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.below(10)),
        3 => json!(*rng.pick(KEYS)),
        4 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_document(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| (rng.pick(KEYS).to_string(), random_document(rng, depth - 1)))
                .collect(),
        ),
    }
}

fn random_text(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "$",
        "$",
        ".",
        "..",
        "[",
        "]",
        "'",
        "\"",
        "\\",
        "*",
        "?",
        "@",
        ",",
        ":",
        "(",
        ")",
        "-",
        "0",
        "1",
        "9",
        "a",
        "b",
        "v",
        "_",
        " ",
        "Ж",
        "=",
        "==",
        "<",
        "!",
        "&&",
        "||",
        "~",
        "\\u",
        "D800",
        "length",
        "in",
        "true",
        "?(",
        "[?(@.v == 1)]",
        "['a']",
        "[0]",
        "$$",
        "$x",
    ];
    let mut text = String::new();
    if rng.below(4) != 0 {
        text.push('$');
    }
    for _ in 0..rng.below(14) {
        text.push_str(rng.pick::<&str>(PIECES));
    }
    text
}

/// Exercises every entry point on one text and checks the invariants that
/// tie them together.
fn check_text(text: &str, documents: &[Value], rng: &mut Rng) {
    let reference_path = ReferencePath::parse(text);
    let general_path = Path::parse(text);
    if let Ok(path_ref) = PathRef::parse(text) {
        assert_eq!(path_ref.to_string(), text);
        for document in documents {
            let _ = path_ref.path().select(document);
        }
    }
    if let Ok(general) = &general_path {
        for document in documents {
            match general.select(document) {
                Ok(Value::Array(_)) => {}
                Ok(_) => assert!(general.is_definite(), "{text}"),
                Err(PathError::NotFound { path }) => {
                    assert!(general.is_definite(), "{text}");
                    assert_eq!(path, text);
                }
                Err(other) => panic!("{text}: {other}"),
            }
        }
    }
    if let Ok(reference) = reference_path {
        check_reference(&reference, documents, rng);
        // Every Reference Path is a definite Path.
        let general = general_path.unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(general.is_definite(), "{text}");
    }
}

fn check_reference(reference: &ReferencePath, documents: &[Value], rng: &mut Rng) {
    let canonical = reference.to_string();
    assert_eq!(
        &ReferencePath::parse(&canonical).unwrap(),
        reference,
        "{canonical}"
    );
    let general = Path::parse(&canonical).unwrap_or_else(|e| panic!("{canonical}: {e}"));
    assert!(general.is_definite());
    for document in documents {
        // The direct walk and serde_json_path agree on every read.
        match (reference.get(document), general.select(document)) {
            (Some(found), Ok(selected)) => assert_eq!(found, &selected, "{canonical}"),
            (None, Err(PathError::NotFound { .. })) => {}
            (read, selected) => panic!("{canonical}: get {read:?} but select {selected:?}"),
        }
        let value = random_document(rng, 1);
        match reference.set(document.clone(), value.clone()) {
            Ok(written) => assert_eq!(reference.get(&written), Some(&value), "{canonical}"),
            Err(PathError::NotAnObject { path, .. }) => assert_eq!(path, canonical),
            Err(other) => panic!("{canonical}: {other}"),
        }
    }
}

#[test]
fn arbitrary_text_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let documents: Vec<Value> = (0..6).map(|_| random_document(&mut rng, 3)).collect();
    for _ in 0..30_000 {
        let text = random_text(&mut rng);
        check_text(&text, &documents, &mut rng);
    }
}

#[test]
fn arbitrary_unicode_text_never_panics() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let documents: Vec<Value> = (0..4).map(|_| random_document(&mut rng, 3)).collect();
    for _ in 0..10_000 {
        let length = rng.below(16);
        let text: String = (0..length)
            .filter_map(|_| char::from_u32(rng.below(0x3_0000) as u32))
            .collect();
        check_text(&text, &documents, &mut rng);
        check_text(&format!("${text}"), &documents, &mut rng);
        check_text(&format!("$.{text}"), &documents, &mut rng);
        check_text(&format!("$['{text}']"), &documents, &mut rng);
    }
}

/// Writes a member name in dot notation, escaping every character that
/// would otherwise end or break it.
fn escaped_dotted(name: &str) -> String {
    let mut out = String::from(".");
    for c in name.chars() {
        if matches!(c, '.' | '[' | '\\') || is_reserved_in_dotted_name(c) || c.is_whitespace() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[test]
fn generated_reference_paths_round_trip_and_agree_with_the_query_engine() {
    const NAMES: &[&str] = &[
        "a", "b", "v", "0", "a.b", "Ж", "it's", "x y", "@", "\\", "]", "*", "?x", "\u{1}",
    ];
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let documents: Vec<Value> = (0..8).map(|_| random_document(&mut rng, 3)).collect();
    for _ in 0..5_000 {
        let steps: Vec<Step> = (0..rng.below(4))
            .map(|_| match rng.below(3) {
                0 => Step::Index(rng.below(3)),
                _ => Step::Member(rng.pick(NAMES).to_string()),
            })
            .collect();
        let reference = ReferencePath { steps };
        check_reference(&reference, &documents, &mut rng);
        // The all-escapes dotted spelling names the same path.
        let dotted: String = std::iter::once("$".to_owned())
            .chain(reference.steps.iter().map(|step| match step {
                Step::Member(name) => escaped_dotted(name),
                Step::Index(index) => format!("[{index}]"),
            }))
            .collect();
        assert_eq!(
            ReferencePath::parse(&dotted).unwrap(),
            reference,
            "{dotted}"
        );
    }
}

#[test]
fn generated_general_paths_evaluate_without_error() {
    const SEGMENTS: &[&str] = &[
        ".a",
        ".v",
        "['a']",
        "['x y']",
        "[0]",
        "[1]",
        "[-1]",
        ".*",
        "[*]",
        "..v",
        "..*",
        "[0,1]",
        "['a','b']",
        "[1:]",
        "[:2]",
        "[::-1]",
        "[?(@.v == 1)]",
        "[?(@.v)]",
        "[?(@ > 1)]",
        "[?(!(@.a))]",
        "[?(@.v != 'Ж')]",
        ".store\\.book",
    ];
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let documents: Vec<Value> = (0..8).map(|_| random_document(&mut rng, 3)).collect();
    for _ in 0..5_000 {
        let text: String = std::iter::once("$")
            .chain((0..rng.below(5)).map(|_| *rng.pick(SEGMENTS)))
            .collect();
        let general = path(&text);
        for document in &documents {
            match general.select(document) {
                Ok(_) => {}
                Err(PathError::NotFound { .. }) if general.is_definite() => {}
                Err(other) => panic!("{text}: {other}"),
            }
        }
        check_text(&text, &documents, &mut rng);
    }
}
