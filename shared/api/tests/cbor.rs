//! The Smithy RPC v2 CBOR codec: request bodies as SDKs send them decode to the JSON the operations take,
//! outputs encode with tag-1 timestamps, errors carry absolute shape ids, and no input makes it panic.
//! Client-side bodies are written with ciborium, an encoder independent of the one under test.

use ciborium::Value as Cbor;
use proptest::prelude::*;
use serde_json::{Value, json};
use sluice_api::cbor::{
    self, CborError, decode_input, encode_error, encode_output, operation_name, output_body,
};

/// A body as a client writes it.
fn client_body(value: &impl serde::Serialize) -> Vec<u8> {
    let mut body = Vec::new();
    ciborium::into_writer(value, &mut body).expect("ciborium writes to a Vec");
    body
}

/// A body as a client reads it.
fn read(body: &[u8]) -> Cbor {
    ciborium::from_reader(body).expect("the body is well-formed CBOR")
}

/// The value of `key` in a CBOR map.
fn get<'v>(map: &'v Cbor, key: &str) -> &'v Cbor {
    map.as_map()
        .and_then(|entries| {
            entries
                .iter()
                .find(|(k, _)| k.as_text() == Some(key))
                .map(|(_, v)| v)
        })
        .unwrap_or_else(|| panic!("no {key} in {map:?}"))
}

fn create_pipeline_input() -> Value {
    json!({
        "pipeline": {
            "name": "web-app",
            "roleArn": "arn:aws:iam::111111111111:role/CodePipelineRole",
            "artifactStore": {"type": "S3", "location": "sluice-artifacts"},
            "pipelineType": "V2",
            "executionMode": "QUEUED",
            "version": 1,
            "variables": [{"name": "Env", "defaultValue": "staging", "description": "where to deploy"}],
            "stages": [
                {
                    "name": "Source",
                    "actions": [{
                        "name": "Checkout",
                        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                        "runOrder": 1,
                        "configuration": {"S3Bucket": "sources", "S3ObjectKey": "app.zip", "PollForSourceChanges": "false"},
                        "outputArtifacts": [{"name": "SourceOutput"}]
                    }]
                },
                {
                    "name": "Build",
                    "onFailure": {"result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}},
                    "actions": [{
                        "name": "Compile",
                        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                        "runOrder": 1,
                        "configuration": {"ProjectName": "web-app"},
                        "inputArtifacts": [{"name": "SourceOutput"}],
                        "outputArtifacts": [{"name": "BuildOutput"}],
                        "namespace": "BuildVariables",
                        "timeoutInMinutes": 60
                    }]
                }
            ],
            "triggers": [{
                "providerType": "CodeStarSourceConnection",
                "gitConfiguration": {
                    "sourceActionName": "Checkout",
                    "push": [{"branches": {"includes": ["main", "release/*"]}}]
                }
            }]
        },
        "tags": [{"key": "team", "value": "platform"}]
    })
}

fn start_pipeline_execution_input() -> Value {
    json!({
        "name": "web-app",
        "variables": [
            {"name": "Env", "value": "production"},
            {"name": "Commit", "value": "9f2c1e0"}
        ],
        "clientRequestToken": "3b1f2c9e-7d4a-4a8e-9f00-0c1d2e3f4a5b",
        "sourceRevisions": [{"actionName": "Checkout", "revisionType": "COMMIT_ID", "revisionValue": "9f2c1e0"}]
    })
}

fn get_pipeline_output() -> Value {
    let mut pipeline = create_pipeline_input()["pipeline"].clone();
    pipeline["version"] = json!(3);
    json!({
        "pipeline": pipeline,
        "metadata": {
            "pipelineArn": "arn:aws:codepipeline:us-east-1:111111111111:web-app",
            "created": 1764150000.123,
            "updated": 1764153600
        }
    })
}

// ---- decoding requests ----

#[test]
fn a_create_pipeline_request_from_a_client_decodes_to_the_json_awsjson_carries() {
    let input = create_pipeline_input();
    assert_eq!(decode_input(&client_body(&input)).unwrap(), input);
}

#[test]
fn a_create_pipeline_input_round_trips_through_encode_and_decode() {
    let input = create_pipeline_input();
    let body = encode_output(&input, "CreatePipelineInput");
    assert_eq!(
        read(&body),
        read(&client_body(&input)),
        "same items as a client writes"
    );
    assert_eq!(decode_input(&body).unwrap(), input);
}

#[test]
fn a_start_pipeline_execution_input_with_variables_round_trips() {
    let input = start_pipeline_execution_input();
    assert_eq!(decode_input(&client_body(&input)).unwrap(), input);
    let body = encode_output(&input, "StartPipelineExecutionInput");
    assert_eq!(decode_input(&body).unwrap(), input);
}

#[test]
fn an_empty_body_is_an_empty_input() {
    assert_eq!(decode_input(&[]).unwrap(), json!({}));
    assert_eq!(decode_input(&[0xa0]).unwrap(), json!({}));
}

#[test]
fn indefinite_length_maps_arrays_and_strings_are_decoded() {
    let mut body = vec![0xbf]; // map, indefinite length
    body.extend([0x64, b'n', b'a', b'm', b'e']);
    body.extend([
        0x7f, 0x63, b'w', b'e', b'b', 0x64, b'-', b'a', b'p', b'p', 0xff,
    ]); // "web" "-app"
    body.extend([0x69]);
    body.extend(b"variables");
    body.extend([0x9f, 0xbf]); // array, then map, both indefinite
    body.extend([0x64, b'n', b'a', b'm', b'e', 0x63, b'E', b'n', b'v']);
    body.extend([0x65, b'v', b'a', b'l', b'u', b'e', 0x62, b'q', b'a']);
    body.extend([0xff, 0xff]); // end of map, end of array
    body.extend([0x65, b'b', b'l', b'o', b'b', b's']);
    body.extend([0x5f, 0x42, 0x01, 0x02, 0x41, 0x03, 0xff]); // bytes 01 02 + 03
    body.push(0xff);
    assert_eq!(
        decode_input(&body).unwrap(),
        json!({
            "name": "web-app",
            "variables": [{"name": "Env", "value": "qa"}],
            "blobs": "AQID"
        })
    );
}

#[test]
fn tag_1_timestamps_decode_to_epoch_second_numbers() {
    let revision = |created: Cbor| {
        Cbor::Map(vec![
            (Cbor::from("jobId"), Cbor::from("job-1")),
            (
                Cbor::from("currentRevision"),
                Cbor::Map(vec![
                    (Cbor::from("revision"), Cbor::from("9f2c1e0")),
                    (Cbor::from("changeIdentifier"), Cbor::from("push-1")),
                    (Cbor::from("created"), Cbor::Tag(1, Box::new(created))),
                ]),
            ),
        ])
    };
    let created = |body: &[u8]| decode_input(body).unwrap()["currentRevision"]["created"].clone();
    assert_eq!(
        created(&client_body(&revision(Cbor::from(1764150000)))),
        json!(1764150000)
    );
    assert_eq!(
        created(&client_body(&revision(Cbor::Float(1764150000.123)))),
        json!(1764150000.123)
    );
    // A single-precision timestamp, as some encoders shorten one.
    let mut body = client_body(&revision(Cbor::Float(0.0)));
    let at = body.len() - 3;
    body.truncate(at);
    body.extend([0xfa, 0x4f, 0x00, 0x00, 0x00]); // f32 2147483648.0
    assert_eq!(created(&body), json!(2147483648.0));
}

#[test]
fn half_precision_floats_are_decoded() {
    // {"n": 1.5} with 1.5 as a 16-bit float.
    assert_eq!(
        decode_input(&[0xa1, 0x61, b'n', 0xf9, 0x3e, 0x00]).unwrap(),
        json!({"n": 1.5})
    );
    // Non-finite floats become awsJson's strings.
    assert_eq!(
        decode_input(&[0xa1, 0x61, b'n', 0xf9, 0x7c, 0x00]).unwrap(),
        json!({"n": "Infinity"})
    );
}

#[test]
fn null_and_undefined_members_are_absent() {
    let body = [
        0xa3, 0x64, b'n', b'a', b'm', b'e', 0x61, b'p', 0x69, b'n', b'e', b'x', b't', b'T', b'o',
        b'k', b'e', b'n', 0xf6, 0x61, b'u', 0xf7,
    ];
    assert_eq!(decode_input(&body).unwrap(), json!({"name": "p"}));
}

#[test]
fn byte_strings_decode_to_base64_text() {
    let body = client_body(&Cbor::Map(vec![(
        Cbor::from("data"),
        Cbor::Bytes(b"hello".to_vec()),
    )]));
    assert_eq!(decode_input(&body).unwrap(), json!({"data": "aGVsbG8="}));
}

#[test]
fn the_self_described_cbor_marker_is_ignored() {
    assert_eq!(
        decode_input(&[0xd9, 0xd9, 0xf7, 0xa1, 0x61, b'n', 0x01]).unwrap(),
        json!({"n": 1})
    );
}

// ---- malformed requests ----

#[test]
fn every_truncation_of_a_request_is_a_cbor_error() {
    let body = client_body(&create_pipeline_input());
    for end in 1..body.len() {
        let error = decode_input(&body[..end]).expect_err("a truncated body is rejected");
        assert!(
            matches!(error, CborError::Truncated),
            "cut at {end}: {error}"
        );
    }
    assert_eq!(
        CborError::Truncated.to_string(),
        "The request body is not valid CBOR: it ends before its last item is complete"
    );
}

#[test]
fn a_top_level_item_other_than_a_map_is_rejected() {
    for (body, found) in [
        (vec![0x80], "an array"),
        (vec![0x61, b'x'], "a text string"),
        (vec![0x01], "an integer"),
        (vec![0xf6], "null"),
        (vec![0xc1, 0x01], "an item tagged 1"),
    ] {
        let error = decode_input(&body).unwrap_err();
        assert!(
            matches!(&error, CborError::NotAMap { found: f } if f == found),
            "{body:02x?}: {error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("The request body must be a CBOR map of the input's members, not {found}")
        );
    }
}

#[test]
fn non_text_keys_are_rejected_naming_the_map() {
    let error = decode_input(&[0xa1, 0x01, 0x02]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "A key of the input is an integer; map keys must be text strings"
    );
    let body = client_body(&Cbor::Map(vec![(
        Cbor::from("pipeline"),
        Cbor::Map(vec![(
            Cbor::from("stages"),
            Cbor::Array(vec![Cbor::Map(vec![(
                Cbor::Bytes(b"name".to_vec()),
                Cbor::from("Source"),
            )])]),
        )]),
    )]));
    let error = decode_input(&body).unwrap_err();
    assert!(matches!(error, CborError::NonTextKey { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "A key of pipeline.stages[0] is a byte string; map keys must be text strings"
    );
}

#[test]
fn bytes_after_the_map_are_rejected() {
    let error = decode_input(&[0xa0, 0xa0]).unwrap_err();
    assert!(
        matches!(error, CborError::TrailingBytes { count: 1 }),
        "{error:?}"
    );
}

#[test]
fn a_key_given_twice_is_rejected() {
    let error = decode_input(&[0xa2, 0x61, b'n', 0x01, 0x61, b'n', 0x02]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "The key \"n\" appears more than once in the input"
    );
}

#[test]
fn timestamps_must_be_finite_numbers() {
    for tagged in [Cbor::from("2025-11-26T10:00:00Z"), Cbor::Float(f64::NAN)] {
        let body = client_body(&Cbor::Map(vec![(
            Cbor::from("created"),
            Cbor::Tag(1, Box::new(tagged)),
        )]));
        let error = decode_input(&body).unwrap_err();
        assert!(matches!(error, CborError::BadTimestamp { .. }), "{error:?}");
    }
}

#[test]
fn unknown_tags_and_integers_beyond_64_bits_are_rejected() {
    let uri = client_body(&Cbor::Map(vec![(
        Cbor::from("url"),
        Cbor::Tag(32, Box::new(Cbor::from("https://example.com"))),
    )]));
    let error = decode_input(&uri).unwrap_err();
    assert_eq!(
        error.to_string(),
        "The value at url is tagged 32, which this protocol does not use (timestamps are tag 1; big numbers are not supported)"
    );
    // {"n": -2^64}
    let body = [
        0xa1, 0x61, b'n', 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];
    let error = decode_input(&body).unwrap_err();
    assert!(
        matches!(error, CborError::IntegerOutOfRange { .. }),
        "{error:?}"
    );
    // Reserved simple values and stray breaks are not well-formed inputs.
    assert!(decode_input(&[0xa1, 0x61, b'n', 0xf0]).is_err());
    assert!(decode_input(&[0xff]).is_err());
}

#[test]
fn deep_nesting_is_rejected_without_exhausting_the_stack() {
    let mut body = vec![0xa1, 0x61, b'n'];
    body.extend(std::iter::repeat_n(0x81, 100_000));
    body.push(0x01);
    let error = decode_input(&body).unwrap_err();
    assert!(matches!(error, CborError::TooDeep), "{error:?}");
}

#[test]
fn a_huge_declared_length_is_rejected_without_allocating_it() {
    let body = [
        0xa1, 0x61, b'n', 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];
    assert!(matches!(decode_input(&body), Err(CborError::Truncated)));
    let body = [
        0xa1, 0x61, b'n', 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];
    assert!(matches!(decode_input(&body), Err(CborError::Truncated)));
}

// ---- encoding outputs ----

#[test]
fn a_get_pipeline_output_writes_metadata_created_and_updated_as_tag_1() {
    let output = get_pipeline_output();
    let body = encode_output(&output, "GetPipelineOutput");
    let answer = read(&body);
    let metadata = get(&answer, "metadata");
    assert_eq!(
        get(metadata, "created"),
        &Cbor::Tag(1, Box::new(Cbor::Float(1764150000.123)))
    );
    assert_eq!(
        get(metadata, "updated"),
        &Cbor::Tag(1, Box::new(Cbor::from(1764153600)))
    );
    assert_eq!(
        get(metadata, "pipelineArn"),
        &Cbor::from("arn:aws:codepipeline:us-east-1:111111111111:web-app")
    );
    let pipeline = get(&answer, "pipeline");
    assert_eq!(get(pipeline, "version"), &Cbor::from(3));
    assert_eq!(get(pipeline, "stages").as_array().map(Vec::len), Some(2));
    assert_eq!(
        decode_input(&body).unwrap(),
        output,
        "a client reads back the same output"
    );
}

#[test]
fn a_list_pipelines_output_writes_every_summary_timestamp_as_tag_1() {
    let output = json!({
        "pipelines": [
            {"name": "api", "version": 2, "pipelineType": "V2", "executionMode": "SUPERSEDED",
             "created": 1764150000.5, "updated": 1764150100.25},
            {"name": "web-app", "version": 1, "pipelineType": "V1", "executionMode": "QUEUED",
             "created": 1764140000, "updated": 1764140000}
        ],
        "nextToken": "eyJhZnRlciI6IndlYi1hcHAifQ=="
    });
    let body = encode_output(&output, "ListPipelinesOutput");
    let answer = read(&body);
    let summaries = get(&answer, "pipelines").as_array().expect("an array");
    for summary in summaries {
        for member in ["created", "updated"] {
            assert!(
                matches!(get(summary, member), Cbor::Tag(1, _)),
                "{member} of {summary:?}"
            );
        }
        assert!(get(summary, "version").is_integer());
    }
    assert_eq!(
        get(&answer, "nextToken"),
        &Cbor::from("eyJhZnRlciI6IndlYi1hcHAifQ=="),
        "a string member stays text, though it looks like base64"
    );
    assert_eq!(decode_input(&body).unwrap(), output);
}

#[test]
fn an_operation_without_output_answers_no_body_and_an_empty_output_is_the_empty_map() {
    assert_eq!(output_body("DeletePipeline", &json!({})), None);
    assert_eq!(output_body("PutJobSuccessResult", &json!({})), None);
    assert_eq!(output_body("ListPipelines", &json!({})), Some(vec![0xa0]));
    assert_eq!(
        output_body("ListPipelines", &json!({"pipelines": []})),
        Some(vec![
            0xa1, 0x69, b'p', b'i', b'p', b'e', b'l', b'i', b'n', b'e', b's', 0x80
        ])
    );
    assert_eq!(output_body("NoSuchOperation", &json!({})), None);
}

#[test]
fn null_output_members_are_left_out() {
    let body = encode_output(
        &json!({"nextToken": null, "pipelines": []}),
        "ListPipelinesOutput",
    );
    assert_eq!(
        read(&body),
        Cbor::Map(vec![(Cbor::from("pipelines"), Cbor::Array(vec![]))])
    );
}

#[test]
fn floats_are_written_as_64_bit_doubles_and_integers_in_their_shortest_form() {
    let body = encode_output(
        &json!({"f": 1.5, "i": 500, "m": -1, "t": true}),
        "NotAShape",
    );
    let mut expected = vec![0xa4, 0x61, b'f', 0xfb];
    expected.extend(1.5f64.to_be_bytes());
    expected.extend([0x61, b'i', 0x19, 0x01, 0xf4]);
    expected.extend([0x61, b'm', 0x20]);
    expected.extend([0x61, b't', 0xf5]);
    assert_eq!(body, expected);
    let extremes = json!({"max": u64::MAX, "min": i64::MIN});
    assert_eq!(
        decode_input(&encode_output(&extremes, "NotAShape")).unwrap(),
        extremes
    );
}

// ---- errors ----

#[test]
fn an_error_carries_the_absolute_shape_id_of_a_modeled_exception_and_the_message() {
    let body = encode_error(
        "PipelineNotFoundException",
        "The pipeline web-app was not found",
    );
    assert_eq!(
        read(&body),
        Cbor::Map(vec![
            (
                Cbor::from("__type"),
                Cbor::from("com.amazonaws.codepipeline#PipelineNotFoundException")
            ),
            (
                Cbor::from("message"),
                Cbor::from("The pipeline web-app was not found")
            ),
        ])
    );
}

#[test]
fn framework_errors_are_in_the_service_framework_namespace() {
    assert_eq!(
        cbor::error_shape_id("SerializationException"),
        "com.amazon.coral.service#SerializationException"
    );
    assert_eq!(
        cbor::error_shape_id("ValidationException"),
        "com.amazonaws.codepipeline#ValidationException",
        "CodePipeline models its own ValidationException"
    );
    assert_eq!(cbor::error_shape_id("a.b#Custom"), "a.b#Custom");
}

// ---- routing ----

#[test]
fn the_operation_is_the_last_segment_of_a_service_path() {
    let path = "/service/CodePipeline_20150709/operation/ListPipelines";
    assert_eq!(operation_name(path), Some("ListPipelines"));
    assert_eq!(
        operation_name(
            "/v1/service/com.amazonaws.codepipeline.CodePipeline_20150709/operation/GetPipeline"
        ),
        Some("GetPipeline"),
        "a prefix and the absolute service id are accepted"
    );
    for path in [
        "/",
        "/service/CodePipeline_20150709/operation/",
        "/service/OtherService/operation/ListPipelines",
        "/service/CodePipeline_20150709/operation/com.amazonaws.codepipeline#ListPipelines",
        "/service/CodePipeline_20150709/operations/ListPipelines",
    ] {
        assert_eq!(operation_name(path), None, "{path}");
    }
}

// ---- no input panics ----

/// JSON values as the operations give them: maps without null members, finite numbers.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..6).prop_map(|members| {
                Value::Object(members.into_iter().filter(|(_, v)| !v.is_null()).collect())
            }),
        ]
    })
}

proptest! {
    #[test]
    fn random_bytes_decode_or_fail_without_panicking(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_input(&body);
    }

    #[test]
    fn a_corrupted_request_decodes_or_fails_without_panicking(
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut body = client_body(&start_pipeline_execution_input());
        let at = at.index(body.len());
        body[at] = byte;
        let _ = decode_input(&body);
        body.truncate(cut.index(body.len()));
        let _ = decode_input(&body);
    }

    #[test]
    fn any_output_object_round_trips(members in prop::collection::btree_map("[a-z]{1,8}", json_value(), 0..6)) {
        let value = Value::Object(members.into_iter().filter(|(_, v)| !v.is_null()).collect());
        prop_assert_eq!(decode_input(&encode_output(&value, "NotAShape")).unwrap(), value);
    }
}
