//! Time, injected: the system clock in production, a manual clock in tests so they never sleep.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::oneshot;

/// Epoch milliseconds and a way to wait for a moment.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> i64;
    /// Resolves once `now() >= deadline`.
    fn sleep_until(&self, deadline: i64) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The wall clock, with tokio timers.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    }

    fn sleep_until(&self, deadline: i64) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let wait = u64::try_from(deadline.saturating_sub(self.now())).unwrap_or(0);
        Box::pin(tokio::time::sleep(std::time::Duration::from_millis(wait)))
    }
}

/// Virtual time: it moves only when a test calls [`ManualClock::advance`].
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
    sleepers: Mutex<Vec<(i64, oneshot::Sender<()>)>>,
}

impl ManualClock {
    pub fn new(start: i64) -> Self {
        Self {
            now: AtomicI64::new(start),
            sleepers: Mutex::new(Vec::new()),
        }
    }

    /// Moves time forward and wakes every sleeper whose moment has come.
    pub fn advance(&self, millis: i64) {
        // Time moves under the sleepers' lock, so a sleeper is either woken now or sees the new time.
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.now.fetch_add(millis, Ordering::SeqCst) + millis;
        let (due, waiting): (Vec<_>, Vec<_>) = sleepers.drain(..).partition(|(at, _)| *at <= now);
        *sleepers = waiting;
        for (_, wake) in due {
            let _ = wake.send(());
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    fn sleep_until(&self, deadline: i64) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        if deadline <= self.now() {
            return Box::pin(async {});
        }
        let (wake, woken) = oneshot::channel();
        sleepers.push((deadline, wake));
        Box::pin(async move {
            let _ = woken.await;
        })
    }
}
