//! Replay runs: a pcap of numbered frames played in an endless loop at top
//! speed from end a by `netring replay` (its default `sendmmsg`, a TX ring,
//! AF_XDP) and by `tcpreplay --topspeed --preload-pcap`, each a process
//! pinned to the sender's CPU; rates from the interface counters as in the
//! injection runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use netring::Timestamp;
use netring::pcap::PcapWriter;
use netring::testkit::SeqFrames;

use super::external::{self, Tool};
use super::inject;
use super::link::{BenchLink, RxPath};
use super::run::{Outcome, Settings};
use super::tx::TX_RING_SLOTS;

/// Records in the replayed file: enough that a pass is not a cache trick
/// (15 MB at 1500 B), few enough to preload at once.
const RECORDS: u64 = 10_000;

/// A replay contender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Player {
    /// `netring replay` of this binary (`xdp`: `--backend xdp`; `ring`:
    /// `--ring-frames`, which makes `--tx-method auto` the TX ring; else
    /// the default, `sendmmsg`).
    Netring { xdp: bool, ring: Option<usize> },
    /// `netring replay` of another netring binary (`--baseline`).
    Baseline(PathBuf),
    /// `tcpreplay --topspeed --preload-pcap`.
    Tcpreplay,
}

impl Player {
    /// Contender name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Netring { xdp: false, ring: None } => "netring-replay",
            Self::Netring { xdp: false, ring: Some(_) } => "netring-replay-ring256",
            Self::Netring { xdp: true, .. } => "netring-replay-xdp",
            Self::Baseline(_) => "netring-replay-baseline",
            Self::Tcpreplay => "tcpreplay",
        }
    }

    /// What it is, for the report.
    pub fn describe(&self) -> String {
        match self {
            Self::Netring { xdp: false, ring: None } => {
                "netring replay --topspeed --loop 0 (default --tx-method auto: sendmmsg from 64 buffers, file preloaded)"
                    .into()
            }
            Self::Netring { xdp: false, ring: Some(n) } => {
                format!("netring replay --topspeed --loop 0 --ring-frames {n} (a TX ring that stays in the cache)")
            }
            Self::Netring { xdp: true, .. } => {
                "netring replay --topspeed --loop 0 --backend xdp (AF_XDP, copy mode)".into()
            }
            Self::Baseline(p) => format!("{} replay --topspeed --loop 0 (TX ring)", p.display()),
            Self::Tcpreplay => "tcpreplay --topspeed --preload-pcap --loop 0".into(),
        }
    }

    /// Why it cannot run here, if it cannot.
    pub fn skip_reason(&self, path: RxPath, len: usize) -> Option<String> {
        match self {
            _ if path == RxPath::Napi => Some("measured on the plain path (as the issue's figures)".into()),
            Self::Tcpreplay if !Tool::Tcpreplay.installed() => Some("tcpreplay is not installed".into()),
            Self::Netring { xdp: true, .. } if len > 2048 - 256 => {
                Some("AF_XDP frames are at most a UMEM frame (2048 B, 256 B headroom)".into())
            }
            Self::Baseline(p) if !p.is_file() => Some(format!("{} does not exist", p.display())),
            _ => None,
        }
    }
}

/// The replay contenders (`baseline`: another netring binary to compare).
pub fn contenders(baseline: Option<&Path>) -> Vec<Player> {
    let mut v = vec![
        Player::Netring { xdp: false, ring: None },
        Player::Netring { xdp: false, ring: Some(TX_RING_SLOTS) },
        Player::Netring { xdp: true, ring: None },
        Player::Tcpreplay,
    ];
    if let Some(b) = baseline {
        v.insert(1, Player::Baseline(b.to_owned()));
    }
    v
}

/// Write the replayed file: [`RECORDS`] numbered `len`-byte frames.
fn write_file(len: usize) -> Result<PathBuf, String> {
    let path = std::env::temp_dir().join(format!("netring-bench-{}-{len}.pcap", std::process::id()));
    let e = |e: netring::Error| format!("write {}: {e}", path.display());
    let mut w = PcapWriter::create(&path, 65535).map_err(e)?;
    let g = SeqFrames::default();
    for i in 0..RECORDS {
        w.write(Timestamp::from_nanos(i * 1000), len as u32, &g.build(i, len)).map_err(e)?;
    }
    w.into_inner().map_err(e)?;
    Ok(path)
}

/// One replay run of `player` over a fresh link.
pub fn run(player: &Player, path: RxPath, len: usize, st: &Settings) -> Result<Outcome, String> {
    let link = BenchLink::new(path, len, st.rx_cpu)?;
    let a = &link.link.a;
    let file = write_file(len)?;
    let f = file.to_string_lossy().into_owned();
    let (program, argv): (String, Vec<String>) = match player {
        Player::Tcpreplay => (
            Tool::Tcpreplay.program().into(),
            ["-i", &a.name, "--topspeed", "--preload-pcap", "--loop=0", &f].map(String::from).to_vec(),
        ),
        Player::Netring { xdp, ring } => {
            let me = std::env::current_exe().map_err(|e| format!("this binary: {e}"))?;
            let mut argv: Vec<String> =
                ["replay", "-i", &a.name, &f, "--topspeed", "--loop", "0", "-q"].map(String::from).to_vec();
            if *xdp {
                argv.extend(["--backend", "xdp"].map(String::from));
            }
            if let Some(n) = ring {
                argv.extend(["--ring-frames".into(), n.to_string()]);
            }
            (me.to_string_lossy().into_owned(), argv)
        }
        Player::Baseline(p) => (
            p.to_string_lossy().into_owned(),
            ["replay", "-i", &a.name, &f, "--topspeed", "--loop", "0", "-q"].map(String::from).to_vec(),
        ),
    };
    let running = match external::spawn(&program, None, a, st.tx_cpu, &argv, Duration::ZERO) {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&file);
            return Err(e);
        }
    };
    let pid = running.pid();
    let measured = inject::measure(&link, &|| netring::testkit::process_tree_cpu_time(pid).unwrap_or_default(), st);
    let stopped = running.stop(Duration::from_secs(10));
    let _ = std::fs::remove_file(&file);
    let outcome = measured.map_err(|e| format!("{}: {e}", player.name()))?;
    stopped?;
    Ok(outcome)
}
