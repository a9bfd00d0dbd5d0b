//! How much memory the kernel could give: `/proc/meminfo`, read before a
//! ring is requested so a ring larger than the machine never reaches
//! `PACKET_RX_RING` (the kernel would try, reclaim for minutes and wake the
//! OOM killer before it said `ENOMEM`).

/// The figures of `/proc/meminfo` that bound a ring, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `MemTotal`: all usable RAM.
    pub total: u64,
    /// `MemAvailable`: what can be allocated without swapping (free memory
    /// plus reclaimable caches); `MemTotal` on kernels before 3.14.
    pub available: u64,
}

/// Parse the text of `/proc/meminfo` (`MemTotal:  8040528 kB` lines).
#[cfg_attr(all(miri, not(test)), expect(dead_code, reason = "under Miri a fixed machine stands in"))]
pub fn parse_meminfo(text: &str) -> Option<Memory> {
    let field = |name: &str| {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(':')?;
            let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            kib.checked_mul(1024)
        })
    };
    let total = field("MemTotal")?;
    Some(Memory { total, available: field("MemAvailable").unwrap_or(total) })
}

/// The machine's memory now, or `None` where `/proc` is not mounted.
#[cfg(not(miri))]
pub fn memory() -> Option<Memory> {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

/// Under Miri `/proc` lies outside the abstract machine: a fixed machine
/// of 8 GiB, 4 GiB of it available, stands in.
#[cfg(miri)]
pub fn memory() -> Option<Memory> {
    Some(Memory { total: 8 << 30, available: 4 << 30 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_parses_in_bytes() {
        let t = "MemTotal:        8040528 kB\nMemFree:          123 kB\nMemAvailable:    4000000 kB\n";
        assert_eq!(parse_meminfo(t), Some(Memory { total: 8040528 * 1024, available: 4000000 * 1024 }));
        assert_eq!(parse_meminfo("MemTotal: 10 kB\n"), Some(Memory { total: 10240, available: 10240 }));
        assert_eq!(parse_meminfo("nothing"), None);
    }

    #[test]
    fn this_machine_has_some() {
        let m = memory().expect("/proc/meminfo");
        assert!(m.total > 0 && m.available <= m.total, "{m:?}");
    }
}
