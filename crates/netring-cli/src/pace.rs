//! Pacing `gen` and `replay`: the schedule a rate sets ([`Schedule`]:
//! frames per second or bits per second), waiting for a point in time
//! precisely enough to keep it (sleep while the target is
//! far, spin for the last stretch — the scheduler's sleep granularity is
//! tens of microseconds, a frame gap at 10 kpps is 100: [`Waiter`]), and what the run
//! achieved ([`GapStats`]: the rate, and the error of every inter-frame gap
//! in a fixed histogram, so measuring allocates nothing per frame).

use std::time::{Duration, Instant};

/// The slowest `--rate` of `gen` and `replay`, frames per second: one
/// frame every 1000 s (a slower rate would overflow the schedule's clock).
pub const MIN_RATE: f64 = 1e-3;
/// The fastest `--rate`, frames per second.
pub const MAX_RATE: f64 = 1e9;
/// The slowest `--mbps`: 1 kbit/s.
pub const MIN_MBPS: f64 = 1e-3;
/// The fastest `--mbps`: 10 Tbit/s.
pub const MAX_MBPS: f64 = 1e7;

/// Bounds of [`Waiter`]'s spin margin.
const MIN_MARGIN: Duration = Duration::from_micros(10);
const MAX_MARGIN: Duration = Duration::from_millis(2);

/// Waits for points in time: sleeps while the target is far, spins for the
/// last stretch, the margin. The margin follows how late the sleeps wake:
/// their mean lateness plus three mean deviations, as TCP sets its
/// retransmission timer, at least 10 µs (both shrink by 1/256 per wait that
/// only spun, so a margin grown in a busy spell is probed again). A rare
/// late wake-up makes one frame late; answering it with the largest
/// lateness seen would spin through the next thousand gaps.
///
/// Where sleeps wake within microseconds (SCHED_FIFO on an idle host: no
/// timer slack), a paced sender mostly sleeps. Where they wake later than
/// the gaps are long (a normal process: 50 µs of timer slack; a loaded VM:
/// 30 ± 17 µs measured here even under SCHED_FIFO), it spins through them;
/// under SCHED_FIFO the kernel then pauses it 50 ms a second (RT
/// throttling, `sched_rt_runtime_us`), and the schedule catches up after.
#[derive(Debug, Clone, Copy)]
pub struct Waiter {
    margin: Duration,
    /// How late sleeps woke, seconds: mean and mean deviation.
    late: f64,
    dev: f64,
}

impl Default for Waiter {
    fn default() -> Self {
        Self { margin: Duration::from_micros(50), late: 20e-6, dev: 5e-6 }
    }
}

impl Waiter {
    /// The mean lateness and three mean deviations.
    fn set_margin(&mut self) {
        let m = Duration::try_from_secs_f64(self.late + 3.0 * self.dev).unwrap_or(MAX_MARGIN);
        self.margin = m.clamp(MIN_MARGIN, MAX_MARGIN);
    }

    /// Wait until `target`, or until `stop` says so (checked while
    /// sleeping). Returns at once if `target` has passed.
    pub fn wait_until(&mut self, target: Instant, stop: &dyn Fn() -> bool) {
        let Some(left) = target.checked_duration_since(Instant::now()) else {
            return;
        };
        // The margin as it was when the wait began.
        let spin = self.margin.min(left);
        let mut slept = false;
        loop {
            let now = Instant::now();
            let Some(left) = target.checked_duration_since(now) else {
                break;
            };
            if left <= spin {
                while Instant::now() < target {
                    std::hint::spin_loop();
                }
                break;
            }
            if stop() {
                return;
            }
            let nap = (left - spin).min(Duration::from_millis(50));
            std::thread::sleep(nap);
            slept = true;
            let late = Instant::now().saturating_duration_since(now + nap);
            // As TCP's retransmission timer (RFC 6298): the mean and the
            // mean deviation, weights 1/8 and 1/4 to the latest.
            let l = late.as_secs_f64();
            self.dev += ((l - self.late).abs() - self.dev) / 4.0;
            self.late += (l - self.late) / 8.0;
            self.set_margin();
        }
        if !slept {
            // Shrink slowly while only spinning, so a margin that grew in a
            // busy spell is probed again.
            self.late -= self.late / 256.0;
            self.dev -= self.dev / 256.0;
            self.set_margin();
        }
    }
}

/// A requested rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Frames per second (`--rate`, `--pps`).
    Frames(f64),
    /// Bits per second of frame bytes, Ethernet header to the end of the
    /// payload, as tcpreplay counts them (`--mbps` × 10⁶).
    Bits(f64),
}

impl Rate {
    /// The rate `--rate`/`--pps` (frames) or `--mbps` asks for, checked
    /// against the ranges the pacer keeps; `None` when neither is given.
    pub fn from_args(frames: Option<f64>, mbps: Option<f64>) -> Result<Option<Rate>, netring::Error> {
        use crate::args::check_range;
        Ok(match (frames, mbps) {
            (Some(r), _) => {
                Some(Rate::Frames(check_range("rate", r, MIN_RATE, MAX_RATE, "a number of frames per second")?))
            }
            (None, Some(m)) => {
                Some(Rate::Bits(check_range("mbps", m, MIN_MBPS, MAX_MBPS, "a number of megabits per second")? * 1e6))
            }
            (None, None) => None,
        })
    }
}

/// When each frame is due at a [`Rate`]: frame `n` at `origin + n / pps`,
/// or, counting bits, when the bits of every frame before it have left at
/// the rate. The time comes from the counts, not from adding gaps, so
/// rounding never accumulates; a sender that fell behind finds the frames
/// it owes already due and catches up.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    origin: Instant,
    rate: Rate,
    frames: u64,
    bytes: u64,
}

impl Schedule {
    /// Frame 0 due at `origin`.
    pub fn new(origin: Instant, rate: Rate) -> Self {
        Self { origin, rate, frames: 0, bytes: 0 }
    }

    /// When the next frame is due.
    pub fn next(&self) -> Instant {
        let secs = match self.rate {
            Rate::Frames(pps) => self.frames as f64 / pps,
            Rate::Bits(bps) => self.bytes as f64 * 8.0 / bps,
        };
        // The rate's bounds keep this far below Duration's range (2^64 s).
        self.origin + Duration::from_secs_f64(secs)
    }

    /// The next frame, `len` bytes, was sent.
    pub fn advance(&mut self, len: usize) {
        self.frames += 1;
        self.bytes += len as u64;
    }

    /// How many frames of `len` bytes, from the next, are due by `now` and
    /// before `deadline`: at least 1, at most `max`.
    pub fn due_by(&self, now: Instant, deadline: Option<Instant>, len: usize, max: usize) -> u64 {
        let mut s = *self;
        let mut n = 0;
        while n < max.max(1) as u64 && (n == 0 || (s.next() <= now && deadline.is_none_or(|d| s.next() < d))) {
            s.advance(len);
            n += 1;
        }
        n
    }

    /// Everything from the next frame on comes later, so that the next
    /// frame is due no earlier than `t` (`--loopdelay-ms`).
    pub fn delay_to(&mut self, t: Instant) {
        if let Some(by) = t.checked_duration_since(self.next()) {
            self.origin += by;
        }
    }
}

/// Sub-buckets per power of two in [`GapStats`]' histogram: values are kept
/// within 1/32 (3 %).
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Buckets for every `u64` nanosecond value.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// The bucket of `v`: exact below 32, then 32 buckets per power of two.
fn bucket(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - SUB_BITS;
    (shift as usize + 1) * SUB + ((v >> shift) as usize - SUB)
}

/// The smallest value of bucket `i`.
fn bucket_low(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let shift = i / SUB - 1;
    ((SUB + i % SUB) as u64) << shift
}

/// A least-squares line through points (x, t): t = a + x / rate.
#[derive(Debug, Clone, Copy, Default)]
struct Fit {
    n: f64,
    sx: f64,
    sxx: f64,
    st: f64,
    sxt: f64,
}

impl Fit {
    fn add(&mut self, x: f64, t: f64) {
        self.n += 1.0;
        self.sx += x;
        self.sxx += x * x;
        self.st += t;
        self.sxt += x * t;
    }

    /// x per second along the line (0 with fewer than 2 distinct x).
    fn rate(&self) -> f64 {
        let dx = self.n * self.sxx - self.sx * self.sx;
        let dt = self.n * self.sxt - self.sx * self.st;
        if dx > 0.0 && dt > 0.0 { dx / dt } else { 0.0 }
    }
}

/// What a paced run achieved, from the sender's clock read when each frame
/// is handed to the kernel (the kick that sends it).
///
/// The achieved rate is the slope of the least-squares line through the
/// hand-over times against the frame number (frames per second) and
/// against the bits sent before each frame (bits per second): the rate the
/// frames kept. Unlike frames over first-to-last time, one frame held up
/// at the very end (a preempted sender) barely moves it; a sender that
/// cannot keep up shows its real rate.
///
/// The gap error of a frame is how far the time since the previous frame's
/// hand-over is from the time its schedule put between them; it goes into a
/// log-linear histogram allocated once (3 % resolution), so recording costs
/// no allocation.
#[derive(Debug, Clone)]
pub struct GapStats {
    hist: Box<[u64]>,
    /// Frames recorded.
    frames: u64,
    /// Their bytes.
    bytes: u64,
    max: u64,
    /// (due, handed over) of the first and of the last frame.
    first: Option<(Instant, Instant)>,
    last: Option<(Instant, Instant)>,
    /// Hand-over time against frame number and against bits before.
    by_frame: Fit,
    by_bit: Fit,
}

impl Default for GapStats {
    fn default() -> Self {
        Self {
            hist: vec![0; BUCKETS].into_boxed_slice(),
            frames: 0,
            bytes: 0,
            max: 0,
            first: None,
            last: None,
            by_frame: Fit::default(),
            by_bit: Fit::default(),
        }
    }
}

impl GapStats {
    /// A frame of `len` bytes, due at `due`, handed to the kernel at `at`.
    pub fn record(&mut self, due: Instant, at: Instant, len: usize) {
        if let Some((pdue, pat)) = self.last {
            let want = due.saturating_duration_since(pdue).as_nanos();
            let got = at.saturating_duration_since(pat).as_nanos();
            let err = u64::try_from(want.abs_diff(got)).unwrap_or(u64::MAX);
            self.hist[bucket(err)] += 1;
            self.max = self.max.max(err);
        } else {
            self.first = Some((due, at));
        }
        let t = self.first.map_or(0.0, |(_, a)| at.saturating_duration_since(a).as_secs_f64());
        self.by_frame.add(self.frames as f64, t);
        self.by_bit.add(self.bytes as f64 * 8.0, t);
        self.last = Some((due, at));
        self.frames += 1;
        self.bytes += len as u64;
    }

    /// The `q` quantile (0..=1) of the gap errors in nanoseconds: the middle
    /// of its bucket, at most the largest error seen.
    fn quantile(&self, q: f64) -> u64 {
        let n: u64 = self.hist.iter().sum();
        if n == 0 {
            return 0;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (i, &c) in self.hist.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = (bucket_low(i), bucket_low(i + 1).saturating_sub(1));
                return (lo + (hi - lo) / 2).min(self.max);
            }
        }
        self.max
    }

    /// The figures to report, against the rate that was `requested`.
    pub fn report(&self, requested: Option<Rate>) -> PaceReport {
        PaceReport {
            requested,
            frames: self.frames,
            achieved_pps: self.by_frame.rate(),
            achieved_bps: self.by_bit.rate(),
            p50: self.quantile(0.5),
            p99: self.quantile(0.99),
            max: self.max,
        }
    }
}

/// What a paced run achieved (see [`GapStats`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceReport {
    /// `--rate`/`--pps` or `--mbps`, if one was given (replay at the file's
    /// own timing has none).
    pub requested: Option<Rate>,
    /// Frames measured.
    pub frames: u64,
    /// Frames per second (see [`GapStats`]).
    pub achieved_pps: f64,
    /// Bits per second of frame bytes.
    pub achieved_bps: f64,
    /// Median inter-frame gap error, ns.
    pub p50: u64,
    /// 99th percentile, ns.
    pub p99: u64,
    /// Largest, ns.
    pub max: u64,
}

impl PaceReport {
    /// The `"pacing"` object of the JSON summary.
    pub fn json(&self) -> serde_json::Value {
        let (rpps, rmbps) = match self.requested {
            Some(Rate::Frames(p)) => (Some(p), None),
            Some(Rate::Bits(b)) => (None, Some(b / 1e6)),
            None => (None, None),
        };
        serde_json::json!({
            "requested_pps": rpps,
            "requested_mbps": rmbps,
            "achieved_pps": self.achieved_pps,
            "achieved_mbps": self.achieved_bps / 1e6,
            "frames": self.frames,
            "gap_error_ns": {"p50": self.p50, "p99": self.p99, "max": self.max},
        })
    }

    /// The summary line.
    pub fn line(&self, verb: &str) -> String {
        let off = |got: f64, want: f64| format!("{:+.2} %", (got / want - 1.0) * 100.0);
        let rate = match self.requested {
            Some(Rate::Frames(p)) => {
                format!("{:.1} frames/s (asked {p}, {})", self.achieved_pps, off(self.achieved_pps, p))
            }
            Some(Rate::Bits(b)) => format!(
                "{:.3} Mbit/s (asked {}, {}), {:.1} frames/s",
                self.achieved_bps / 1e6,
                b / 1e6,
                off(self.achieved_bps, b),
                self.achieved_pps
            ),
            None => format!("{:.1} frames/s", self.achieved_pps),
        };
        let us = |ns: u64| format!("{:.1} µs", ns as f64 / 1e3);
        format!(
            "netring {verb}: pacing: {rate}; inter-frame gap error p50 {}, p99 {}, max {}",
            us(self.p50),
            us(self.p99),
            us(self.max)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_schedule_is_even() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, Rate::Frames(10_000.0));
        assert_eq!(s.next(), t0);
        for _ in 0..3 {
            s.advance(1500);
        }
        assert_eq!(s.next() - t0, Duration::from_micros(300));
        s.delay_to(t0 + Duration::from_millis(5));
        assert_eq!(s.next() - t0, Duration::from_millis(5));
        s.delay_to(t0);
        assert_eq!(s.next() - t0, Duration::from_millis(5), "never earlier");
    }

    #[test]
    fn frames_due_by_a_time_catch_up_within_bounds() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, Rate::Frames(1000.0));
        let ms = Duration::from_millis;
        assert_eq!(s.due_by(t0, None, 60, 64), 1, "the next one, always");
        assert_eq!(s.due_by(t0 + ms(5), None, 60, 64), 6);
        assert_eq!(s.due_by(t0 + ms(500), None, 60, 64), 64);
        assert_eq!(s.due_by(t0 + ms(500), Some(t0 + ms(3)), 60, 64), 3, "none due at or after -d");
    }

    #[test]
    fn bit_schedule_counts_the_bytes_before_each_frame() {
        let t0 = Instant::now();
        // 100 Mbit/s: a 1250-byte frame takes 100 µs, a 125-byte one 10 µs.
        let mut s = Schedule::new(t0, Rate::Bits(100e6));
        s.advance(1250);
        assert_eq!(s.next() - t0, Duration::from_micros(100));
        s.advance(125);
        assert_eq!(s.next() - t0, Duration::from_micros(110));
    }

    #[test]
    fn waits_at_least_until_the_target_with_a_bounded_margin() {
        let mut w = Waiter::default();
        for _ in 0..20 {
            let t = Instant::now() + Duration::from_micros(300);
            w.wait_until(t, &|| false);
            assert!(Instant::now() >= t);
            assert!((MIN_MARGIN..=MAX_MARGIN).contains(&w.margin), "{:?}", w.margin);
        }
    }

    #[test]
    fn buckets_cover_every_value_in_order_within_3_percent() {
        assert_eq!(BUCKETS, 1920);
        let mut prev = 0;
        for v in (0..5000u64).chain([1 << 20, (1 << 20) + 12345, u64::MAX / 3, u64::MAX]) {
            let b = bucket(v);
            assert!(b < BUCKETS && b >= prev || v > 5000, "{v}");
            assert!(bucket_low(b) <= v && (b + 1 == BUCKETS || v < bucket_low(b + 1)), "{v} in bucket {b}");
            assert!((v - bucket_low(b)) as f64 <= v as f64 / 32.0, "{v}");
            prev = b;
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn gap_errors_and_rates_from_hand_over_times() {
        let t0 = Instant::now();
        let us = |n: u64| Duration::from_micros(n);
        let mut g = GapStats::default();
        // Due every 100 µs; 196 gaps exact, one frame 10 µs late (error
        // 10 µs on the gap before it and on the one after), the last frame
        // 1 ms late.
        for i in 0..200u64 {
            let due = t0 + us(100 * i);
            let at = match i {
                50 => due + us(10),
                199 => due + us(1000),
                _ => due,
            };
            g.record(due, at, 125);
        }
        let r = g.report(Some(Rate::Frames(10_000.0)));
        assert_eq!(r.frames, 200);
        assert_eq!((r.p50, r.max), (0, 1_000_000));
        assert!((9_800..=10_300).contains(&r.p99), "p99 {} ns", r.p99);
        // The line through 200 points, one 10 µs and the last 1 ms off:
        // 10 kpps within 2 %, where first-to-last time would say 9522.
        assert!((9_800.0..10_000.0).contains(&r.achieved_pps), "{}", r.achieved_pps);
        assert!((r.achieved_bps / r.achieved_pps - 1000.0).abs() < 1e-6, "125-byte frames: 1000 bits each");
        let mut exact = GapStats::default();
        for i in 0..10u64 {
            exact.record(t0 + us(100 * i), t0 + us(100 * i), 125);
        }
        let e = exact.report(None);
        assert!((e.achieved_pps - 10_000.0).abs() < 1e-6 && (e.achieved_bps - 10e6).abs() < 1e-3, "{e:?}");
        let j = r.json();
        assert_eq!(j["requested_pps"], 10_000.0);
        assert_eq!(j["gap_error_ns"]["max"], 1_000_000);
        assert!(r.line("gen").contains("9985.2 frames/s (asked 10000, -0.15 %)"), "{}", r.line("gen"));
    }
}
