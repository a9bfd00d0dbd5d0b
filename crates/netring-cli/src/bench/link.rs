//! The link a run measures: a fresh veth pair between two private
//! namespaces, set up for one of the two receive paths, and the counters
//! read on it.

use std::process::Command;
use std::time::{Duration, Instant};

use netring::testkit::{End, VethConfig, VethLink};

/// How the receiving veth processes frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum RxPath {
    /// veth as created: `veth_xmit` hands each frame to the receive path
    /// inside the sender's system call (its softirq, on the sender's CPU).
    /// The receiver only walks its ring; the kernel's copy into the ring is
    /// charged to the generator's core.
    Plain,
    /// GRO on and threaded NAPI on the receiving veth (its XDP path when a
    /// program is attached): the sender only queues frames; a kernel
    /// `napi/DEV-N` thread, pinned to the receiver's CPU, runs the receive
    /// path. Receiver and kernel share one core, as a capture core behind a
    /// NIC queue does.
    Napi,
}

impl RxPath {
    /// Lower-case name for tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Napi => "napi",
        }
    }
}

/// One run's link.
pub struct BenchLink {
    pub link: VethLink,
    pub path: RxPath,
    /// The receiving veth's NAPI thread (NAPI path only).
    pub napi_pid: Option<u32>,
}

/// Counters of both ends at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub at: Option<Instant>,
    /// `tx_packets` of end a (the sender's veth).
    pub a_tx: u64,
    /// `rx_packets` of end b (the receiving veth).
    pub b_rx: u64,
}

impl Snapshot {
    /// Packets (sent at a, received at b) and seconds from `self` to `later`.
    pub fn delta(&self, later: &Snapshot) -> (u64, u64, f64) {
        let secs = match (self.at, later.at) {
            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        (later.a_tx.saturating_sub(self.a_tx), later.b_rx.saturating_sub(self.b_rx), secs)
    }
}

impl BenchLink {
    /// A new link for `path`, MTU large enough for `frame_len`.
    pub fn new(path: RxPath, frame_len: usize, rx_cpu: usize) -> Result<Self, String> {
        let mut cfg = VethConfig::default().prefix("nrb");
        if frame_len > 1514 {
            cfg = cfg.mtu(9000);
        }
        let link = cfg.create().map_err(|e| format!("veth link: {e}"))?;
        let mut me = Self { link, path, napi_pid: None };
        if path == RxPath::Napi {
            me.enable_napi(rx_cpu)?;
        }
        Ok(me)
    }

    /// GRO on and `threaded` = 1 on the receiving veth, then pin its NAPI
    /// thread. `/sys/class/net` shows the network namespace sysfs was
    /// mounted in, so the write goes through `ip netns exec`, which mounts
    /// a fresh sysfs for the namespace in a private mount namespace.
    fn enable_napi(&mut self, rx_cpu: usize) -> Result<(), String> {
        let (a, b) = (&self.link.a, &self.link.b);
        // veth queues a frame for NAPI only if it is "eligible for GRO": with
        // TSO on at the sender (veth's default) only socket-owned UDP frames
        // are, so turn TSO off on end a.
        netns_exec(a, &["ethtool", "-K", &a.name, "tso", "off"])?;
        netns_exec(b, &["ethtool", "-K", &b.name, "gro", "on"])?;
        netns_exec(b, &["sh", "-c", &format!("echo 1 > /sys/class/net/{}/threaded", b.name)])?;
        let pid = napi_thread(&b.name).ok_or_else(|| format!("no napi/{}-* kernel thread appeared", b.name))?;
        netring::cpu::pin_task(pid, rx_cpu).map_err(|e| format!("pin napi thread {pid}: {e}"))?;
        self.napi_pid = Some(pid);
        Ok(())
    }

    /// Both ends' counters now (`RTM_GETLINK`, `IFLA_STATS64`).
    pub fn snapshot(&self) -> Result<Snapshot, String> {
        let read = |e: &End| {
            e.run(netring::interface::link_info).map_err(|x| x.to_string())?.map_err(|x| format!("link stats: {x}"))
        };
        let a = read(&self.link.a)?;
        let b = read(&self.link.b)?;
        Ok(Snapshot { at: Some(Instant::now()), a_tx: a.tx_packets, b_rx: b.rx_packets })
    }

    /// CPU time of the NAPI thread so far.
    pub fn napi_cpu(&self) -> Option<Duration> {
        self.napi_pid.and_then(netring::testkit::process_tree_cpu_time)
    }
}

/// Run a command inside `end`'s namespace (`ip netns exec`); its failure
/// is the error.
pub fn netns_exec(end: &End, argv: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(["netns", "exec", end.ns.name()])
        .args(argv)
        .output()
        .map_err(|e| format!("ip netns exec {}: {e}", argv.join(" ")))?;
    if !out.status.success() {
        return Err(format!("{}: {}", argv.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

/// The kernel thread `napi/DEV-ID` of interface `dev`, if one exists.
fn napi_thread(dev: &str) -> Option<u32> {
    // comm holds at most 15 bytes: `napi/DEV-ID` is often cut short.
    let full = format!("napi/{dev}-");
    let want = &full[..full.len().min(15)];
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let found = std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
            comm.starts_with(want).then_some(pid)
        });
        if found.is_some() {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}
