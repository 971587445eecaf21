//! `--max-rows-per-second`: one pacer per command, shared by its workers, so the whole
//! command (not each worker) stays under the rate.
//!
//! Written here rather than taken from `governor`: that crate's limiter refuses any request
//! larger than its burst (a batch of 5,000 rows at 1,000 rows/s would be `InsufficientCapacity`)
//! and its blocking wait is async; what a migration needs is a schedule — batch k may start at
//! the time the rows before it are due — which is a dozen lines over an injected clock (the
//! tests drive a fake one, no sleeping).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where the pacer gets the time and how it waits (a fake in tests).
pub trait Clock: Sync {
    /// Now.
    fn now(&self) -> Instant;
    /// Waits for `d`.
    fn sleep(&self, d: Duration);
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Paces rows to at most `rate` per second over the command's whole life: a request for n
/// rows is granted at the time the rows granted before it are due (at the rate), never
/// earlier; idle time is not banked beyond one second's worth, so a pause does not buy a
/// burst later.
pub struct Pacer<C: Clock = SystemClock> {
    clock: C,
    rate: f64,
    /// When the next request may start.
    next: Mutex<Option<Instant>>,
}

impl Pacer<SystemClock> {
    /// A pacer at `rate` rows per second on the real clock.
    pub fn new(rate: u64) -> Self {
        Pacer::with_clock(rate, SystemClock)
    }
}

impl<C: Clock> Pacer<C> {
    /// A pacer at `rate` (>= 1) rows per second on `clock`.
    pub fn with_clock(rate: u64, clock: C) -> Self {
        Pacer {
            clock,
            rate: rate.max(1) as f64,
            next: Mutex::new(None),
        }
    }

    /// Blocks until `rows` more rows may be processed; returns how long it waited.
    pub fn acquire(&self, rows: u64) -> Duration {
        let now = self.clock.now();
        let start = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let credit = Duration::from_secs(1);
            // After idle time, at most one second of credit is banked.
            let floor = now.checked_sub(credit).unwrap_or(now);
            let start = match *next {
                Some(t) => t.max(floor),
                None => now,
            };
            *next = Some(start + Duration::from_secs_f64(rows as f64 / self.rate));
            start
        };
        let wait = start.saturating_duration_since(now);
        if !wait.is_zero() {
            self.clock.sleep(wait);
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A clock that moves only when the pacer sleeps (or the test advances it).
    struct Fake {
        start: Instant,
        elapsed: Mutex<Duration>,
        /// Sleeping does not move the clock (threads waiting at once would add up).
        frozen: bool,
    }

    impl Fake {
        fn new() -> Self {
            Fake {
                start: Instant::now(),
                elapsed: Mutex::new(Duration::ZERO),
                frozen: false,
            }
        }
        fn advance(&self, d: Duration) {
            *self.elapsed.lock().unwrap() += d;
        }
        fn elapsed(&self) -> Duration {
            *self.elapsed.lock().unwrap()
        }
    }

    impl Clock for &Fake {
        fn now(&self) -> Instant {
            self.start + self.elapsed()
        }
        fn sleep(&self, d: Duration) {
            if !self.frozen {
                self.advance(d);
            }
        }
    }

    #[test]
    fn batches_are_spread_at_the_rate() {
        let clock = Fake::new();
        let pacer = Pacer::with_clock(1000, &clock);
        // 10 batches of 500 rows at 1000 rows/s: the last may start at 4.5 s.
        for _ in 0..10 {
            pacer.acquire(500);
        }
        assert_eq!(clock.elapsed(), Duration::from_millis(4500));
        // The 10 batches took 5 s of rate in all: the next waits until then.
        assert_eq!(pacer.acquire(1), Duration::from_millis(500));
    }

    #[test]
    fn work_slower_than_the_rate_is_not_delayed_and_idle_time_buys_at_most_a_second() {
        let clock = Fake::new();
        let pacer = Pacer::with_clock(100, &clock);
        assert_eq!(pacer.acquire(50), Duration::ZERO);
        clock.advance(Duration::from_secs(10)); // slow work: 10 s for 50 rows
        assert_eq!(pacer.acquire(50), Duration::ZERO);
        // Ten idle seconds bank only one second's worth: 100 rows on credit and 100 due now
        // go at once, the next 100 wait for their second.
        clock.advance(Duration::from_secs(10));
        assert_eq!(pacer.acquire(100), Duration::ZERO);
        assert_eq!(pacer.acquire(100), Duration::ZERO);
        assert_eq!(pacer.acquire(100), Duration::from_secs(1));
    }

    #[test]
    fn workers_share_one_rate() {
        let clock = Fake {
            frozen: true,
            ..Fake::new()
        };
        let pacer = Pacer::with_clock(1000, &clock);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..5 {
                        pacer.acquire(100);
                    }
                });
            }
        });
        // 2,000 rows granted at 1,000 rows/s in all, whichever threads took them: the next
        // request, still at time 0, is due at 2 s.
        assert_eq!(pacer.acquire(1), Duration::from_secs(2));
    }
}
