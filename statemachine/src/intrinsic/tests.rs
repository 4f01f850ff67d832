use super::*;
use serde_json::{Map, Number, Value, json};

/// A deterministic [`Randomness`] for tests (SplitMix64).
struct SeededRandomness {
    state: u64,
}

impl SeededRandomness {
    fn new(seed: u64) -> Self {
        SeededRandomness { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Randomness for SeededRandomness {
    fn uuid_v4(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_be_bytes());
        bytes[8..].copy_from_slice(&self.next().to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    fn integer_in(&mut self, start: i64, end: i64, seed: Option<i64>) -> i64 {
        let r = match seed {
            Some(s) => mix(s as u64),
            None => self.next(),
        };
        let width = (i128::from(end) - i128::from(start)) as u128;
        (i128::from(start) + (u128::from(r) % width) as i128) as i64
    }
}

/// Parses and evaluates `text` against `input`. Paths are resolved with a
/// small resolver that handles `$`, `$.a.b` and `$.a[0]`, which is all these tests need.
fn eval_with(text: &str, input: &Value) -> Result<Value, IntrinsicError> {
    let intrinsic = parse(text)?;
    let mut resolve = |path: &str| resolve_simple(path, input);
    evaluate(&intrinsic, &mut resolve, &mut SeededRandomness::new(7))
}

fn eval(text: &str, input: Value) -> Value {
    match eval_with(text, &input) {
        Ok(v) => v,
        Err(e) => panic!("{text} failed: {e}"),
    }
}

fn eval_err(text: &str, input: Value) -> IntrinsicError {
    match eval_with(text, &input) {
        Ok(v) => panic!("{text} unexpectedly gave {v}"),
        Err(e) => e,
    }
}

fn resolve_simple(path: &str, input: &Value) -> Result<Value, String> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| format!("not a path: {path}"))?;
    let mut current = input;
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        let (name, index) = match part.split_once('[') {
            Some((name, idx)) => (name, Some(idx.trim_end_matches(']'))),
            None => (part, None),
        };
        if !name.is_empty() {
            current = current
                .get(name)
                .ok_or_else(|| format!("no field '{name}' in {path}"))?;
        }
        if let Some(idx) = index {
            let i: usize = idx.parse().map_err(|_| format!("bad index in {path}"))?;
            current = current
                .get(i)
                .ok_or_else(|| format!("no index {i} in {path}"))?;
        }
    }
    Ok(current.clone())
}

fn parse_err(text: &str) -> IntrinsicError {
    match parse(text) {
        Ok(i) => panic!("{text} unexpectedly parsed as {i:?}"),
        Err(e) => e,
    }
}

fn failure_argument(err: &IntrinsicError) -> (Function, Option<usize>) {
    match err {
        IntrinsicError::Failure {
            function, argument, ..
        } => (*function, *argument),
        other => panic!("expected a runtime failure, got {other:?}"),
    }
}

// ---- every example of the developer guide, with its documented result ----

#[test]
fn guide_array_example() {
    assert_eq!(
        eval("States.Array($.Id)", json!({"Id": 123456})),
        json!([123456])
    );
}

#[test]
fn guide_array_partition_example() {
    assert_eq!(
        eval(
            "States.ArrayPartition($.inputArray,4)",
            json!({"inputArray": [1,2,3,4,5,6,7,8,9]})
        ),
        json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
    );
}

#[test]
fn guide_array_contains_example() {
    assert_eq!(
        eval(
            "States.ArrayContains($.inputArray, $.lookingFor)",
            json!({"inputArray": [1,2,3,4,5,6,7,8,9], "lookingFor": 5})
        ),
        json!(true)
    );
}

#[test]
fn guide_array_range_example() {
    assert_eq!(
        eval("States.ArrayRange(1, 9, 2)", json!({})),
        json!([1, 3, 5, 7, 9])
    );
}

#[test]
fn guide_array_get_item_example() {
    assert_eq!(
        eval(
            "States.ArrayGetItem($.inputArray, $.index)",
            json!({"inputArray": [1,2,3,4,5,6,7,8,9], "index": 5})
        ),
        json!(6)
    );
}

#[test]
fn guide_array_length_example() {
    assert_eq!(
        eval(
            "States.ArrayLength($.inputArray)",
            json!({"inputArray": [1,2,3,4,5,6,7,8,9]})
        ),
        json!(9)
    );
}

#[test]
fn guide_array_unique_example() {
    assert_eq!(
        eval(
            "States.ArrayUnique($.inputArray)",
            json!({"inputArray": [1,2,3,3,3,3,3,3,4]})
        ),
        json!([1, 2, 3, 4])
    );
}

#[test]
fn guide_base64_encode_example() {
    assert_eq!(
        eval(
            "States.Base64Encode($.input)",
            json!({"input": "Data to encode"})
        ),
        json!("RGF0YSB0byBlbmNvZGU=")
    );
}

#[test]
fn guide_base64_decode_example_decodes_to_the_encoded_text() {
    // The guide prints the result as "Decoded data". That is a mistake in
    // the guide: "RGF0YSB0byBlbmNvZGU=" is the encoding of "Data to encode"
    // (see its own Base64Encode example).
    assert_eq!(
        eval(
            "States.Base64Decode($.base64)",
            json!({"base64": "RGF0YSB0byBlbmNvZGU="})
        ),
        json!("Data to encode")
    );
}

#[test]
fn guide_hash_example() {
    // The guide prints "aaff4a450a104cd177d28d18d7485e8cae074b7". That is 39
    // digits, one '4' short of the real SHA-1 of "input data", which is below.
    assert_eq!(
        eval(
            "States.Hash($.Data, $.Algorithm)",
            json!({"Data": "input data", "Algorithm": "SHA-1"})
        ),
        json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
    );
}

#[test]
fn guide_json_merge_example() {
    let merged = eval(
        "States.JsonMerge($.json1, $.json2, false)",
        json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}}),
    );
    assert_eq!(merged, json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}));
    // The key that the second object overrides keeps its first position.
    let keys: Vec<_> = merged.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["a", "b", "c"]);
}

#[test]
fn guide_string_to_json_example() {
    assert_eq!(
        eval(
            "States.StringToJson($.escapedJsonString)",
            json!({"escapedJsonString": "{\"foo\": \"bar\"}"})
        ),
        json!({"foo": "bar"})
    );
}

#[test]
fn guide_json_to_string_example() {
    assert_eq!(
        eval(
            "States.JsonToString($.unescapedJson)",
            json!({"unescapedJson": {"foo": "bar"}})
        ),
        json!("{\"foo\":\"bar\"}")
    );
}

#[test]
fn guide_math_random_example_is_in_range() {
    let input = json!({"start": 1, "end": 999});
    let n = eval("States.MathRandom($.start, $.end)", input)
        .as_i64()
        .unwrap();
    assert!((1..999).contains(&n), "{n}");
}

#[test]
fn guide_math_add_example() {
    assert_eq!(
        eval(
            "States.MathAdd($.value1, $.step)",
            json!({"value1": 111, "step": -1})
        ),
        json!(110)
    );
}

#[test]
fn guide_string_split_single_delimiter_example() {
    assert_eq!(
        eval(
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "1,2,3,4,5", "splitter": ","})
        ),
        json!(["1", "2", "3", "4", "5"])
    );
}

#[test]
fn guide_string_split_multiple_delimiters_example() {
    assert_eq!(
        eval(
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "This.is+a,test=string", "splitter": ".+,="})
        ),
        json!(["This", "is", "a", "test", "string"])
    );
}

#[test]
fn guide_uuid_example_shape() {
    let uuid = eval("States.UUID()", json!({}));
    let s = uuid.as_str().unwrap();
    let groups: Vec<_> = s.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12]);
    assert_eq!(&s[14..15], "4");
    assert!(
        s.chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn guide_format_examples() {
    let input = json!({"name": "Arnav", "template": "Hello, my name is {}."});
    assert_eq!(
        eval(
            "States.Format('Hello, my name is {}.', $.name)",
            input.clone()
        ),
        json!("Hello, my name is Arnav.")
    );
    assert_eq!(
        eval("States.Format($.template, $.name)", input),
        json!("Hello, my name is Arnav.")
    );
}

#[test]
fn guide_key_id_example() {
    assert_eq!(eval("States.Array($.Id)", json!({"Id": "k"})), json!(["k"]));
}

#[test]
fn guide_nesting_example_has_nine_calls_and_fails_on_its_placeholder_count() {
    // The guide's example of nine nested calls. It parses, within the limit
    // of 10 calls. But its template has three {} and only two values follow,
    // which breaks the guide's own rule, so it fails when it runs.
    let text = "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))";
    let parsed = parse(text).unwrap();
    assert_eq!(parsed.call_count(), 9);
    let input = json!({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe/1.0.2"}});
    let err = eval_err(text, input.clone());
    assert_eq!(failure_argument(&err), (Function::Format, Some(1)));
    // With two placeholders, the same nesting gives the major and minor version.
    let fixed = text.replacen("'{}.{}.{}'", "'{}.{}'", 1);
    assert_eq!(eval(&fixed, input), json!("1.0"));
}

#[test]
fn guide_reserved_character_escapes() {
    // DG: \' is ', \{ is {, \} is }, \\ is \.
    assert_eq!(
        eval(r"States.StringSplit('a\'b\{c\}d\\e', ',')", json!({})),
        json!([r"a'b{c}d\e"])
    );
}

#[test]
fn guide_bracket_notation_path_argument() {
    // DG: field names with characters outside member-name-shorthand need
    // bracket notation, e.g. $.abc.['def ghi'].
    let parsed = parse("States.Array($.abc.['def ghi'], $$.Execution.Id, $myVar.x)").unwrap();
    assert_eq!(
        parsed.args,
        vec![
            Arg::path("$.abc.['def ghi']"),
            Arg::path("$$.Execution.Id"),
            Arg::path("$myVar.x")
        ]
    );
    assert_eq!(path_kind("$.abc.['def ghi']"), PathKind::Input);
    assert_eq!(path_kind("$$.Execution.Id"), PathKind::Context);
    assert_eq!(path_kind("$myVar.x"), PathKind::Variable);
    assert_eq!(path_kind("$"), PathKind::Input);
    assert_eq!(path_kind("$$"), PathKind::Context);
    assert_eq!(path_kind("$[0]"), PathKind::Input);
}

// ---- the specification's examples ----

#[test]
fn spec_format_example_with_number_literal() {
    assert_eq!(
        eval(
            "States.Format('Your name is {}, we are in the year {}', $.name, 2020)",
            json!({"name": "Foo", "zebra": "stripe"})
        ),
        json!("Your name is Foo, we are in the year 2020")
    );
}

#[test]
fn spec_format_example_with_escaped_apostrophe() {
    // The JSON text "States.Format('Welcome to {} {}\\'s playlist.', …)" becomes this string.
    assert_eq!(
        eval(
            r"States.Format('Welcome to {} {}\'s playlist.', $.firstName, $.lastName)",
            json!({"firstName": "John", "lastName": "Doe"})
        ),
        json!("Welcome to John Doe's playlist.")
    );
}

#[test]
fn spec_array_example_with_null_literal() {
    assert_eq!(
        eval(
            "States.Array('Foo', 2020, $.someJson, null)",
            json!({"someJson": {"random": "abcdefg"}, "zebra": "stripe"})
        ),
        json!(["Foo", 2020, {"random": "abcdefg"}, null])
    );
}

#[test]
fn spec_string_to_json_and_json_to_string_examples() {
    assert_eq!(
        eval(
            "States.StringToJson($.someString)",
            json!({"someString": "{\"number\": 20}"})
        ),
        json!({"number": 20})
    );
    assert_eq!(
        eval(
            "States.JsonToString($.someJson)",
            json!({"someJson": {"name": "Foo", "year": 2020}})
        ),
        json!("{\"name\":\"Foo\",\"year\":2020}")
    );
}

// ---- parser ----

#[test]
fn parses_literals_of_every_kind() {
    let parsed = parse("States.Array('s', 1, -2, 3.25, -0.5, 1e3, true, false, null)").unwrap();
    assert_eq!(
        parsed.args,
        vec![
            Arg::string("s"),
            Arg::Number(1.into()),
            Arg::Number((-2).into()),
            Arg::Number(Number::from_f64(3.25).unwrap()),
            Arg::Number(Number::from_f64(-0.5).unwrap()),
            Arg::Number(Number::from_f64(1000.0).unwrap()),
            Arg::Bool(true),
            Arg::Bool(false),
            Arg::Null,
        ]
    );
}

#[test]
fn parses_nested_calls() {
    let parsed = parse("States.JsonToString(States.Array(1, 2))").unwrap();
    assert_eq!(
        parsed,
        Intrinsic {
            function: Function::JsonToString,
            args: vec![Arg::Call(Box::new(Intrinsic {
                function: Function::Array,
                args: vec![Arg::Number(1.into()), Arg::Number(2.into())],
                offset: 20,
            }))],
            offset: 0,
        }
    );
    assert_eq!(
        eval("States.JsonToString(States.Array(1, 2))", json!({})),
        json!("[1,2]")
    );
}

#[test]
fn whitespace_is_allowed_between_arguments_but_not_before_the_parenthesis() {
    assert!(parse("  States.Array( 1 ,\n\t$.a , 'x' )  ").is_ok());
    assert!(parse("States.UUID()").is_ok());
    assert!(parse("States.UUID( )").is_ok());
    let err = parse_err("States.UUID ()");
    assert!(
        matches!(err, IntrinsicError::Syntax { offset: 11, .. }),
        "{err}"
    );
}

#[test]
fn is_intrinsic_call_checks_the_states_prefix() {
    assert!(is_intrinsic_call("States.Format('x')"));
    assert!(is_intrinsic_call("States.Nope(1)"));
    assert!(!is_intrinsic_call("$.states"));
    assert!(!is_intrinsic_call("$$.Execution.Id"));
    assert!(!is_intrinsic_call("states.Format('x')"));
}

#[test]
fn unknown_function_is_refused_with_its_offset() {
    assert_eq!(
        parse_err("States.Nope(1)"),
        IntrinsicError::UnknownFunction {
            offset: 0,
            name: "States.Nope".into()
        }
    );
    assert_eq!(
        parse_err("States.Array(1, States.format('x'))"),
        IntrinsicError::UnknownFunction {
            offset: 16,
            name: "States.format".into()
        }
    );
    assert!(matches!(
        parse_err("Foo.Bar()"),
        IntrinsicError::UnknownFunction { .. }
    ));
}

#[test]
fn wrong_arity_is_refused() {
    let err = parse_err("States.ArrayLength()");
    assert_eq!(
        err,
        IntrinsicError::Arity {
            offset: 0,
            function: Function::ArrayLength,
            expected: Arity {
                min: 1,
                max: Some(1)
            },
            found: ArgCount(0)
        }
    );
    assert_eq!(
        err.to_string(),
        "States.ArrayLength at character 0 takes exactly 1 argument, but 0 were given"
    );
    assert!(matches!(
        parse_err("States.UUID(1)"),
        IntrinsicError::Arity { .. }
    ));
    assert!(matches!(
        parse_err("States.Format()"),
        IntrinsicError::Arity { .. }
    ));
    assert!(matches!(
        parse_err("States.MathRandom(1)"),
        IntrinsicError::Arity { .. }
    ));
    assert!(matches!(
        parse_err("States.MathRandom(1, 2, 3, 4)"),
        IntrinsicError::Arity { .. }
    ));
    assert!(parse("States.MathRandom(1, 2)").is_ok());
    assert!(parse("States.MathRandom(1, 2, 3)").is_ok());
    assert!(parse("States.Array()").is_ok());
}

#[test]
fn every_function_has_a_name_that_round_trips() {
    for f in Function::ALL {
        assert_eq!(Function::from_name(f.name()), Some(f));
        assert!(f.name().starts_with("States."));
    }
    assert_eq!(Function::from_name("States.UUID"), Some(Function::Uuid));
    assert_eq!(Function::from_name("States.Uuid"), None);
}

#[test]
fn hash_algorithm_literal_must_be_one_of_the_five() {
    for alg in HASH_ALGORITHMS {
        assert!(
            parse(&format!("States.Hash($.d, '{alg}')")).is_ok(),
            "{alg}"
        );
    }
    let err = parse_err("States.Hash($.d, 'SHA-3')");
    assert!(
        matches!(
            &err,
            IntrinsicError::InvalidArgument {
                function: Function::Hash,
                index: 2,
                offset: 17,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        parse_err("States.Hash($.d, 'sha-256')"),
        IntrinsicError::InvalidArgument { .. }
    ));
    assert!(matches!(
        parse_err("States.Hash($.d, 256)"),
        IntrinsicError::InvalidArgument { .. }
    ));
    assert!(matches!(
        parse_err("States.Hash(1, 'MD5')"),
        IntrinsicError::InvalidArgument { index: 1, .. }
    ));
}

#[test]
fn json_merge_third_literal_must_be_false() {
    assert!(parse("States.JsonMerge($.a, $.b, false)").is_ok());
    assert!(parse("States.JsonMerge($.a, $.b, $.deep)").is_ok());
    let err = parse_err("States.JsonMerge($.a, $.b, true)");
    assert!(
        matches!(&err, IntrinsicError::InvalidArgument { index: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("shallow"));
    assert!(matches!(
        parse_err("States.JsonMerge($.a, $.b, 'false')"),
        IntrinsicError::InvalidArgument { .. }
    ));
    assert!(matches!(
        parse_err("States.JsonMerge('{}', $.b, false)"),
        IntrinsicError::InvalidArgument { index: 1, .. }
    ));
}

#[test]
fn literal_types_are_checked_where_the_guide_fixes_them() {
    let refused = [
        "States.Format(1, 2)",
        "States.StringToJson(1)",
        "States.JsonToString('x')",
        "States.ArrayPartition('abc', 2)",
        "States.ArrayPartition($.a, '2')",
        "States.ArrayContains(null, 1)",
        "States.ArrayRange(1, '9', 2)",
        "States.ArrayGetItem($.a, true)",
        "States.ArrayLength('abc')",
        "States.ArrayUnique(1)",
        "States.Base64Encode(1)",
        "States.Base64Decode(false)",
        "States.MathRandom('1', 2)",
        "States.MathAdd(1, null)",
        "States.StringSplit(1, ',')",
        "States.StringSplit('a', 1)",
    ];
    for text in refused {
        assert!(
            matches!(parse_err(text), IntrinsicError::InvalidArgument { .. }),
            "{text}"
        );
    }
    // A path or a nested call may produce any type, so it is left to run time.
    assert!(parse("States.ArrayLength(States.StringSplit('a,b', ','))").is_ok());
    assert!(parse("States.MathAdd($.a, States.ArrayLength($.b))").is_ok());
    // Values that are wrong only in range are also left to run time.
    assert!(parse("States.ArrayRange(1, 9, 0)").is_ok());
    assert!(parse("States.ArrayPartition($.a, 0)").is_ok());
}

#[test]
fn syntax_errors_say_where_and_what() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "expected an intrinsic function"),
        ("$.a", 0, "expected an intrinsic function"),
        ("States.Array(1", 14, "unterminated argument list"),
        ("States.Array(1 2)", 15, "expected ',' or ')'"),
        ("States.Array(1,)", 15, "expected an argument"),
        ("States.Array(,1)", 13, "expected an argument"),
        ("States.Array('abc)", 13, "unterminated string literal"),
        (r"States.Array('a\nb')", 15, "invalid escape"),
        ("States.Array(\"x\")", 13, "single quotes"),
        ("States.Array(01)", 13, "invalid number '01'"),
        ("States.Array(1.)", 13, "invalid number"),
        ("States.Array(.5)", 13, "unexpected '.5'"),
        ("States.Array(1e999)", 13, "out of range"),
        ("States.Array(12ab)", 13, "invalid number '12ab'"),
        ("States.Array(yes)", 13, "unexpected 'yes'"),
        ("States.Array($.a[0)", 16, "unclosed '['"),
        ("States.Array($.a])", 16, "unbalanced ']'"),
        ("States.Array($.a['b)", 17, "unterminated quoted name"),
        ("States.Array($.a.length())", 23, "length()"),
        ("States.Array(1) x", 16, "after the end of the call"),
        ("States.Array(1))", 15, "after the end of the call"),
        ("States.Array(#)", 13, "unexpected '#'"),
    ];
    for (text, offset, fragment) in cases {
        let err = parse_err(text);
        match &err {
            IntrinsicError::Syntax { offset: o, message } => {
                assert_eq!(o, offset, "{text}: {err}");
                assert!(message.contains(fragment), "{text}: {message}");
            }
            other => panic!("{text}: expected a syntax error, got {other:?}"),
        }
    }
}

#[test]
fn offsets_count_characters_not_bytes() {
    let err = parse_err("States.Array('ééé', 1 2)");
    assert!(
        matches!(err, IntrinsicError::Syntax { offset: 22, .. }),
        "{err:?}"
    );
}

#[test]
fn paths_keep_escapes_filters_and_brackets_unparsed() {
    let parsed =
        parse(r"States.Array($.store\.book, $.a[?(@.b == 'x, y')], $['k)'][0], $$, $)").unwrap();
    assert_eq!(
        parsed.args,
        vec![
            Arg::path(r"$.store\.book"),
            Arg::path("$.a[?(@.b == 'x, y')]"),
            Arg::path("$['k)'][0]"),
            Arg::path("$$"),
            Arg::path("$"),
        ]
    );
}

#[test]
fn at_most_ten_calls_per_field() {
    let nested = |n: usize| format!("{}1{}", "States.Array(".repeat(n), ")".repeat(n));
    assert_eq!(parse(&nested(10)).unwrap().call_count(), 10);
    assert!(matches!(
        parse_err(&nested(11)),
        IntrinsicError::TooManyCalls { calls: 11, .. }
    ));
    // The limit counts calls, not depth: eleven sibling calls are too many as well.
    let siblings = format!("States.Array({})", ["States.UUID()"; 10].join(", "));
    assert!(matches!(
        parse_err(&siblings),
        IntrinsicError::TooManyCalls { .. }
    ));
    // Very deep text fails fast instead of overflowing the stack.
    assert!(matches!(
        parse_err(&nested(100_000)),
        IntrinsicError::TooManyCalls { .. }
    ));
}

#[test]
fn display_writes_source_that_parses_back_to_the_same_tree() {
    let texts = [
        r"States.Format('a \{\} {} \'q\' \\ {}', $.x, States.Array(1, -2.5, true, null))",
        "States.JsonMerge($.a, $['b c'], false)",
        "States.UUID()",
    ];
    for text in texts {
        let first = parse(text).unwrap();
        let printed = first.to_string();
        let second = parse(&printed).unwrap();
        assert_eq!(printed, second.to_string());
    }
    assert_eq!(
        Intrinsic::new(
            Function::StringSplit,
            vec![Arg::string("it's {x}"), Arg::string(",")]
        )
        .to_string(),
        r"States.StringSplit('it\'s \{x\}', ',')"
    );
}

// ---- States.Format ----

#[test]
fn format_escaped_braces_are_not_placeholders() {
    assert_eq!(
        eval(
            r"States.Format('escaped \{\} and {}', $.name)",
            json!({"name": "Arnav"})
        ),
        json!("escaped {} and Arnav")
    );
    // A lone unescaped brace is ordinary text.
    assert_eq!(
        eval("States.Format('a { b } {}', 1)", json!({})),
        json!("a { b } 1")
    );
}

#[test]
fn format_placeholder_count_must_match() {
    for text in [
        "States.Format('{} {}', 1)",
        "States.Format('{}', 1, 2)",
        "States.Format('x', 1)",
    ] {
        let err = eval_err(text, json!({}));
        assert_eq!(
            failure_argument(&err),
            (Function::Format, Some(1)),
            "{text}"
        );
    }
    let err = eval_err("States.Format($.t, 1)", json!({"t": "no placeholders"}));
    assert!(
        err.to_string()
            .contains("0 {} placeholder(s) but 1 value(s)"),
        "{err}"
    );
    assert_eq!(eval("States.Format('plain')", json!({})), json!("plain"));
}

#[test]
fn format_renders_values_as_aws_does() {
    // LS test_format_1/test_format_2 results recorded on AWS.
    let input = json!({
        "s": "", "sp": " ", "n": null, "i": 1, "f": 1.1, "t": true,
        "js": "{\"Arg1\": 1, \"Arg2\": []}", "o": {"Arg1": 1, "Arg2": []},
        "nested": {"Id": "arn:x", "Name": "m", "L": [1, "two", null, {"k": false}]}
    });
    let cases = [
        ("$.s", "Formatting argument ."),
        ("$.sp", "Formatting argument  ."),
        ("$.n", "Formatting argument null."),
        ("$.i", "Formatting argument 1."),
        ("$.f", "Formatting argument 1.1."),
        ("$.t", "Formatting argument true."),
        ("$.js", "Formatting argument {\"Arg1\": 1, \"Arg2\": []}."),
        ("$.o", "Formatting argument {Arg1=1, Arg2=[]}."),
        (
            "$.nested",
            "Formatting argument {Id=arn:x, Name=m, L=[1, two, null, {k=false}]}.",
        ),
    ];
    for (path, expected) in cases {
        let text = format!("States.Format('Formatting argument {{}}.', {path})");
        assert_eq!(eval(&text, input.clone()), json!(expected), "{path}");
    }
}

#[test]
fn format_template_from_data_must_be_a_string() {
    let err = eval_err("States.Format($.t)", json!({"t": 5}));
    assert_eq!(failure_argument(&err), (Function::Format, Some(1)));
}

// ---- arrays ----

#[test]
fn array_partition_edges() {
    // LS test_array_partition covers arrays of 0..5 items with chunk sizes 1..5.
    assert_eq!(
        eval("States.ArrayPartition($.a, 3)", json!({"a": []})),
        json!([])
    );
    assert_eq!(
        eval("States.ArrayPartition($.a, 5)", json!({"a": [0, 1]})),
        json!([[0, 1]])
    );
    assert_eq!(
        eval("States.ArrayPartition($.a, 1)", json!({"a": [0, 1]})),
        json!([[0], [1]])
    );
    // DG: a non-integer chunk size is rounded.
    assert_eq!(
        eval("States.ArrayPartition($.a, 1.5)", json!({"a": [0, 1, 2]})),
        json!([[0, 1], [2]])
    );
    for size in ["0", "-1", "0.4"] {
        let err = eval_err(
            &format!("States.ArrayPartition($.a, {size})"),
            json!({"a": [1]}),
        );
        assert_eq!(
            failure_argument(&err),
            (Function::ArrayPartition, Some(2)),
            "{size}"
        );
    }
    let err = eval_err("States.ArrayPartition($.a, 2)", json!({"a": {"x": 1}}));
    assert_eq!(failure_argument(&err), (Function::ArrayPartition, Some(1)));
}

#[test]
fn array_contains_uses_json_equality() {
    let input =
        json!({"a": [[1, 2, 3], 2, {"x": 1, "y": [2]}, true, null], "o": {"y": [2], "x": 1}});
    assert_eq!(
        eval(
            "States.ArrayContains($.a, States.Array(1, 2, 3))",
            input.clone()
        ),
        json!(true)
    );
    assert_eq!(
        eval("States.ArrayContains($.a, $.o)", input.clone()),
        json!(true)
    );
    assert_eq!(
        eval("States.ArrayContains($.a, null)", input.clone()),
        json!(true)
    );
    assert_eq!(
        eval("States.ArrayContains($.a, false)", input.clone()),
        json!(false)
    );
    assert_eq!(eval("States.ArrayContains($.a, '2')", input), json!(false));
    assert_eq!(
        eval("States.ArrayContains($.e, 1)", json!({"e": []})),
        json!(false)
    );
}

#[test]
fn array_range_edges() {
    assert_eq!(
        eval("States.ArrayRange(0, 10, 3)", json!({})),
        json!([0, 3, 6, 9])
    );
    assert_eq!(eval("States.ArrayRange(1, 9, 9)", json!({})), json!([1]));
    assert_eq!(eval("States.ArrayRange(5, 5, 1)", json!({})), json!([5]));
    assert_eq!(
        eval("States.ArrayRange(9, 1, -4)", json!({})),
        json!([9, 5, 1])
    );
    assert_eq!(eval("States.ArrayRange(1, 9, -1)", json!({})), json!([]));
    assert_eq!(
        eval("States.ArrayRange(1.5, 3.4, 0.6)", json!({})),
        json!([2, 3])
    );
    assert_eq!(
        eval("States.ArrayRange(1, 1000, 1)", json!({}))
            .as_array()
            .unwrap()
            .len(),
        1000
    );
    let err = eval_err("States.ArrayRange(0, 1000, 1)", json!({}));
    assert!(err.to_string().contains("1001 items"), "{err}");
    let err = eval_err("States.ArrayRange(1, 9, 0)", json!({}));
    assert_eq!(failure_argument(&err), (Function::ArrayRange, Some(3)));
    let err = eval_err("States.ArrayRange(1, 9, 0.4)", json!({}));
    assert_eq!(failure_argument(&err), (Function::ArrayRange, Some(3)));
    let err = eval_err(
        &format!("States.ArrayRange({}, {}, 1)", i64::MIN, i64::MAX),
        json!({}),
    );
    assert!(err.is_runtime());
}

#[test]
fn array_get_item_out_of_range_is_a_failure() {
    let input = json!({"a": [10, 20]});
    assert_eq!(
        eval("States.ArrayGetItem($.a, 1)", input.clone()),
        json!(20)
    );
    assert_eq!(
        eval("States.ArrayGetItem($.a, 1.0)", input.clone()),
        json!(20)
    );
    for index in ["2", "-1", "1.5", "99999999999999999999"] {
        let err = eval_err(&format!("States.ArrayGetItem($.a, {index})"), input.clone());
        assert_eq!(
            failure_argument(&err),
            (Function::ArrayGetItem, Some(2)),
            "{index}"
        );
    }
    let err = eval_err("States.ArrayGetItem($.a, $.i)", json!({"a": [1], "i": "0"}));
    assert_eq!(failure_argument(&err), (Function::ArrayGetItem, Some(2)));
}

#[test]
fn array_length_and_unique_need_arrays() {
    let err = eval_err("States.ArrayLength($.s)", json!({"s": "abc"}));
    assert_eq!(failure_argument(&err), (Function::ArrayLength, Some(1)));
    assert!(err.to_string().contains("string \"abc\""), "{err}");
    let err = eval_err("States.ArrayUnique($.s)", json!({"s": {"a": 1}}));
    assert_eq!(failure_argument(&err), (Function::ArrayUnique, Some(1)));
}

#[test]
fn array_unique_keeps_first_occurrences_of_any_json_value() {
    let input = json!({"a": [
        null, null, true, true, false, false, 1, 1, 1.1, 0, "HelloWorld", "HelloWorld",
        [], [], [null], [null], {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1}, 1.0, "1", true
    ]});
    assert_eq!(
        eval("States.ArrayUnique($.a)", input),
        json!([null, true, false, 1, 1.1, 0, "HelloWorld", [], [null], {"a": 1, "b": 2}, {"a": 1, "b": 1}, 1.0, "1"])
    );
}

// ---- encoding and hashing ----

#[test]
fn base64_round_trip_and_limits() {
    assert_eq!(eval("States.Base64Encode('')", json!({})), json!(""));
    assert_eq!(eval("States.Base64Decode('')", json!({})), json!(""));
    assert_eq!(
        eval("States.Base64Encode('héllo ✓')", json!({})),
        json!("aMOpbGxvIOKckw==")
    );
    assert_eq!(
        eval("States.Base64Decode('aMOpbGxvIOKckw==')", json!({})),
        json!("héllo ✓")
    );
    // MIME-style input: line breaks are skipped and padding is optional.
    assert_eq!(
        eval(
            "States.Base64Decode($.b)",
            json!({"b": "RGF0YSB0\r\nbyBlbmNvZGU"})
        ),
        json!("Data to encode")
    );
    let at_limit = "a".repeat(MAX_ENCODING_INPUT_CHARS);
    assert!(eval_with("States.Base64Encode($.s)", &json!({ "s": at_limit })).is_ok());
    let over = "a".repeat(MAX_ENCODING_INPUT_CHARS + 1);
    let err = eval_err("States.Base64Encode($.s)", json!({ "s": over }));
    assert_eq!(failure_argument(&err), (Function::Base64Encode, Some(1)));
    let err = eval_err(
        "States.Base64Decode($.s)",
        json!({ "s": "QUFB".repeat(2501) }),
    );
    assert_eq!(failure_argument(&err), (Function::Base64Decode, Some(1)));
    for bad in ["!!!!", "QQ=Q"] {
        let err = eval_err(&format!("States.Base64Decode('{bad}')"), json!({}));
        assert_eq!(
            failure_argument(&err),
            (Function::Base64Decode, Some(1)),
            "{bad}"
        );
    }
    // Decoded bytes that are not UTF-8 (0xff) cannot become a JSON string.
    let err = eval_err("States.Base64Decode('/w==')", json!({}));
    assert!(err.to_string().contains("UTF-8"), "{err}");
}

#[test]
fn hash_supports_all_five_algorithms() {
    let cases = [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
    ];
    for (alg, expected) in cases {
        assert_eq!(
            eval(&format!("States.Hash('input data', '{alg}')"), json!({})),
            json!(expected)
        );
    }
    let lengths = [("SHA-256", 64), ("SHA-384", 96), ("SHA-512", 128)];
    for (alg, len) in lengths {
        let v = eval(&format!("States.Hash('input data', '{alg}')"), json!({}));
        assert_eq!(v.as_str().unwrap().len(), len, "{alg}");
    }
    assert_eq!(
        eval("States.Hash('', 'SHA-256')", json!({})),
        json!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
}

#[test]
fn hash_checks_algorithm_and_data_at_run_time() {
    let err = eval_err("States.Hash($.d, $.a)", json!({"d": "x", "a": "SHA-3"}));
    assert_eq!(failure_argument(&err), (Function::Hash, Some(2)));
    let err = eval_err("States.Hash($.d, 'MD5')", json!({"d": {"x": 1}}));
    assert_eq!(failure_argument(&err), (Function::Hash, Some(1)));
    let err = eval_err(
        "States.Hash($.d, 'MD5')",
        json!({ "d": "x".repeat(10_001) }),
    );
    assert_eq!(failure_argument(&err), (Function::Hash, Some(1)));
}

// ---- JSON ----

#[test]
fn string_to_json_needs_a_string_of_valid_json() {
    assert_eq!(
        eval("States.StringToJson('[1, \"a\"]')", json!({})),
        json!([1, "a"])
    );
    assert_eq!(eval("States.StringToJson(' 42 ')", json!({})), json!(42));
    for bad in ["'{'", "''", "$.n"] {
        let err = eval_err(&format!("States.StringToJson({bad})"), json!({"n": 1}));
        assert_eq!(
            failure_argument(&err),
            (Function::StringToJson, Some(1)),
            "{bad}"
        );
    }
}

#[test]
fn json_to_string_serialises_any_value_compactly() {
    let input = json!({"o": {"b": [1, 2.5, null], "a": "q\"uote"}, "s": "x", "n": null});
    assert_eq!(
        eval("States.JsonToString($.o)", input.clone()),
        json!("{\"b\":[1,2.5,null],\"a\":\"q\\\"uote\"}")
    );
    assert_eq!(
        eval("States.JsonToString($.s)", input.clone()),
        json!("\"x\"")
    );
    assert_eq!(eval("States.JsonToString($.n)", input), json!("null"));
}

#[test]
fn json_merge_is_shallow_and_checks_its_arguments() {
    let input = json!({"a": {"x": {"deep": 1}, "y": 1}, "b": {"x": {"other": 2}}, "arr": [1]});
    assert_eq!(
        eval("States.JsonMerge($.a, $.b, false)", input.clone()),
        json!({"x": {"other": 2}, "y": 1})
    );
    let err = eval_err("States.JsonMerge($.a, $.arr, false)", input.clone());
    assert_eq!(failure_argument(&err), (Function::JsonMerge, Some(2)));
    let err = eval_err(
        "States.JsonMerge($.a, $.b, $.t)",
        json!({"a": {}, "b": {}, "t": true}),
    );
    assert_eq!(failure_argument(&err), (Function::JsonMerge, Some(3)));
}

// ---- math ----

#[test]
fn math_add_rounds_like_aws() {
    // LS test_math_add, recorded on AWS: ties round toward positive infinity.
    let cases = [
        ("-9", "3", -6),
        ("1.49", "1.5", 3),
        ("1.5", "1.51", 4),
        ("-1.49", "-1.5", -2),
        ("-1.5", "-1.51", -3),
        ("0.5", "0", 1),
        ("2.5", "0", 3),
        ("-0.5", "0", 0),
        ("-2.5", "0", -2),
    ];
    for (a, b, expected) in cases {
        assert_eq!(
            eval(&format!("States.MathAdd({a}, {b})"), json!({})),
            json!(expected),
            "{a} + {b}"
        );
    }
}

#[test]
fn math_add_range_is_that_of_a_32_bit_integer() {
    assert_eq!(
        eval("States.MathAdd(2147483647, 2147483647)", json!({})),
        json!(4_294_967_294_i64)
    );
    assert_eq!(
        eval("States.MathAdd(-2147483648, 0)", json!({})),
        json!(-2_147_483_648_i64)
    );
    let err = eval_err("States.MathAdd(1, 2147483648)", json!({}));
    assert_eq!(failure_argument(&err), (Function::MathAdd, Some(2)));
    let err = eval_err("States.MathAdd(-2147483649, 1)", json!({}));
    assert_eq!(failure_argument(&err), (Function::MathAdd, Some(1)));
    let err = eval_err("States.MathAdd($.s, 1)", json!({"s": "1"}));
    assert_eq!(failure_argument(&err), (Function::MathAdd, Some(1)));
}

#[test]
fn math_random_is_deterministic_with_a_seed_and_excludes_the_end() {
    let a = eval("States.MathRandom(1, 999, 42)", json!({}));
    let b = eval("States.MathRandom(1, 999, 42)", json!({}));
    assert_eq!(a, b);
    for _ in 0..50 {
        assert_eq!(eval("States.MathRandom(5, 6)", json!({})), json!(5));
    }
    // LS test_math_random uses (12.50, 44.51): both ends are rounded.
    let n = eval("States.MathRandom(12.50, 44.51)", json!({}))
        .as_i64()
        .unwrap();
    assert!((13..45).contains(&n), "{n}");
    for (start, end) in [("5", "5"), ("6", "5")] {
        let err = eval_err(&format!("States.MathRandom({start}, {end})"), json!({}));
        assert_eq!(failure_argument(&err), (Function::MathRandom, Some(2)));
    }
    let err = eval_err("States.MathRandom(1, 5, 'seed')", json!({}));
    assert!(matches!(err, IntrinsicError::InvalidArgument { index: 3, .. }) || err.is_runtime());
}

#[test]
fn math_random_guards_against_a_broken_randomness_source() {
    struct Broken;
    impl Randomness for Broken {
        fn uuid_v4(&mut self) -> String {
            String::new()
        }
        fn integer_in(&mut self, _: i64, end: i64, _: Option<i64>) -> i64 {
            end
        }
    }
    let call = parse("States.MathRandom(1, 3)").unwrap();
    let err = evaluate(&call, &mut |_| Ok(Value::Null), &mut Broken).unwrap_err();
    assert!(err.to_string().contains("outside [1, 3)"), "{err}");
}

// ---- strings ----

#[test]
fn string_split_drops_empty_pieces_like_aws() {
    // LS test_string_split, recorded on AWS.
    let cases = [
        (" ", ",", json!([" "])),
        (" , ", ",", json!([" ", " "])),
        (", , ,", ",", json!([" ", " "])),
        (",,,,", ",", json!([])),
        (
            "split on T and \nnew line",
            "T\n",
            json!(["split on ", " and ", "new line"]),
        ),
        ("", ",", json!([])),
        ("abc", "", json!(["abc"])),
    ];
    for (text, sep, expected) in cases {
        assert_eq!(
            eval("States.StringSplit($.t, $.s)", json!({"t": text, "s": sep})),
            expected,
            "{text:?} by {sep:?}"
        );
    }
    // LS test_escape_sequence: a raw newline inside a literal is accepted.
    assert_eq!(
        eval("States.StringSplit('Hello\nWorld', '\n')", json!({})),
        json!(["Hello", "World"])
    );
    let err = eval_err("States.StringSplit($.t, ',')", json!({"t": ["a"]}));
    assert_eq!(failure_argument(&err), (Function::StringSplit, Some(1)));
}

// ---- evaluation plumbing ----

#[test]
fn path_failures_name_the_function_argument_and_path() {
    let err = eval_err("States.Array(1, $.missing)", json!({}));
    assert_eq!(
        err,
        IntrinsicError::PathResolution {
            function: Function::Array,
            index: 2,
            path: "$.missing".into(),
            message: "no field 'missing' in $.missing".into()
        }
    );
    assert!(err.is_runtime());
    assert!(!parse_err("States.Nope()").is_runtime());
}

#[test]
fn resolver_receives_context_and_variable_paths_verbatim() {
    let call = parse("States.Format('{} {} {}', $$.Execution.Name, $greeting, $.x)").unwrap();
    let mut seen = Vec::new();
    let mut resolve = |path: &str| {
        seen.push(path.to_owned());
        Ok(json!(path_kind(path) as u8))
    };
    let v = evaluate(&call, &mut resolve, &mut SeededRandomness::new(1)).unwrap();
    assert_eq!(v, json!("1 2 0"));
    assert_eq!(seen, ["$$.Execution.Name", "$greeting", "$.x"]);
}

#[test]
fn hand_built_trees_are_checked_before_evaluation() {
    let bad_arity = Intrinsic::new(Function::ArrayLength, vec![]);
    let err = evaluate(
        &bad_arity,
        &mut |_| Ok(Value::Null),
        &mut SeededRandomness::new(1),
    )
    .unwrap_err();
    assert!(matches!(err, IntrinsicError::Arity { .. }));

    let mut deep = Intrinsic::new(Function::Array, vec![]);
    for _ in 0..MAX_CALLS_PER_FIELD {
        deep = Intrinsic::new(Function::Array, vec![Arg::Call(Box::new(deep))]);
    }
    let err = evaluate(
        &deep,
        &mut |_| Ok(Value::Null),
        &mut SeededRandomness::new(1),
    )
    .unwrap_err();
    assert!(matches!(err, IntrinsicError::TooManyCalls { .. }));
}

#[test]
fn uuid_comes_from_the_randomness_source() {
    let call = parse("States.Array(States.UUID(), States.UUID())").unwrap();
    let a = evaluate(
        &call,
        &mut |_| Ok(Value::Null),
        &mut SeededRandomness::new(3),
    )
    .unwrap();
    let b = evaluate(
        &call,
        &mut |_| Ok(Value::Null),
        &mut SeededRandomness::new(3),
    )
    .unwrap();
    assert_eq!(a, b);
    assert_ne!(a[0], a[1]);
}

#[test]
fn error_messages_name_function_and_argument() {
    let err = eval_err("States.ArrayPartition($.a, 0)", json!({"a": [1]}));
    assert_eq!(
        err.to_string(),
        "States.ArrayPartition argument 2: the chunk size must be a positive integer, got 0"
    );
    let err = parse_err("States.Hash('x', 'SHA3')");
    assert_eq!(
        err.to_string(),
        "States.Hash argument 2 at character 17: unsupported hash algorithm 'SHA3': expected one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
    );
}

// ---- no panics on arbitrary input ----

/// A small xorshift generator, so that the property tests need no extra dependency.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FRAGMENTS: &[&str] = &[
    "States.",
    "States.Format",
    "States.Array",
    "States.ArrayRange",
    "States.Hash",
    "States.JsonMerge",
    "States.UUID",
    "States.StringSplit",
    "States.MathAdd",
    "States.Nope",
    "(",
    ")",
    "(",
    ")",
    ",",
    ", ",
    "'",
    "'",
    "\\",
    "\\'",
    "\\{",
    "{}",
    "{",
    "}",
    "$",
    "$.",
    "$$",
    "$.a",
    "$v",
    "[",
    "]",
    "['",
    "']",
    "\"",
    "-",
    "0",
    "1",
    "9",
    ".",
    "e",
    "E+",
    "1e999",
    "true",
    "false",
    "null",
    " ",
    "\t",
    "\n",
    "é",
    "✓",
    "\u{0}",
    "a",
    "Z",
    "_",
    "?",
    "@",
    "(@.a)",
    "SHA-1",
    "MD5",
];

fn random_text(g: &mut Gen) -> String {
    let n = g.below(24);
    (0..n).map(|_| *g.pick(FRAGMENTS)).collect()
}

const VALID_EXAMPLES: &[&str] = &[
    "States.Format('Hello, my name is {}.', $.name)",
    "States.JsonToString(States.Array(1, 2))",
    r"States.Format('a \{\} {}', $.abc.['def ghi'])",
    "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(States.ArrayLength($.x), -1))",
    "States.JsonMerge($.a, $.b, false)",
    "States.Hash($.d, 'SHA-512')",
    "States.MathRandom(1, 999, 42)",
    "States.ArrayRange(1, 9, 2)",
];

fn mutate(g: &mut Gen, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=g.below(4) {
        let at = g.below(chars.len() + 1);
        match g.below(3) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 if at < chars.len() => chars[at] = g.pick(FRAGMENTS).chars().next().unwrap_or('x'),
            _ => {
                for (k, c) in g.pick(FRAGMENTS).chars().enumerate() {
                    chars.insert(at + k, c);
                }
            }
        }
    }
    chars.into_iter().collect()
}

fn random_value(g: &mut Gen, depth: usize) -> Value {
    let choice = if depth == 0 { g.below(7) } else { g.below(9) };
    match choice {
        0 => Value::Null,
        1 => Value::Bool(g.below(2) == 0),
        2 => json!(*g.pick(&[
            0i64,
            1,
            -1,
            5,
            999,
            1000,
            1001,
            i64::MIN,
            i64::MAX,
            2147483647,
            -2147483648
        ])),
        3 => json!(*g.pick(&[u64::MAX, 9_223_372_036_854_775_808])),
        4 => json!(*g.pick(&[
            0.5,
            -0.5,
            1.5,
            -0.0,
            1e300,
            -1e300,
            0.49999999999999994,
            2.5,
            1e19
        ])),
        5 => json!(*g.pick(&[
            "",
            " ",
            ",",
            "{}",
            "{} {}",
            "a,b,,c",
            "MD5",
            "SHA-256",
            "RGF0YQ==",
            "!!",
            "é✓",
            "{\"a\":1}",
            "[1,2]"
        ])),
        6 => Value::String("x".repeat(*g.pick(&[9_999, 10_000, 10_001]))),
        7 => Value::Array(
            (0..g.below(5))
                .map(|_| random_value(g, depth - 1))
                .collect(),
        ),
        _ => {
            let mut map = Map::new();
            for k in 0..g.below(4) {
                map.insert(format!("k{}", k % 2), random_value(g, depth - 1));
            }
            Value::Object(map)
        }
    }
}

#[test]
fn parse_never_panics_on_arbitrary_text() {
    let mut g = Gen(0x2545_F491_4F6C_DD1D);
    let mut parsed = 0;
    for i in 0..40_000 {
        let text = if i % 2 == 0 {
            random_text(&mut g)
        } else {
            let base = *g.pick(VALID_EXAMPLES);
            mutate(&mut g, base)
        };
        if let Ok(call) = parse(&text) {
            parsed += 1;
            // What parses also prints back to text that parses.
            assert!(parse(&call.to_string()).is_ok(), "{text} -> {call}");
        }
    }
    assert!(
        parsed > 100,
        "the generator should also produce valid calls ({parsed})"
    );
}

#[test]
fn every_function_survives_arbitrary_argument_values() {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let mut random = SeededRandomness::new(11);
    for round in 0..3_000 {
        for function in Function::ALL {
            let arity = function.arity();
            let count = arity.min + g.below(arity.max.unwrap_or(arity.min + 3) - arity.min + 1);
            let values: Vec<Value> = (0..count).map(|_| random_value(&mut g, 3)).collect();
            let args = (0..count).map(|i| Arg::Path(format!("$.a{i}"))).collect();
            let call = Intrinsic::new(function, args);
            let mut resolve = |path: &str| {
                let i: usize = path[3..].parse().map_err(|_| "bad path".to_owned())?;
                Ok(values[i].clone())
            };
            let result = evaluate(&call, &mut resolve, &mut random);
            if let Err(e) = &result {
                assert!(e.is_runtime(), "{function} round {round}: {e}");
                assert!(e.to_string().starts_with(function.name()), "{e}");
            }
        }
    }
}

#[test]
fn evaluating_arbitrary_parsed_text_never_panics() {
    let mut g = Gen(0xDEAD_BEEF_CAFE_F00D);
    let mut random = SeededRandomness::new(5);
    for _ in 0..20_000 {
        let base = *g.pick(VALID_EXAMPLES);
        let text = mutate(&mut g, base);
        if let Ok(call) = parse(&text) {
            let value = random_value(&mut g, 3);
            let _ = evaluate(&call, &mut |_| Ok(value.clone()), &mut random);
        }
    }
}
