//! Capture statistics as 64-bit cumulative counters.

use std::fmt;
use std::ops::{Add, Sub};

/// Counters of a capture, cumulative since it was opened.
///
/// The kernel's `PACKET_STATISTICS` is read-and-reset and 32-bit; netring
/// reads it into these 64-bit totals, so reading statistics never loses
/// counts and never resets anything the caller can see. Per-interval figures
/// come from subtracting two snapshots (`later - earlier`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CaptureStats {
    /// Packets the kernel put into the ring (`tp_packets − tp_drops`).
    pub packets: u64,
    /// Packets the kernel dropped for this socket: the ring was full.
    pub drops: u64,
    /// Times the ring froze because every block was owned by user space.
    pub freezes: u64,
}

impl CaptureStats {
    /// Packets the kernel saw for this socket, delivered or dropped.
    pub fn seen(&self) -> u64 {
        self.packets + self.drops
    }
}

impl Add for CaptureStats {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self { packets: self.packets + o.packets, drops: self.drops + o.drops, freezes: self.freezes + o.freezes }
    }
}

impl Sub for CaptureStats {
    type Output = Self;
    /// Counter difference, saturating at zero.
    fn sub(self, o: Self) -> Self {
        Self {
            packets: self.packets.saturating_sub(o.packets),
            drops: self.drops.saturating_sub(o.drops),
            freezes: self.freezes.saturating_sub(o.freezes),
        }
    }
}

impl fmt::Display for CaptureStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} packets, {} dropped, {} freezes", self.packets, self.drops, self.freezes)
    }
}

/// Totals built from read-and-reset kernel readings.
#[derive(Debug, Default)]
pub(crate) struct StatsCounter {
    total: CaptureStats,
}

impl StatsCounter {
    /// Fold in one `PACKET_STATISTICS` reading (V3: `tp_packets` includes drops).
    pub(crate) fn add_reading(&mut self, tp_packets: u32, tp_drops: u32, tp_freeze_q_cnt: u32) {
        self.total.packets += u64::from(tp_packets.saturating_sub(tp_drops));
        self.total.drops += u64::from(tp_drops);
        self.total.freezes += u64::from(tp_freeze_q_cnt);
    }

    /// Totals so far.
    pub(crate) fn total(&self) -> CaptureStats {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_accumulate_past_u32_and_subtract_drops() {
        let mut c = StatsCounter::default();
        c.add_reading(u32::MAX, 10, 1);
        c.add_reading(u32::MAX, 0, 0);
        assert_eq!(c.total().packets, 2 * u64::from(u32::MAX) - 10);
        assert_eq!(c.total().drops, 10);
        assert_eq!(c.total().seen(), 2 * u64::from(u32::MAX));
    }

    #[test]
    fn deltas_are_per_interval() {
        let mut c = StatsCounter::default();
        let start = c.total();
        c.add_reading(100, 5, 1);
        let first = c.total();
        assert_eq!(first - start, CaptureStats { packets: 95, drops: 5, freezes: 1 });
        c.add_reading(10, 0, 0);
        let second = c.total();
        assert_eq!(second - first, CaptureStats { packets: 10, drops: 0, freezes: 0 });
        assert_eq!(c.total() - second, CaptureStats::default());
        assert_eq!(c.total(), CaptureStats { packets: 105, drops: 5, freezes: 1 });
    }

    #[test]
    fn display() {
        let s = CaptureStats { packets: 3, drops: 2, freezes: 1 };
        assert_eq!(s.to_string(), "3 packets, 2 dropped, 1 freezes");
    }
}
