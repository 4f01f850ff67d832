//! The Smithy RPC v2 CBOR protocol (`smithy.protocols#rpcv2Cbor`), which the model lists first and
//! current AWS SDKs and the aws CLI prefer: `POST {prefix}/service/CodePipeline_20150709/operation/<Op>`
//! with `smithy-protocol: rpc-v2-cbor` and a CBOR map of the input's members as the body.
//!
//! The operations take and give the JSON values awsJson1.1 carries, so this module only translates:
//! - [`decode_input`]: a request body → the JSON input. Tag-1 timestamps become epoch-second numbers,
//!   byte strings base64 text, and `null` (or `undefined`) map values are absent members.
//! - [`encode_output`] / [`output_body`]: a JSON output → CBOR. The model's output shape says which
//!   members are timestamps (tag 1) and blobs (byte strings); everything else maps by its JSON kind.
//! - [`encode_error`]: `{"__type": <absolute shape id>, "message": …}`.
//!
//! Protocol decisions, from the specification (smithy.io, "Smithy RPC v2 CBOR protocol"):
//! - An operation without an output (botocore omits `output`; Smithy's `Unit`) answers 200 with no body
//!   and no `Content-Type` ([`output_body`] is `None`). An operation with an output answers a map, `{}`
//!   (the single byte `0xa0`) when it has no members to report.
//! - `__type` is the error's absolute shape id, as the specification requires: the model's exceptions in
//!   `com.amazonaws.codepipeline#`, the service framework's errors (SerializationException,
//!   UnknownOperationException, …) in `com.amazon.coral.service#` as AWS answers them. Clients keep what
//!   follows the `#` (botocore, the Rust and Java SDKs), so the short name is what a caller sees.
//! - Written items have definite lengths, integers their shortest form, and floats 64 bits: the
//!   specification advises against half-precision floats, which a general encoder would pick for 1.5.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ciborium::Value as Cbor;
use serde_json::{Map, Number, Value};

use sluice_core::model;
use sluice_core::model::{ServiceModel, Shape};

/// The header naming the protocol, on every request and response.
pub const PROTOCOL_HEADER: &str = "smithy-protocol";
/// The protocol header's value.
pub const PROTOCOL: &str = "rpc-v2-cbor";
/// The `Content-Type` of every request and response body.
pub const CONTENT_TYPE: &str = "application/cbor";
/// The service segment of the path: the service shape's name.
pub const SERVICE_NAME: &str = "CodePipeline_20150709";
/// The service segment as an absolute shape id with `#` written `.`, which servers should also accept.
pub const SERVICE_ID_SEGMENT: &str = "com.amazonaws.codepipeline.CodePipeline_20150709";
/// The namespace of the model's shapes, errors included.
pub const NAMESPACE: &str = "com.amazonaws.codepipeline";
/// The namespace AWS gives the errors of its service framework, which no service model declares.
pub const FRAMEWORK_NAMESPACE: &str = "com.amazon.coral.service";

/// CBOR tag 1: an epoch-based date/time, the protocol's only timestamp form.
const TAG_EPOCH: u64 = 1;
/// CBOR tag 55799: "self-described CBOR", a marker that carries no meaning and may prefix any item.
const TAG_SELF_DESCRIBED: u64 = 55799;

/// Why a request body is not an input: each message says what is wrong and where, for the
/// SerializationException the caller answers.
#[derive(Debug, thiserror::Error)]
pub enum CborError {
    #[error("The request body is not valid CBOR: it ends before its last item is complete")]
    Truncated,
    #[error("The request body is not valid CBOR: byte {offset} does not start or continue an item")]
    Syntax { offset: usize },
    #[error("The request body is not valid CBOR: {reason}")]
    Invalid { reason: String },
    #[error("The request body nests items too deeply to be an input")]
    TooDeep,
    #[error(
        "The request body has {count} bytes after its CBOR map; the body must be one map of the input's members"
    )]
    TrailingBytes { count: usize },
    #[error("The request body must be a CBOR map of the input's members, not {found}")]
    NotAMap { found: String },
    #[error("A key of {at} is {found}; map keys must be text strings")]
    NonTextKey { at: String, found: String },
    #[error("The key {key:?} appears more than once in {at}")]
    DuplicateKey { at: String, key: String },
    #[error(
        "The timestamp (tag 1) at {at} is {found}; a timestamp must be a finite number of epoch seconds"
    )]
    BadTimestamp { at: String, found: String },
    #[error(
        "The value at {at} is tagged {tag}, which this protocol does not use (timestamps are tag 1; big numbers are not supported)"
    )]
    UnsupportedTag { at: String, tag: u64 },
    #[error("The integer {value} at {at} does not fit in 64 bits")]
    IntegerOutOfRange { at: String, value: i128 },
    #[error("The value at {at} is {found}, which no input member can hold")]
    Unsupported { at: String, found: String },
}

impl From<ciborium::de::Error<std::io::Error>> for CborError {
    fn from(error: ciborium::de::Error<std::io::Error>) -> Self {
        use ciborium::de::Error;
        match error {
            // The body is a byte slice: reading it fails only by running out of bytes.
            Error::Io(_) => CborError::Truncated,
            Error::Syntax(offset) => CborError::Syntax { offset },
            Error::Semantic(_, reason) => CborError::Invalid { reason },
            Error::RecursionLimitExceeded => CborError::TooDeep,
        }
    }
}

/// The operation a request path names, for `{prefix}/service/<service>/operation/<Op>`: only the last
/// four segments count, and the service is [`SERVICE_NAME`] or [`SERVICE_ID_SEGMENT`]. `None` for any
/// other path. The operation is not checked against the model, so the caller can report it as unknown.
pub fn operation_name(path: &str) -> Option<&str> {
    let mut segments = path.rsplit('/');
    let operation = segments.next()?;
    let (Some("operation"), Some(service), Some("service")) =
        (segments.next(), segments.next(), segments.next())
    else {
        return None;
    };
    let known_service = service == SERVICE_NAME || service == SERVICE_ID_SEGMENT;
    // The specification forbids an absolute shape id in the operation segment.
    let plain = !operation.is_empty() && !operation.contains(['.', '#']);
    (known_service && plain).then_some(operation)
}

/// A request body → the JSON value the operations take: timestamps (tag 1) become epoch-second
/// numbers and byte strings base64 text, as awsJson carries them; `null` and `undefined` map values are
/// absent members; non-finite floats become awsJson's `"NaN"`, `"Infinity"` and `"-Infinity"`. An empty
/// body is an empty input. Indefinite-length items and half-precision floats are read like any other.
pub fn decode_input(body: &[u8]) -> Result<Value, CborError> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let mut rest = body;
    let item: Cbor = ciborium::from_reader(&mut rest)?;
    if !rest.is_empty() {
        return Err(CborError::TrailingBytes { count: rest.len() });
    }
    match untagged(item) {
        Cbor::Map(entries) => map_to_json(entries, &mut String::new()),
        other => Err(CborError::NotAMap {
            found: kind(&other),
        }),
    }
}

/// An operation's JSON output → CBOR, with `shape` (the output shape's name in the model) saying which
/// members are timestamps (written as tag 1) and blobs (base64 text written as byte strings). Members the
/// shape does not name, and values of an unknown shape, are written by their JSON kind; `null` members
/// are left out.
pub fn encode_output(value: &Value, shape: &str) -> Vec<u8> {
    let model = model::codepipeline();
    let mut encoder = Encoder::default();
    encoder.value(model, value, model.shape(shape));
    encoder.out
}

/// The body of an operation's successful answer: `None` for an operation without an output (no body
/// and no `Content-Type`, as the protocol requires), else the output's CBOR map.
pub fn output_body(operation: &str, value: &Value) -> Option<Vec<u8>> {
    let output = model::codepipeline()
        .operations
        .get(operation)?
        .output
        .as_ref()?;
    Some(encode_output(value, &output.shape))
}

/// The body of an error answer: `{"__type": <absolute shape id>, "message": message}`.
pub fn encode_error(error_type: &str, message: &str) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.head(Major::Map, 2);
    encoder.text("__type");
    encoder.text(&error_shape_id(error_type));
    encoder.text("message");
    encoder.text(message);
    encoder.out
}

/// The absolute shape id of an error name: the model's exceptions are in [`NAMESPACE`], any other
/// error is the service framework's ([`FRAMEWORK_NAMESPACE`]); a name already absolute is kept.
pub fn error_shape_id(error_type: &str) -> String {
    if error_type.contains('#') {
        return error_type.to_string();
    }
    let modeled = matches!(
        model::codepipeline().shape(error_type),
        Some(Shape::Structure {
            exception: true,
            ..
        })
    );
    let namespace = if modeled {
        NAMESPACE
    } else {
        FRAMEWORK_NAMESPACE
    };
    format!("{namespace}#{error_type}")
}

// ---- decoding ----

/// Strips the self-described-CBOR marker, which may prefix any item.
fn untagged(mut item: Cbor) -> Cbor {
    while let Cbor::Tag(TAG_SELF_DESCRIBED, inner) = item {
        item = *inner;
    }
    item
}

/// Where a member is, for messages: `pipeline.stages[0].name`, or "the input" at the top.
fn place(path: &str) -> String {
    if path.is_empty() {
        "the input".to_string()
    } else {
        path.to_string()
    }
}

fn map_to_json(entries: Vec<(Cbor, Cbor)>, path: &mut String) -> Result<Value, CborError> {
    let mut out = Map::new();
    for (key, value) in entries {
        let key = match untagged(key) {
            Cbor::Text(key) => key,
            other => {
                return Err(CborError::NonTextKey {
                    at: place(path),
                    found: kind(&other),
                });
            }
        };
        if out.contains_key(&key) {
            return Err(CborError::DuplicateKey {
                at: place(path),
                key,
            });
        }
        let value = untagged(value);
        if matches!(value, Cbor::Null) {
            continue;
        }
        let parent = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&key);
        let value = to_json(value, path)?;
        path.truncate(parent);
        out.insert(key, value);
    }
    Ok(Value::Object(out))
}

fn to_json(item: Cbor, path: &mut String) -> Result<Value, CborError> {
    Ok(match untagged(item) {
        Cbor::Map(entries) => map_to_json(entries, path)?,
        Cbor::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                let parent = path.len();
                let _ = write!(path, "[{index}]");
                out.push(to_json(item, path)?);
                path.truncate(parent);
            }
            Value::Array(out)
        }
        Cbor::Text(text) => Value::String(text),
        Cbor::Bytes(bytes) => Value::String(BASE64.encode(bytes)),
        Cbor::Bool(flag) => Value::Bool(flag),
        Cbor::Null => Value::Null,
        Cbor::Integer(integer) => integer_to_json(i128::from(integer), path)?,
        Cbor::Float(float) => float_to_json(float),
        Cbor::Tag(TAG_EPOCH, inner) => match untagged(*inner) {
            Cbor::Integer(integer) => integer_to_json(i128::from(integer), path)?,
            Cbor::Float(seconds) if seconds.is_finite() => float_to_json(seconds),
            other => {
                return Err(CborError::BadTimestamp {
                    at: place(path),
                    found: kind(&other),
                });
            }
        },
        Cbor::Tag(tag, _) => {
            return Err(CborError::UnsupportedTag {
                at: place(path),
                tag,
            });
        }
        other => {
            return Err(CborError::Unsupported {
                at: place(path),
                found: kind(&other),
            });
        }
    })
}

fn integer_to_json(value: i128, path: &str) -> Result<Value, CborError> {
    if let Ok(unsigned) = u64::try_from(value) {
        Ok(Value::Number(unsigned.into()))
    } else if let Ok(signed) = i64::try_from(value) {
        Ok(Value::Number(signed.into()))
    } else {
        Err(CborError::IntegerOutOfRange {
            at: place(path),
            value,
        })
    }
}

/// A float as awsJson carries it: a number, or the strings JSON has for the values it cannot write.
fn float_to_json(value: f64) -> Value {
    match Number::from_f64(value) {
        Some(number) => Value::Number(number),
        None if value.is_nan() => Value::String("NaN".to_string()),
        None if value.is_sign_positive() => Value::String("Infinity".to_string()),
        None => Value::String("-Infinity".to_string()),
    }
}

/// What an item is, for messages.
fn kind(item: &Cbor) -> String {
    match item {
        Cbor::Integer(_) => "an integer".to_string(),
        Cbor::Bytes(_) => "a byte string".to_string(),
        Cbor::Float(float) => format!("the float {float}"),
        Cbor::Text(_) => "a text string".to_string(),
        Cbor::Bool(_) => "a boolean".to_string(),
        Cbor::Null => "null".to_string(),
        Cbor::Tag(tag, _) => format!("an item tagged {tag}"),
        Cbor::Array(_) => "an array".to_string(),
        Cbor::Map(_) => "a map".to_string(),
        _ => "an item of an unknown kind".to_string(),
    }
}

// ---- encoding ----

/// CBOR's major types (RFC 8949 §3.1), the top three bits of an item's first byte.
#[derive(Clone, Copy)]
enum Major {
    Unsigned = 0,
    Negative = 1,
    Bytes = 2,
    Text = 3,
    Array = 4,
    Map = 5,
    Tag = 6,
}

const FALSE: u8 = 0xf4;
const TRUE: u8 = 0xf5;
const NULL: u8 = 0xf6;
const FLOAT64: u8 = 0xfb;

#[derive(Default)]
struct Encoder {
    out: Vec<u8>,
}

impl Encoder {
    /// An item's head: its major type and its argument in the shortest form.
    fn head(&mut self, major: Major, argument: u64) {
        let major = (major as u8) << 5;
        if let Ok(small) = u8::try_from(argument) {
            if small < 24 {
                self.out.push(major | small);
            } else {
                self.out.extend_from_slice(&[major | 24, small]);
            }
        } else if let Ok(short) = u16::try_from(argument) {
            self.out.push(major | 25);
            self.out.extend_from_slice(&short.to_be_bytes());
        } else if let Ok(word) = u32::try_from(argument) {
            self.out.push(major | 26);
            self.out.extend_from_slice(&word.to_be_bytes());
        } else {
            self.out.push(major | 27);
            self.out.extend_from_slice(&argument.to_be_bytes());
        }
    }

    fn length(&mut self, major: Major, length: usize) {
        self.head(major, u64::try_from(length).unwrap_or(u64::MAX));
    }

    fn text(&mut self, text: &str) {
        self.length(Major::Text, text.len());
        self.out.extend_from_slice(text.as_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.length(Major::Bytes, bytes.len());
        self.out.extend_from_slice(bytes);
    }

    fn number(&mut self, number: &Number) {
        if let Some(unsigned) = number.as_u64() {
            self.head(Major::Unsigned, unsigned);
        } else if let Some(signed) = number.as_i64() {
            // CBOR writes a negative n as -1 - n, which is |n| - 1.
            self.head(Major::Negative, signed.unsigned_abs() - 1);
        } else {
            self.out.push(FLOAT64);
            let float = number.as_f64().unwrap_or(f64::NAN);
            self.out.extend_from_slice(&float.to_be_bytes());
        }
    }

    fn value(&mut self, model: &ServiceModel, value: &Value, shape: Option<&Shape>) {
        match value {
            Value::Object(members) => {
                let present = members.values().filter(|v| !v.is_null()).count();
                self.length(Major::Map, present);
                for (name, member) in members.iter().filter(|(_, v)| !v.is_null()) {
                    self.text(name);
                    self.value(model, member, member_shape(model, shape, name));
                }
            }
            Value::Array(items) => {
                self.length(Major::Array, items.len());
                let item_shape = item_shape(model, shape);
                for item in items {
                    self.value(model, item, item_shape);
                }
            }
            Value::Number(seconds) if matches!(shape, Some(Shape::Timestamp {})) => {
                self.head(Major::Tag, TAG_EPOCH);
                self.number(seconds);
            }
            Value::String(text) if matches!(shape, Some(Shape::Blob { .. })) => {
                match BASE64.decode(text) {
                    Ok(bytes) => self.bytes(&bytes),
                    Err(_) => self.text(text),
                }
            }
            Value::String(text) => self.text(text),
            Value::Number(number) => self.number(number),
            Value::Bool(flag) => self.out.push(if *flag { TRUE } else { FALSE }),
            Value::Null => self.out.push(NULL),
        }
    }
}

/// The shape of a structure's member or a map's value.
fn member_shape<'m>(
    model: &'m ServiceModel,
    shape: Option<&Shape>,
    name: &str,
) -> Option<&'m Shape> {
    match shape? {
        Shape::Structure { members, .. } => model.shape(&members.get(name)?.shape),
        Shape::Map { value, .. } => model.shape(&value.shape),
        _ => None,
    }
}

/// The shape of a list's items.
fn item_shape<'m>(model: &'m ServiceModel, shape: Option<&Shape>) -> Option<&'m Shape> {
    match shape? {
        Shape::List { member, .. } => model.shape(&member.shape),
        _ => None,
    }
}
