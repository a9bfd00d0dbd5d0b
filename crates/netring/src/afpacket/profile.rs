//! Ring profiles: named TPACKET_V3 ring geometries for common jobs, and the
//! reasoning behind each size.
//!
//! Under TPACKET_V3 the kernel packs frames back to back into a *block* and
//! hands user space whole blocks; a block is handed over when it is full or
//! when its *retire timeout* expires. So:
//!
//! * **block size** sets how many frames one wake-up delivers (bigger:
//!   fewer system calls per packet) and how long a block takes to fill at a
//!   given rate (bigger: more latency when the timer does not cut it short).
//!   The largest frame must fit in one block (48-byte block header, 68-byte
//!   packet header and alignment included).
//! * **block count** × block size is the buffer that absorbs a burst while
//!   the reader is busy; the ring freezes (and the kernel drops) when every
//!   block is held by user space.
//! * **retire timeout** bounds the delay of a frame in a block that is not
//!   full, at the cost of a wake-up per expiry when traffic is slow.
//! * **frame size** is only a unit of accounting under V3 (`tp_frame_nr`);
//!   it does not limit what is copied. It is kept at the largest frame the
//!   profile expects, as libpcap does.
//!
//! Ring pages are kernel memory (not charged to `RLIMIT_MEMLOCK`); a block
//! above 4 MiB (order 10 with 4 KiB pages) is allocated with `vmalloc`.

use std::time::Duration;

/// Default block size: 1 MiB.
pub const DEFAULT_BLOCK_SIZE: usize = 1 << 20;
/// Default number of blocks: 64 (a 64 MiB ring). Measured with `netring
/// bench` (docs/PERFORMANCE.md): a 16 MiB ring lost 0.1–0.8 % of 9000-byte
/// frames at ~0.2 Mpps on a busy machine, where 64 MiB lost none; the ring
/// is resident memory, and the process needs about 4 MiB beyond it.
pub const DEFAULT_BLOCK_COUNT: usize = 64;
/// Default frame size (only a unit of accounting under V3).
pub const DEFAULT_FRAME_SIZE: usize = 2048;
/// Default block retire timeout.
pub const DEFAULT_RETIRE_TIMEOUT: Duration = Duration::from_millis(50);

/// A ring geometry: what [`CaptureBuilder::profile`](crate::CaptureBuilder::profile) sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingGeometry {
    /// Bytes per block (a power of two, page multiple).
    pub block_size: usize,
    /// Number of blocks.
    pub block_count: usize,
    /// Frame size (accounting unit under V3).
    pub frame_size: usize,
    /// Block retire timeout.
    pub retire_timeout: Duration,
}

impl RingGeometry {
    /// Total ring memory in bytes.
    pub const fn bytes(&self) -> usize {
        self.block_size * self.block_count
    }
}

/// Named ring geometries. Each profile's sizes and the reason for them:
///
/// | profile | block | blocks | ring | retire | frame | for |
/// |---|---|---|---|---|---|---|
/// | [`Default`](Self::Default) | 1 MiB | 64 | 64 MiB | 50 ms | 2048 | general capture: ~700 full-size frames a wake-up; 64 MiB ≈ 0.5 s of 1 Gb/s line rate of slack (16 MiB lost 0.1–0.8 % of 9000-byte frames in `netring bench`, 64 MiB none; see docs/PERFORMANCE.md) |
/// | [`HighThroughput`](Self::HighThroughput) | 4 MiB | 64 | 256 MiB | 100 ms | 2048 | IDS/recorders at 10 Gb/s: the largest buddy-allocated block (order 10) keeps wake-ups rare; 256 MiB ≈ 200 ms of 10 Gb/s to ride out a slow disk or a busy consumer |
/// | [`LowLatency`](Self::LowLatency) | 64 KiB | 64 | 4 MiB | 1 ms | 2048 | latency measurement: a 64 KiB block fills after ~40 full-size frames, and a lone frame waits at most ~1 ms (the timer's resolution is a jiffy on some kernels) |
/// | [`LowMemory`](Self::LowMemory) | 128 KiB | 8 | 1 MiB | 20 ms | 2048 | small devices and many concurrent captures: 1 MiB in total, still ~90 full-size frames a block |
/// | [`Jumbo`](Self::Jumbo) | 4 MiB | 32 | 128 MiB | 50 ms | 65 536 | MTU 9000 and GRO/TSO super-frames up to 64 KiB: each block still holds ~60 of the largest frames; fewer frames per byte, so fewer blocks than high-throughput |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RingProfile {
    /// 64 × 1 MiB, 50 ms (the builder's defaults).
    #[default]
    Default,
    /// 64 × 4 MiB, 100 ms.
    HighThroughput,
    /// 64 × 64 KiB, 1 ms.
    LowLatency,
    /// 8 × 128 KiB, 20 ms.
    LowMemory,
    /// 32 × 4 MiB, 50 ms, 64 KiB frames.
    Jumbo,
}

impl RingProfile {
    /// Every profile, in the order of the table above.
    pub const ALL: [Self; 5] = [Self::Default, Self::HighThroughput, Self::LowLatency, Self::LowMemory, Self::Jumbo];

    /// The sizes this profile stands for.
    pub const fn geometry(self) -> RingGeometry {
        const KIB: usize = 1024;
        const MIB: usize = 1024 * KIB;
        let (block_size, block_count, frame_size, ms) = match self {
            Self::Default => {
                (DEFAULT_BLOCK_SIZE, DEFAULT_BLOCK_COUNT, DEFAULT_FRAME_SIZE, DEFAULT_RETIRE_TIMEOUT.as_millis() as u64)
            }
            Self::HighThroughput => (4 * MIB, 64, 2048, 100),
            Self::LowLatency => (64 * KIB, 64, 2048, 1),
            Self::LowMemory => (128 * KIB, 8, 2048, 20),
            Self::Jumbo => (4 * MIB, 32, 64 * KIB, 50),
        };
        RingGeometry { block_size, block_count, frame_size, retire_timeout: Duration::from_millis(ms) }
    }

    /// The profile's name as the CLI spells it (`high-throughput`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::HighThroughput => "high-throughput",
            Self::LowLatency => "low-latency",
            Self::LowMemory => "low-memory",
            Self::Jumbo => "jumbo",
        }
    }
}

impl std::str::FromStr for RingProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|p| p.as_str()).collect();
            format!("{s:?} is not a ring profile ({})", names.join(", "))
        })
    }
}

impl std::fmt::Display for RingProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_valid_geometries_and_parse_by_name() {
        for p in RingProfile::ALL {
            let g = p.geometry();
            assert!(g.block_size.is_power_of_two() && g.block_size.is_multiple_of(4096), "{p}");
            assert!(g.frame_size <= g.block_size && g.frame_size.is_multiple_of(16), "{p}");
            assert_eq!(p.as_str().parse::<RingProfile>().unwrap(), p);
        }
        assert_eq!(RingProfile::Default.geometry().bytes(), 64 << 20, "the documented default ring");
        assert_eq!(RingProfile::HighThroughput.geometry().bytes(), 256 << 20);
        assert_eq!(RingProfile::LowMemory.geometry().bytes(), 1 << 20);
        assert!("fast".parse::<RingProfile>().unwrap_err().contains("low-latency"));
    }
}
