//! What States.UUID and States.MathRandom draw on: a trait, so tests can pass a seeded source.

/// The source of randomness for States.UUID and States.MathRandom. The engine
/// passes one in, so that tests stay deterministic.
pub trait Randomness {
    /// A version 4 UUID in lowercase hyphenated form, e.g. `ca4c1140-dcc1-40cd-ad05-7b4aa23df4a8`.
    fn uuid_v4(&mut self) -> String;

    /// An integer `n` with `start <= n < end`. [`evaluate`](super::evaluate) calls this only with `start < end`.
    /// With `Some(seed)`, the same arguments must always give the same number.
    /// DG: "if you use this function with the same seed value, it will return identical numbers".
    fn integer_in(&mut self, start: i64, end: i64, seed: Option<i64>) -> i64;
}
