//! Evaluation: arguments left to right, then the function, in the file of its family.

use serde_json::Value;

use super::MAX_CALLS_PER_FIELD;
use super::args::Args;
use super::array::{array_contains, array_get_item, array_partition, array_range, array_unique};
use super::check::check_call;
use super::encoding::{base64_decode, base64_encode, hash};
use super::error::IntrinsicError;
use super::json::{json_merge, json_to_string, string_to_json};
use super::math::{math_add, math_random};
use super::random::Randomness;
use super::string::{format, string_split};
use super::syntax::{Arg, Function, Intrinsic};

/// Evaluates a call. `resolve` turns a path argument (`$…`, `$$…`, `$name…`) into
/// its value, or returns an error message. Arguments are evaluated from left to right.
pub fn evaluate(
    intrinsic: &Intrinsic,
    resolve: &mut dyn FnMut(&str) -> Result<Value, String>,
    random: &mut dyn Randomness,
) -> Result<Value, IntrinsicError> {
    // call_count iterates instead of recursing, so this guard also keeps a
    // hand-built tree of any depth from overflowing the stack below.
    let calls = intrinsic.call_count();
    if calls > MAX_CALLS_PER_FIELD {
        return Err(IntrinsicError::TooManyCalls {
            offset: intrinsic.offset,
            calls,
        });
    }
    let mut ctx = Evaluator { resolve, random };
    ctx.call(intrinsic)
}

struct Evaluator<'a> {
    resolve: &'a mut dyn FnMut(&str) -> Result<Value, String>,
    random: &'a mut dyn Randomness,
}

impl Evaluator<'_> {
    fn arg(
        &mut self,
        function: Function,
        index: usize,
        arg: &Arg,
    ) -> Result<Value, IntrinsicError> {
        Ok(match arg {
            Arg::String { value, .. } => Value::String(value.clone()),
            Arg::Number(n) => Value::Number(n.clone()),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Null => Value::Null,
            Arg::Path(path) => {
                (self.resolve)(path).map_err(|message| IntrinsicError::PathResolution {
                    function,
                    index: index + 1,
                    path: path.clone(),
                    message,
                })?
            }
            Arg::Call(call) => self.call(call)?,
        })
    }

    fn call(&mut self, call: &Intrinsic) -> Result<Value, IntrinsicError> {
        let function = call.function;
        check_call(function, &call.args, call.offset, &[])?;
        let mut values = Vec::with_capacity(call.args.len());
        for (i, arg) in call.args.iter().enumerate() {
            values.push(self.arg(function, i, arg)?);
        }
        let args = Args { function, values };
        match function {
            Function::Format => format(&args, call.args.first()),
            Function::StringToJson => string_to_json(&args),
            Function::JsonToString => json_to_string(&args),
            Function::Array => Ok(Value::Array(args.values)),
            Function::ArrayPartition => array_partition(&args),
            Function::ArrayContains => array_contains(&args),
            Function::ArrayRange => array_range(&args),
            Function::ArrayGetItem => array_get_item(&args),
            Function::ArrayLength => Ok(Value::from(args.array(0)?.len())),
            Function::ArrayUnique => array_unique(&args),
            Function::Base64Encode => base64_encode(&args),
            Function::Base64Decode => base64_decode(&args),
            Function::Hash => hash(&args),
            Function::JsonMerge => json_merge(&args),
            Function::MathRandom => math_random(&args, self.random),
            Function::MathAdd => math_add(&args),
            Function::StringSplit => string_split(&args),
            Function::Uuid => Ok(Value::String(self.random.uuid_v4())),
        }
    }
}
