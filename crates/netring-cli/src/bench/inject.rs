//! Injection runs: one sender on end a, nothing but the kernel on end b;
//! rates from the interface counters over a window that opens once the
//! sender is up to speed.

use std::time::{Duration, Instant};

use netring::testkit::SeqFrames;

use super::external::{self, Tool};
use super::link::{BenchLink, RxPath, Snapshot};
use super::run::{Outcome, Settings};
use super::tx::{self, Sender, TxKind};

/// An injection contender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tx {
    Ours(TxKind),
    /// `netring gen`, the command, as a process like trafgen.
    Gen(GenKind),
    Trafgen,
}

/// The transmit path of a `netring gen` contender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenKind {
    /// `--tx-method ring --qdisc-bypass` (the TX ring, as trafgen uses it).
    TxRing,
    /// `--tx-method sendmmsg --qdisc-bypass`.
    Sendmmsg,
    /// `--backend xdp`.
    Xdp,
}

impl GenKind {
    fn args(self) -> &'static [&'static str] {
        match self {
            Self::TxRing => &["--tx-method", "ring", "--qdisc-bypass"],
            Self::Sendmmsg => &["--tx-method", "sendmmsg", "--qdisc-bypass"],
            Self::Xdp => &["--backend", "xdp"],
        }
    }
}

impl Tx {
    /// Contender name.
    pub fn name(&self) -> &'static str {
        match self {
            Tx::Ours(k) => k.name(),
            Tx::Gen(GenKind::TxRing) => "netring-gen-txring",
            Tx::Gen(GenKind::Sendmmsg) => "netring-gen-sendmmsg",
            Tx::Gen(GenKind::Xdp) => "netring-gen-xdp",
            Tx::Trafgen => "trafgen",
        }
    }

    /// What it is, for the report.
    pub fn describe(&self) -> &'static str {
        match self {
            Tx::Ours(TxKind::TxRing) => "PACKET_TX_RING (TPACKET_V2), 256 slots, 64 frames per kick",
            Tx::Ours(TxKind::TxRingBypass) => "PACKET_TX_RING + PACKET_QDISC_BYPASS, 256 slots, 64 frames per kick",
            Tx::Ours(TxKind::Sendmmsg) => "sendmmsg, 64 frames per call",
            Tx::Ours(TxKind::Xdp) => "AF_XDP TX ring, copy mode, 64 frames per kick",
            Tx::Gen(GenKind::TxRing) => "netring gen --tx-method ring --qdisc-bypass (TX ring, 4 MiB; --payload seq)",
            Tx::Gen(GenKind::Sendmmsg) => "netring gen --tx-method sendmmsg --qdisc-bypass (64 buffers; --payload seq)",
            Tx::Gen(GenKind::Xdp) => "netring gen --backend xdp (AF_XDP copy mode; --payload seq)",
            Tx::Trafgen => "trafgen --cpus 1 (TX ring, qdisc bypass)",
        }
    }

    /// Why it cannot run here, if it cannot.
    pub fn skip_reason(&self, path: RxPath, len: usize) -> Option<String> {
        match self {
            Tx::Trafgen if path == RxPath::Napi => {
                Some("plain path only: trafgen exits at the first EAGAIN when veth's NAPI queue is full".into())
            }
            Tx::Trafgen if !Tool::Trafgen.installed() => Some("trafgen is not installed".into()),
            Tx::Ours(k) => k.unsupported(len).map(str::to_owned),
            Tx::Gen(GenKind::Xdp) => TxKind::Xdp.unsupported(len).map(str::to_owned),
            _ => None,
        }
    }
}

/// The injection contenders.
pub fn contenders() -> Vec<Tx> {
    vec![
        Tx::Ours(TxKind::TxRing),
        Tx::Ours(TxKind::TxRingBypass),
        Tx::Ours(TxKind::Sendmmsg),
        Tx::Ours(TxKind::Xdp),
        Tx::Gen(GenKind::TxRing),
        Tx::Gen(GenKind::Sendmmsg),
        Tx::Gen(GenKind::Xdp),
        Tx::Trafgen,
    ]
}

/// The ratios issue 16's targets name, from the median rates of one
/// injection group (`name` → Mpps): `netring gen` against trafgen, and
/// the AF_XDP sender against the TX ring. One line each, where both ran.
pub fn ratios(median: impl Fn(&str) -> Option<f64>) -> String {
    let pairs = [
        ("netring-gen-txring", "trafgen"),
        ("netring-gen-sendmmsg", "trafgen"),
        ("netring-gen-xdp", "trafgen"),
        ("netring-xdp-tx", "netring-txring-bypass"),
        ("netring-gen-xdp", "netring-gen-txring"),
        ("netring-sendmmsg", "netring-txring-bypass"),
    ];
    let mut out = String::new();
    for (a, b) in pairs {
        if let (Some(x), Some(y)) = (median(a), median(b)) {
            out.push_str(&format!("  {a} / {b} = {:.2}\n", x / y.max(1e-9)));
        }
    }
    out
}

enum Running {
    Ours(Sender),
    /// A process, and the file to remove when it ends.
    Theirs(external::Running, Option<std::path::PathBuf>),
}

impl Running {
    fn cpu(&self) -> Duration {
        match self {
            Running::Ours(s) => netring::testkit::thread_cpu_time_of(s.tid()),
            Running::Theirs(r, _) => netring::testkit::process_tree_cpu_time(r.pid()),
        }
        .unwrap_or_default()
    }
}

/// A trafgen configuration sending frame 0 of [`SeqFrames`], `len` bytes.
fn trafgen_conf(len: usize) -> String {
    let bytes: Vec<String> = SeqFrames::default().build(0, len).iter().map(|b| format!("0x{b:02x}")).collect();
    format!("{{ {} }}\n", bytes.join(", "))
}

/// One injection run of `tx` over a fresh link.
pub fn run(tx: &Tx, path: RxPath, len: usize, st: &Settings) -> Result<Outcome, String> {
    let link = BenchLink::new(path, len, st.rx_cpu)?;
    let a = &link.link.a;
    let sender = match tx {
        Tx::Ours(k) => Running::Ours(tx::start(*k, a, len, st.tx_cpu, None)?),
        Tx::Gen(g) => {
            let exe = std::env::current_exe().map_err(|e| format!("this executable: {e}"))?;
            let mut argv: Vec<String> = ["gen", "-i", &a.name, "-s", &len.to_string(), "-q"].map(String::from).to_vec();
            argv.extend(g.args().iter().map(|s| s.to_string()));
            Running::Theirs(external::spawn(&exe.to_string_lossy(), None, a, st.tx_cpu, &argv, Duration::ZERO)?, None)
        }
        Tx::Trafgen => {
            let conf = std::env::temp_dir().join(format!("netring-bench-{}-{len}.trafgen", std::process::id()));
            std::fs::write(&conf, trafgen_conf(len)).map_err(|e| format!("write {}: {e}", conf.display()))?;
            let mut argv: Vec<String> =
                ["--dev", &a.name, "--conf", &conf.to_string_lossy(), "--cpus", "1"].map(String::from).to_vec();
            if len > 2048 {
                argv.push("--jumbo-support".into());
            }
            match external::start(Tool::Trafgen, a, st.tx_cpu, &argv, Duration::ZERO) {
                Ok(r) => Running::Theirs(r, Some(conf)),
                Err(e) => {
                    let _ = std::fs::remove_file(&conf);
                    return Err(e);
                }
            }
        }
    };
    let measured = measure(&link, &|| sender.cpu(), st);
    let stopped = match sender {
        Running::Ours(s) => s.finish().map(drop),
        Running::Theirs(r, conf) => {
            if let Some(conf) = conf {
                let _ = std::fs::remove_file(conf);
            }
            r.stop(Duration::from_secs(10)).map(drop)
        }
    };
    let outcome = measured?;
    stopped?;
    Ok(outcome)
}

/// Wait until frames flow, then count over the window; `cpu`: the
/// sender's CPU time so far.
pub fn measure(link: &BenchLink, cpu: &dyn Fn() -> Duration, st: &Settings) -> Result<Outcome, String> {
    let first = link.snapshot()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        std::thread::sleep(Duration::from_millis(20));
        if link.snapshot()?.a_tx > first.a_tx + 1000 {
            break;
        }
        if Instant::now() > deadline {
            return Err("no frame left the sender within 10 s".into());
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    let (cpu0, napi0, s0) = (cpu(), link.napi_cpu(), link.snapshot()?);
    std::thread::sleep(Duration::from_secs_f64(st.seconds));
    let s1: Snapshot = link.snapshot()?;
    let cpu = cpu().saturating_sub(cpu0);
    let kernel_cpu = link.napi_cpu().zip(napi0).map(|(b, a)| b.saturating_sub(a));
    let (sent, arrived, seconds) = s0.delta(&s1);
    Ok(Outcome { packets: sent, offered: sent, at_interface: arrived, seconds, cpu, kernel_cpu, drops: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_lines_name_both_contenders_where_both_ran() {
        let m = |name: &str| match name {
            "netring-gen-txring" => Some(1.1),
            "netring-gen-xdp" => Some(1.6),
            "trafgen" => Some(1.0),
            _ => None,
        };
        assert_eq!(
            ratios(m),
            "  netring-gen-txring / trafgen = 1.10\n  netring-gen-xdp / trafgen = 1.60\n  netring-gen-xdp / netring-gen-txring = 1.45\n"
        );
        assert_eq!(ratios(|_| None), "");
    }
}
