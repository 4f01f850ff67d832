//! Trying a dispatcher or worker step again in process when it failed transiently (docs/decisions.md,
//! "Transient faults"). Three layers ride out a throttled or busy store: the SDK retries each AWS call;
//! a step retries itself here, quickly and briefly; and the compiled machine runs the step again with
//! backoff and jitter ([`crate::compile::TRANSIENT_RETRY`]). Every step is idempotent on its natural key,
//! so running it again after some of its writes happened is safe.

use std::future::Future;
use std::time::Duration;

use crate::port::{StopSignal, Transient};

/// How often and how long a step is tried again in process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all, the first included.
    pub tries: u32,
    /// The wait before the second try; each later wait doubles, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// No try starts once this long has passed since the first: the rest is the machine's (a Lambda's
    /// own timeout must not end the step first, which the machine would not retry).
    pub budget: Duration,
}

/// A dispatcher step, or a worker's before it runs the provider: 5 tries within 5 seconds, waits of 25,
/// 50, 100 and 200 ms. A store that is still failing is left to the machine's retries.
pub const STEP: Backoff = Backoff {
    tries: 5,
    first_delay: Duration::from_millis(25),
    max_delay: Duration::from_millis(400),
    budget: Duration::from_secs(5),
};

/// Recording an action's outcome once its provider ran: the outcome exists only in the worker, and
/// running the step again would run the action again, so it is tried for longer (about 30 s of waits).
pub const OUTCOME: Backoff = Backoff {
    tries: 12,
    first_delay: Duration::from_millis(50),
    max_delay: Duration::from_secs(5),
    budget: Duration::from_secs(60),
};

impl Backoff {
    /// The wait after try `done` (1 for the first).
    pub fn delay(&self, done: u32) -> Duration {
        let doubled = self
            .first_delay
            .saturating_mul(2u32.saturating_pow(done.saturating_sub(1)));
        doubled.min(self.max_delay)
    }

    /// Whether another try may start after `done` tries that began at `started`.
    pub fn allows(&self, done: u32, started: tokio::time::Instant) -> bool {
        done < self.tries && started.elapsed() < self.budget
    }

    /// Runs `step` until it succeeds, fails for good, or the tries are spent (then with its last error).
    /// A fired `stop` ends the tries: nobody waits for the step any more.
    pub async fn retry<T, E, F>(
        &self,
        stop: &StopSignal,
        mut step: impl FnMut() -> F,
    ) -> Result<T, E>
    where
        E: Transient,
        F: Future<Output = Result<T, E>>,
    {
        let started = tokio::time::Instant::now();
        let mut done = 0;
        loop {
            let error = match step().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            done += 1;
            if !error.is_transient() || !self.allows(done, started) || stop.is_stopped() {
                return Err(error);
            }
            tokio::time::sleep(self.delay(done)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Failure(bool);

    impl Transient for Failure {
        fn is_transient(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn waits_double_up_to_the_cap() {
        let waits: Vec<u128> = (1..=5).map(|n| STEP.delay(n).as_millis()).collect();
        assert_eq!(waits, vec![25, 50, 100, 200, 400]);
        assert_eq!(OUTCOME.delay(20), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_failure_is_tried_again_until_it_passes_or_the_tries_are_spent() {
        let mut calls = 0;
        let passed: Result<u32, Failure> = STEP
            .retry(&StopSignal::never(), || {
                calls += 1;
                let result = if calls < 3 {
                    Err(Failure(true))
                } else {
                    Ok(calls)
                };
                async move { result }
            })
            .await;
        assert_eq!(passed, Ok(3));

        let mut calls = 0;
        let spent: Result<(), Failure> = STEP
            .retry(&StopSignal::never(), || {
                calls += 1;
                async { Err(Failure(true)) }
            })
            .await;
        assert_eq!(spent, Err(Failure(true)));
        assert_eq!(calls, STEP.tries);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lasting_failure_or_a_fired_stop_ends_the_tries_at_once() {
        let mut calls = 0;
        let lasting: Result<(), Failure> = STEP
            .retry(&StopSignal::never(), || {
                calls += 1;
                async { Err(Failure(false)) }
            })
            .await;
        assert_eq!((lasting, calls), (Err(Failure(false)), 1));

        let (stop, stopped) = tokio::sync::watch::channel(true);
        let mut calls = 0;
        let _: Result<(), Failure> = STEP
            .retry(&StopSignal::from_channel(stopped), || {
                calls += 1;
                async { Err(Failure(true)) }
            })
            .await;
        assert_eq!(calls, 1);
        drop(stop);
    }

    #[tokio::test(start_paused = true)]
    async fn no_try_starts_once_the_budget_is_spent() {
        let mut calls = 0;
        let _: Result<(), Failure> = STEP
            .retry(&StopSignal::never(), || {
                calls += 1;
                async {
                    // A call that took the SDK's whole operation timeout.
                    tokio::time::sleep(Duration::from_secs(20)).await;
                    Err(Failure(true))
                }
            })
            .await;
        assert_eq!(calls, 1);
    }
}
