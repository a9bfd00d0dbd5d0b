//! Resident memory of `netring capture` (this very binary) against its
//! ring size, from `/proc/PID/status` while it captures.

use std::time::Duration;

use serde_json::{Value, json};

use super::capture::Ring;
use super::external;
use super::link::{BenchLink, RxPath};
use super::run::Settings;
use super::tx::{self, TxKind};

/// One capture's memory.
pub struct Row {
    ring: &'static str,
    ring_bytes: u64,
    /// `VmRSS`, `RssAnon`, `RssFile`, `RssShmem`, `VmHWM` in bytes.
    status: [u64; 5],
    error: Option<String>,
}

const FIELDS: [&str; 5] = ["VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"];

impl Row {
    /// The row as JSON.
    pub fn json(&self) -> Value {
        let [rss, anon, file, shmem, hwm] = self.status;
        json!({
            "ring": self.ring, "ring_bytes": self.ring_bytes, "vm_rss": rss, "rss_anon": anon,
            "rss_file": file, "rss_shmem": shmem, "vm_hwm": hwm,
            "beyond_ring": rss.saturating_sub(self.ring_bytes), "error": self.error,
        })
    }
}

/// Measure with the default ring and the high-throughput one.
pub fn measure(st: &Settings) -> Vec<Row> {
    [("default", Ring::DEFAULT), ("high-throughput", Ring::HIGH_THROUGHPUT)]
        .into_iter()
        .map(|(name, ring)| {
            let ring_bytes = (ring.block_size * ring.block_count) as u64;
            let (status, error) = match one(ring, st) {
                Ok(s) => (s, None),
                Err(e) => ([0; 5], Some(e)),
            };
            Row { ring: name, ring_bytes, status, error }
        })
        .collect()
}

fn one(ring: Ring, st: &Settings) -> Result<[u64; 5], String> {
    let link = BenchLink::new(RxPath::Plain, 64, st.rx_cpu)?;
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let argv: Vec<String> = [
        "capture",
        "-i",
        &link.link.b.name,
        "-q",
        "-d",
        "30",
        "--block-size",
        &ring.block_size.to_string(),
        "--block-count",
        &ring.block_count.to_string(),
    ]
    .map(String::from)
    .to_vec();
    let cap = external::spawn(&exe.to_string_lossy(), None, &link.link.b, st.rx_cpu, &argv, Duration::ZERO)?;
    std::thread::sleep(Duration::from_millis(500));
    let generator = tx::start(TxKind::generator(st.generator, 64), &link.link.a, 64, st.tx_cpu, None)?;
    std::thread::sleep(Duration::from_secs(1));
    generator.finish()?;
    std::thread::sleep(Duration::from_millis(200));
    let status = std::fs::read_to_string(format!("/proc/{}/status", cap.pid()));
    let out = cap.stop(Duration::from_secs(5))?;
    let status = status.map_err(|e| format!("netring capture exited early: {e}; {}", out.join(" | ")))?;
    Ok(FIELDS.map(|f| kib(&status, f) * 1024))
}

/// A `NAME:   1234 kB` line of `/proc/PID/status`.
fn kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.split_ascii_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The memory table.
pub fn table(rows: &[Row]) -> String {
    let mib = |b: u64| format!("{:.1}", b as f64 / (1 << 20) as f64);
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut v = vec![r.ring.to_string(), mib(r.ring_bytes)];
            match &r.error {
                Some(e) => v.push(format!("FAILED: {e}")),
                None => {
                    v.extend(r.status.iter().map(|&b| mib(b)));
                    v.push(mib(r.status[0].saturating_sub(r.ring_bytes)));
                }
            }
            v
        })
        .collect();
    crate::output::table(
        &["ring", "ring MiB", "VmRSS MiB", "RssAnon", "RssFile", "RssShmem", "VmHWM", "beyond ring MiB"],
        &body,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_fields() {
        let s = "Name:\tnetring\nVmHWM:\t   20480 kB\nVmRSS:\t   17000 kB\nRssAnon:\t    1000 kB\n";
        assert_eq!(super::kib(s, "VmRSS"), 17000);
        assert_eq!(super::kib(s, "VmHWM"), 20480);
        assert_eq!(super::kib(s, "RssShmem"), 0);
    }
}
