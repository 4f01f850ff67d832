//! The evaluated arguments of one call, with typed accessors whose errors name the function and the
//! argument, and the integer rounding AWS applies.

use serde_json::{Map, Number, Value};

use super::error::IntrinsicError;
use super::syntax::Function;

/// Evaluated arguments, with typed accessors whose errors name the function and the argument.
pub(super) struct Args {
    pub(super) function: Function,
    pub(super) values: Vec<Value>,
}

impl Args {
    pub(super) fn get(&self, i: usize) -> Result<&Value, IntrinsicError> {
        // Arity has been checked already. This only avoids a panic if that ever changes.
        self.values
            .get(i)
            .ok_or_else(|| IntrinsicError::failure(self.function, i + 1, "missing argument"))
    }

    pub(super) fn fail(&self, i: usize, message: impl Into<String>) -> IntrinsicError {
        IntrinsicError::failure(self.function, i + 1, message)
    }

    pub(super) fn string(&self, i: usize) -> Result<&str, IntrinsicError> {
        match self.get(i)? {
            Value::String(s) => Ok(s),
            v => Err(self.fail(i, format!("expected a string, got {}", describe(v)))),
        }
    }

    pub(super) fn array(&self, i: usize) -> Result<&Vec<Value>, IntrinsicError> {
        match self.get(i)? {
            Value::Array(a) => Ok(a),
            v => Err(self.fail(i, format!("expected an array, got {}", describe(v)))),
        }
    }

    pub(super) fn object(&self, i: usize) -> Result<&Map<String, Value>, IntrinsicError> {
        match self.get(i)? {
            Value::Object(o) => Ok(o),
            v => Err(self.fail(i, format!("expected a JSON object, got {}", describe(v)))),
        }
    }

    pub(super) fn number(&self, i: usize) -> Result<&Number, IntrinsicError> {
        match self.get(i)? {
            Value::Number(n) => Ok(n),
            v => Err(self.fail(i, format!("expected a number, got {}", describe(v)))),
        }
    }

    /// DG for ArrayPartition, ArrayRange, MathRandom and MathAdd: "If you specify
    /// a non-integer value … Step Functions will round it off to the nearest
    /// integer." LS test_math_add recorded AWS rounding 1.5 to 2 and -1.5 to -1
    /// (Java's Math.round: ties go toward positive infinity).
    pub(super) fn rounded_integer(&self, i: usize) -> Result<i64, IntrinsicError> {
        let n = self.number(i)?;
        number_to_i64(n, true).map_err(|m| self.fail(i, m))
    }

    /// An integer with no rounding. A float with no fractional part, such as 5.0, is accepted.
    pub(super) fn exact_integer(&self, i: usize) -> Result<i64, IntrinsicError> {
        let n = self.number(i)?;
        number_to_i64(n, false).map_err(|m| self.fail(i, m))
    }
}

/// Java's `Math.round`: the nearest integer, with ties toward positive infinity.
fn round_half_up(x: f64) -> f64 {
    let floor = x.floor();
    // The difference is exact for every finite double.
    if x - floor >= 0.5 { floor + 1.0 } else { floor }
}

fn number_to_i64(n: &Number, round: bool) -> Result<i64, String> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    if n.as_u64().is_some() {
        return Err(format!("{n} is out of the integer range"));
    }
    let f = n.as_f64().ok_or_else(|| format!("{n} is not a number"))?;
    let whole = if round {
        round_half_up(f)
    } else if f.fract() == 0.0 {
        f
    } else {
        return Err(format!("expected an integer, got {n}"));
    };
    // 2^63 is exactly representable, and everything below it in range converts exactly.
    if whole.is_finite()
        && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&whole)
    {
        Ok(whole as i64)
    } else {
        Err(format!("{n} is out of the integer range"))
    }
}

/// A short description of a value for error messages, e.g. `string "abc"` or `array of 3 items`.
pub(super) fn describe(v: &Value) -> String {
    const MAX: usize = 60;
    let short = |s: String| {
        if s.chars().count() > MAX {
            format!("{}…", s.chars().take(MAX).collect::<String>())
        } else {
            s
        }
    };
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {}", short(format!("{s:?}"))),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(o) => format!("an object with {} keys", o.len()),
    }
}
