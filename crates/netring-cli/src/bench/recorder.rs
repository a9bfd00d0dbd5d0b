//! The recorder section (`--only recorder`): `netring capture` without a
//! file and with `-w` (pcap, pcapng, zstd) against `tcpdump -w` and
//! `dumpcap -w`, every file on a tmpfs of the run's own, so only the
//! writers' user-space work and the copy into the page cache differ. Each
//! contender is a process started in the receiving namespace, pinned to
//! the receive CPU, stopped with SIGINT; its own summary gives the counts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::external;
use super::link::{BenchLink, RxPath};
use super::run::{Outcome, Settings};
use super::tx::{self, TxKind};

/// A recorder contender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rec {
    /// `netring capture`, writing to this file name (none: count only).
    Netring(&'static str, Option<&'static str>),
    /// The same, run by the `--baseline` binary (another build of netring).
    Baseline(&'static str, Option<&'static str>),
    Tcpdump,
    Dumpcap,
}

/// The contenders, in report order; with a `--baseline` binary, its
/// runs too.
pub fn contenders(baseline: bool) -> Vec<Rec> {
    let mut v = vec![
        Rec::Netring("netring-nofile", None),
        Rec::Netring("netring-w-pcap", Some("r.pcap")),
        Rec::Netring("netring-w-pcapng", Some("r.pcapng")),
        Rec::Netring("netring-w-zstd", Some("r.pcap.zst")),
        // The first measurement: no file system at all, only the
        // writer's user-space work and the system calls.
        Rec::Netring("netring-w-devnull", Some("/dev/null")),
        Rec::Tcpdump,
        Rec::Dumpcap,
    ];
    if baseline {
        v.extend([
            Rec::Baseline("baseline-nofile", None),
            Rec::Baseline("baseline-w-pcap", Some("r.pcap")),
            Rec::Baseline("baseline-w-pcapng", Some("r.pcapng")),
            Rec::Baseline("baseline-w-devnull", Some("/dev/null")),
        ]);
    }
    v
}

fn on_path(program: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':').chain(["/usr/sbin", "/sbin"]).any(|d| std::path::Path::new(d).join(program).is_file())
}

impl Rec {
    /// Contender name.
    pub fn name(&self) -> &'static str {
        match self {
            Rec::Netring(n, _) | Rec::Baseline(n, _) => n,
            Rec::Tcpdump => "tcpdump-w",
            Rec::Dumpcap => "dumpcap-w",
        }
    }

    /// What it runs, for the report.
    pub fn describe(&self) -> String {
        match self {
            Rec::Netring(_, None) => "netring capture -q (count only, default ring)".into(),
            Rec::Netring(_, Some(f)) if f.starts_with('/') => format!("netring capture -q -w {f} (default ring)"),
            Rec::Netring(_, Some(f)) => format!("netring capture -q -w tmpfs/{f} (default ring)"),
            Rec::Baseline(_, None) => "the --baseline binary: capture -q".into(),
            Rec::Baseline(_, Some(f)) => format!("the --baseline binary: capture -q -w tmpfs/{f}"),
            Rec::Tcpdump => "tcpdump -n -B 262144 -w tmpfs/t.pcap".into(),
            Rec::Dumpcap => "dumpcap -B 256 -w tmpfs/d.pcapng".into(),
        }
    }

    /// Why it cannot run here, if it cannot.
    pub fn skip_reason(&self) -> Option<String> {
        match self {
            Rec::Tcpdump if !on_path("tcpdump") => Some("tcpdump is not installed".into()),
            Rec::Dumpcap if !on_path("dumpcap") => Some("dumpcap is not installed (package tshark)".into()),
            _ => None,
        }
    }
}

/// A tmpfs of the run's own, unmounted (its files gone) on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount() -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("netring-bench-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=12g", "tmpfs"])
            .arg(&dir)
            .status()
            .map_err(|e| format!("mount: {e}"))?;
        if !ok.success() {
            return Err(format!("mount a tmpfs on {}", dir.display()));
        }
        Ok(Self(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// (packets, drops) from `netring capture --json`'s summary object.
fn netring_counts(out: &[String]) -> Option<(u64, u64)> {
    out.iter().find_map(|l| {
        let v: Value = serde_json::from_str(l.trim()).ok()?;
        Some((v["packets"].as_u64()?, v["drops"].as_u64()?))
    })
}

/// (packets, drops) from dumpcap's `Packets captured: N` and
/// `Packets received/dropped on interface 'x': R/D (…)`.
fn dumpcap_counts(out: &[String]) -> Option<(u64, u64)> {
    let captured = out.iter().find_map(|l| l.split("Packets captured:").nth(1)?.trim().parse().ok())?;
    let dropped = out.iter().find_map(|l| {
        let rest = l.split("Packets received/dropped on interface").nth(1)?;
        let counts = rest.rsplit("': ").next()?.split_ascii_whitespace().next()?;
        counts.split('/').nth(1)?.parse().ok()
    })?;
    Some((captured, dropped))
}

/// One run of `rec` over a fresh link, the file on a fresh tmpfs
/// (`baseline`: the binary of the [`Rec::Baseline`] runs).
pub fn run(rec: &Rec, path: RxPath, len: usize, st: &Settings, baseline: Option<&Path>) -> Result<Outcome, String> {
    let disk = Tmpfs::mount()?;
    let link = BenchLink::new(path, len, st.rx_cpu)?;
    let b = &link.link.b;
    let file = |f: &str| disk.0.join(f).to_string_lossy().into_owned();
    let exe = match (rec, baseline) {
        (Rec::Baseline(..), Some(b)) => b.to_path_buf(),
        (Rec::Baseline(..), None) => return Err("no --baseline binary".into()),
        _ => std::env::current_exe().map_err(|e| format!("netring's own path: {e}"))?,
    };
    let (program, marker, argv): (String, &str, Vec<String>) = match *rec {
        Rec::Netring(_, f) | Rec::Baseline(_, f) => {
            let mut v: Vec<String> = ["capture", "-i", &b.name, "-q", "--json"].map(String::from).to_vec();
            if let Some(f) = f {
                v.extend(["-w".into(), file(f)]);
            }
            (exe.to_string_lossy().into_owned(), "listening on", v)
        }
        Rec::Tcpdump => {
            let v = ["-i", &b.name, "-n", "-B", "262144", "-w", &file("t.pcap")].map(String::from).to_vec();
            ("tcpdump".into(), "listening on", v)
        }
        Rec::Dumpcap => {
            let v = ["-i", &b.name, "-B", "256", "-w", &file("d.pcapng")].map(String::from).to_vec();
            ("dumpcap".into(), "File:", v)
        }
    };
    let r = external::spawn(&program, Some(marker), b, st.rx_cpu, &argv, Duration::from_secs(20))?;
    let cpu = || netring::testkit::process_tree_cpu_time(r.pid()).unwrap_or_default();
    let cpu0 = cpu();
    let napi0 = link.napi_cpu();
    let s0 = link.snapshot()?;
    let generator = tx::start(TxKind::generator(st.generator, len), &link.link.a, len, st.tx_cpu, st.offered_pps)?;
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(st.seconds));
    let gen_sent = generator.finish();
    let secs = t.elapsed().as_secs_f64();
    // Every contender gets the time to drain its ring and flush its file
    // (tcpdump and dumpcap ask libpcap for a 1 s timeout).
    std::thread::sleep(Duration::from_millis(1200));
    let s1 = link.snapshot()?;
    let used = cpu().saturating_sub(cpu0);
    let kernel_cpu = link.napi_cpu().zip(napi0).map(|(b, a)| b.saturating_sub(a));
    let out = r.stop(Duration::from_secs(30))?;
    let counts = match rec {
        Rec::Netring(..) | Rec::Baseline(..) => netring_counts(&out),
        Rec::Tcpdump => external::count_before(&out, "packets captured")
            .zip(external::count_before(&out, "packets dropped by kernel")),
        Rec::Dumpcap => dumpcap_counts(&out),
    };
    let (packets, drops) =
        counts.ok_or_else(|| format!("no counts in {}'s output: {}", rec.name(), out.join(" | ")))?;
    gen_sent?;
    let (offered, at_interface, _) = s0.delta(&s1);
    Ok(Outcome { packets, offered, at_interface, seconds: secs, cpu: used, kernel_cpu, drops })
}

/// The issue-17 targets, from the medians of one (path, size) group:
/// `(what, ratio, target)`; a ratio is missing when a side did not run.
pub fn targets(median: impl Fn(&str) -> Option<f64>) -> Vec<(&'static str, Option<f64>, f64)> {
    let r = |a: &str, b: &str| median(a).zip(median(b)).map(|(a, b)| a / b.max(1e-9));
    vec![
        ("-w pcap / no file", r("netring-w-pcap", "netring-nofile"), 0.97),
        ("-w pcapng / no file", r("netring-w-pcapng", "netring-nofile"), 0.97),
        ("-w pcapng / -w pcap", r("netring-w-pcapng", "netring-w-pcap"), 0.97),
        ("-w pcap / tcpdump -w", r("netring-w-pcap", "tcpdump-w"), 1.10),
        ("-w pcapng / dumpcap -w", r("netring-w-pcapng", "dumpcap-w"), 1.10),
        ("-w zstd / -w pcap", r("netring-w-zstd", "netring-w-pcap"), 0.50),
        ("-w pcap / baseline's", r("netring-w-pcap", "baseline-w-pcap"), 1.0),
        ("-w pcapng / baseline's", r("netring-w-pcapng", "baseline-w-pcapng"), 1.0),
        ("no file / baseline's", r("netring-nofile", "baseline-nofile"), 1.0),
        ("-w /dev/null / no file", r("netring-w-devnull", "netring-nofile"), 0.97),
        ("-w /dev/null / baseline's", r("netring-w-devnull", "baseline-w-devnull"), 1.0),
    ]
}

/// The targets as text lines.
pub fn targets_text(rows: &[(&'static str, Option<f64>, f64)]) -> String {
    rows.iter()
        .map(|(what, ratio, target)| match ratio {
            Some(x) => format!(
                "  {what:<24} {x:.3}  (target >= {target:.2}: {})\n",
                if *x >= *target { "met" } else { "missed" }
            ),
            None => format!("  {what:<24} -      (a side did not run)\n"),
        })
        .collect()
}

/// The targets as JSON.
pub fn targets_json(rows: &[(&'static str, Option<f64>, f64)]) -> Value {
    rows.iter()
        .map(|(what, ratio, target)| json!({"what": what, "ratio": ratio, "target": target}))
        .collect::<Vec<_>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(String::from).collect()
    }

    #[test]
    fn dumpcap_summary() {
        let l = lines(
            "Capturing on 'nrb1b'\nFile: /x/d.pcapng\nPackets captured: 1234\nPackets received/dropped on interface \
             'nrb1b': 1240/6 (pcap:6/dumpcap:0/flushed:0/ps_ifdrop:0) (99.5%)",
        );
        assert_eq!(dumpcap_counts(&l), Some((1234, 6)));
    }

    #[test]
    fn netring_summary() {
        let l =
            lines("netring: listening on x\n{\"packets\":10,\"bytes\":640,\"drops\":2,\"freezes\":0,\"seconds\":1.0}");
        assert_eq!(netring_counts(&l), Some((10, 2)));
    }

    #[test]
    fn targets_compare_medians() {
        let m = |n: &str| match n {
            "netring-nofile" => Some(100.0),
            "netring-w-pcap" => Some(98.0),
            "tcpdump-w" => Some(80.0),
            _ => None,
        };
        let t = targets(m);
        assert_eq!(t[0].1, Some(0.98));
        assert_eq!(t[3].1, Some(98.0 / 80.0));
        assert_eq!(t[1].1, None);
        let text = targets_text(&t);
        assert!(text.contains("  -w pcap / no file        0.980  (target >= 0.97: met)\n"), "{text}");
    }
}
