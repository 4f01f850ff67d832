//! The math functions: States.MathAdd and States.MathRandom.

use serde_json::Value;

use super::args::Args;
use super::error::IntrinsicError;
use super::random::Randomness;

/// DG States.MathAdd: "You must specify integer values in the range of -2147483648 and 2147483647."
const MATH_ADD_RANGE: std::ops::RangeInclusive<i64> = (i32::MIN as i64)..=(i32::MAX as i64);

/// DG "return the sum of two numbers". Values are rounded to integers and must
/// lie in [-2147483648, 2147483647]. The sum is computed in 64 bits, so it
/// cannot overflow. (Whether Java's `int` arithmetic on AWS wraps a sum of two
/// large values is not documented.)
pub(super) fn math_add(args: &Args) -> Result<Value, IntrinsicError> {
    let mut sum = 0i64;
    for i in 0..2 {
        let n = args.rounded_integer(i)?;
        if !MATH_ADD_RANGE.contains(&n) {
            return Err(args.fail(
                i,
                format!("{n} is outside the allowed range -2147483648 to 2147483647"),
            ));
        }
        sum += n;
    }
    Ok(Value::from(sum))
}

/// DG States.MathRandom: "a random number between the specified start number
/// (inclusive) and end number (exclusive)". Non-integer start or end values
/// are rounded. The seed is rounded too, for consistency; the guide says nothing about it.
pub(super) fn math_random(
    args: &Args,
    random: &mut dyn Randomness,
) -> Result<Value, IntrinsicError> {
    let start = args.rounded_integer(0)?;
    let end = args.rounded_integer(1)?;
    let seed = if args.values.len() == 3 {
        Some(args.rounded_integer(2)?)
    } else {
        None
    };
    if start >= end {
        return Err(IntrinsicError::failure(
            args.function,
            2,
            format!(
                "the end ({end}) must be greater than the start ({start}), because the end is exclusive"
            ),
        ));
    }
    let n = random.integer_in(start, end, seed);
    if !(start..end).contains(&n) {
        return Err(IntrinsicError::Failure {
            function: args.function,
            argument: None,
            message: format!("the randomness source returned {n}, outside [{start}, {end})"),
        });
    }
    Ok(Value::from(n))
}
