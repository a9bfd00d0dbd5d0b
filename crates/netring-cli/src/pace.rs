//! Waiting for a point in time precisely enough to pace frames: sleep while
//! the target is far, spin for the last stretch (the scheduler's sleep
//! granularity is tens of microseconds, a frame gap at 10 kpps is 100).

use std::time::{Duration, Instant};

/// The slowest `--rate` of `gen` and `replay`, frames per second: one
/// frame every 1000 s (a slower rate would overflow [`due`]'s clock).
pub const MIN_RATE: f64 = 1e-3;
/// The fastest `--rate`, frames per second.
pub const MAX_RATE: f64 = 1e9;

/// Below this distance to the target, spin instead of sleeping.
const SPIN: Duration = Duration::from_micros(200);

/// Wait until `target`, or until `stop` says so (checked while sleeping).
/// Returns at once if `target` has passed.
pub fn wait_until(target: Instant, stop: &dyn Fn() -> bool) {
    loop {
        let now = Instant::now();
        let Some(left) = target.checked_duration_since(now) else {
            return;
        };
        if left <= SPIN {
            while Instant::now() < target {
                std::hint::spin_loop();
            }
            return;
        }
        if stop() {
            return;
        }
        std::thread::sleep((left - SPIN).min(Duration::from_millis(50)));
    }
}

/// When frame `n` (from 0) is due at `pps` frames per second from `start`.
pub fn due(start: Instant, n: u64, pps: f64) -> Instant {
    start + Duration::from_secs_f64(n as f64 / pps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_even() {
        let t0 = Instant::now();
        assert_eq!(due(t0, 0, 1000.0), t0);
        assert_eq!(due(t0, 10, 1000.0) - t0, Duration::from_millis(10));
        assert_eq!(due(t0, 3, 10_000.0) - t0, Duration::from_micros(300));
    }

    #[test]
    fn waits_at_least_until_the_target() {
        let t = Instant::now() + Duration::from_millis(2);
        wait_until(t, &|| false);
        assert!(Instant::now() >= t);
    }
}
