//! Capture runs: one contender on the receiving end, netring's fastest
//! sender flooding it from the other, every count taken from the kernel's
//! interface counters and from the contender itself.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use netring::afxdp::{BusyPoll, XdpAttach};
use netring::{Batch, Capture, PacketSource, XdpMode, XdpSocket};

use super::external::{self, Tool};
use super::link::{BenchLink, RxPath};
use super::pinned::Pinned;
use super::run::{Outcome, Settings};
use super::tx::{self, TxKind};

/// A netring AF_PACKET ring configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ring {
    pub block_size: usize,
    pub block_count: usize,
    pub retire_ms: u64,
    pub rxhash: bool,
    /// Poll the ring without sleeping (user-space busy polling).
    pub spin: bool,
}

impl Ring {
    /// The library's defaults.
    pub const DEFAULT: Ring = Ring {
        block_size: netring::afpacket::DEFAULT_BLOCK_SIZE,
        block_count: netring::afpacket::DEFAULT_BLOCK_COUNT,
        retire_ms: netring::afpacket::DEFAULT_RETIRE_TIMEOUT.as_millis() as u64,
        rxhash: false,
        spin: false,
    };
    /// The library's high-throughput profile (64 × 4 MiB, the 256 MiB tcpdump
    /// and netsniff-ng get here).
    pub const HIGH_THROUGHPUT: Ring = {
        let g = netring::afpacket::RingProfile::HighThroughput.geometry();
        Ring {
            block_size: g.block_size,
            block_count: g.block_count,
            retire_ms: g.retire_timeout.as_millis() as u64,
            ..Ring::DEFAULT
        }
    };
}

/// A netring AF_XDP socket configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xsk {
    /// RX ring, fill ring and UMEM entries (0: the library's defaults).
    pub depth: u32,
    /// Spin on the RX ring instead of sleeping.
    pub spin: bool,
    /// The XDP program writes per-frame metadata (timestamps).
    pub meta: bool,
    /// … with the RX hash (`XdpSocketBuilder::rxhash`).
    pub rxhash: bool,
    /// Most frames per batch (0: the library's default).
    pub batch: u32,
    /// Busy polling with the library's default settings.
    pub busy_poll: bool,
}

impl Xsk {
    /// The library's defaults.
    pub const DEFAULT: Xsk = Xsk { depth: 0, spin: false, meta: true, rxhash: false, batch: 0, busy_poll: false };
}

/// A capture contender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rx {
    Packet(&'static str, Ring),
    /// AF_XDP.
    Xdp(&'static str, Xsk),
    /// The ceiling: an XDP program (assembled by netring's `bpf` module)
    /// that counts each frame in a map and drops it; no socket, no copy.
    XdpDrop(&'static str),
    Tool(Tool),
}

impl Rx {
    /// Contender name.
    pub fn name(&self) -> &'static str {
        match self {
            Rx::Packet(n, _) => n,
            Rx::Xdp(n, ..) | Rx::XdpDrop(n) => n,
            Rx::Tool(t) => t.program(),
        }
    }

    /// What the contender is, for the report.
    pub fn describe(&self, path: RxPath) -> String {
        match self {
            Rx::Packet(_, r) => format!(
                "AF_PACKET TPACKET_V3, {} x {} KiB blocks, {} ms retire{}{}",
                r.block_count,
                r.block_size >> 10,
                r.retire_ms,
                if r.rxhash { ", rxhash" } else { "" },
                if r.spin { ", spinning on the ring" } else { "" }
            ),
            Rx::Xdp(_, x) => format!(
                "AF_XDP copy mode, {} XDP, {} x 2 KiB UMEM, RX ring {}, batches of {}{}{}{}",
                if path == RxPath::Napi { "native" } else { "generic (skb)" },
                if x.depth == 0 { 4096 } else { x.depth },
                if x.depth == 0 { 2048 } else { x.depth },
                if x.batch == 0 { netring::afxdp::DEFAULT_BATCH_SIZE } else { x.batch },
                if x.spin { ", spinning on the ring" } else { "" },
                if x.busy_poll { ", busy polling (20 us, 64 frames, preferred)" } else { "" },
                match (x.meta, x.rxhash) {
                    (true, false) => ", per-frame XDP metadata",
                    (true, true) => ", per-frame XDP metadata with the RX hash",
                    _ => ", no XDP metadata (user-space batch time)",
                },
            ),
            Rx::XdpDrop(_) => format!(
                "XDP_DROP ceiling: {} XDP program counting each frame in an array map, no socket",
                if path == RxPath::Napi { "native" } else { "generic (skb)" },
            ),
            Rx::Tool(Tool::Tcpdump) => "tcpdump -n -B 262144 -w /dev/null".into(),
            Rx::Tool(Tool::NetsniffNg) => "netsniff-ng -S 256MiB --silent --out /dev/null".into(),
            Rx::Tool(t @ (Tool::Trafgen | Tool::Tcpreplay)) => t.program().into(),
        }
    }

    /// Why it cannot run here, if it cannot.
    pub fn skip_reason(&self, len: usize) -> Option<String> {
        match self {
            Rx::Tool(t) if !t.installed() => Some(format!("{} is not installed", t.program())),
            Rx::Xdp(..) | Rx::XdpDrop(_) => TxKind::Xdp.unsupported(len).map(str::to_owned),
            _ => None,
        }
    }
}

/// The contenders of a default run, and the extra ring settings of `--tuning`.
pub fn contenders(tuning: bool) -> Vec<Rx> {
    let mut v = vec![
        Rx::Packet("netring", Ring::DEFAULT),
        Rx::Packet("netring-ht", Ring::HIGH_THROUGHPUT),
        Rx::Xdp("netring-xdp", Xsk::DEFAULT),
        Rx::XdpDrop("xdp-drop"),
        Rx::Tool(Tool::Tcpdump),
        Rx::Tool(Tool::NetsniffNg),
    ];
    if tuning {
        let d = Ring::DEFAULT;
        let x = Xsk::DEFAULT;
        v.extend([
            Rx::Packet("netring-256k-blocks", Ring { block_size: 256 << 10, block_count: 64, ..d }),
            Rx::Packet("netring-4m-blocks", Ring { block_size: 4 << 20, block_count: 4, ..d }),
            Rx::Packet("netring-1ms-retire", Ring { retire_ms: 1, ..d }),
            Rx::Packet("netring-rxhash", Ring { rxhash: true, ..d }),
            Rx::Packet("netring-spin", Ring { spin: true, ..d }),
            Rx::Packet("netring-4mib-ring", Ring { block_count: 4, ..d }),
            Rx::Packet("netring-16mib-ring", Ring { block_count: 16, ..d }),
            Rx::Xdp("netring-xdp-16k", Xsk { depth: 16384, ..x }),
            Rx::Xdp("netring-xdp-spin", Xsk { spin: true, ..x }),
            Rx::Xdp("netring-xdp-nometa", Xsk { meta: false, ..x }),
            Rx::Xdp("netring-xdp-rxhash", Xsk { rxhash: true, ..x }),
            Rx::Xdp("netring-xdp-batch256", Xsk { batch: 256, ..x }),
            Rx::Xdp("netring-xdp-busypoll", Xsk { busy_poll: true, ..x }),
        ]);
    }
    v
}

/// A receiver thread of netring's; [`Pinned::finish`] returns the packets
/// it counted and the drops its socket reported.
type Receiver = Pinned<(u64, u64)>;

/// Count packets of `src` on a thread pinned to `cpu` (`spin`: poll the
/// ring without sleeping) until told to stop, then drain the ring.
fn receive<S: PacketSource + Send + 'static>(mut src: S, cpu: usize, spin: bool) -> Result<Receiver, String> {
    Pinned::spawn("receiver", cpu, move |stop| {
        let mut n = 0u64;
        let mut bytes = 0u64;
        let mut count = |b: &S::Batch<'_>| {
            for p in b.packets() {
                n += 1;
                bytes += p.len() as u64;
            }
        };
        loop {
            if stop.load(Ordering::Acquire) {
                while let Some(b) = src.next_batch() {
                    count(&b);
                }
                break;
            }
            if spin {
                match src.next_batch() {
                    Some(b) => count(&b),
                    None => std::hint::spin_loop(),
                }
            } else if let Some(b) =
                src.next_batch_blocking(Some(Duration::from_millis(10))).map_err(|e| e.to_string())?
            {
                count(&b);
            }
        }
        std::hint::black_box(bytes);
        let drops = src.stats().map_err(|e| e.to_string())?.drops;
        Ok((n, drops))
    })
}

/// What is receiving during a run.
enum Running {
    Ours(Receiver),
    Theirs(Tool, external::Running),
    /// An XDP program counting in a map (kept attached by its link).
    Kernel(netring::bpf::ArrayMap, netring::bpf::XdpLink),
}

impl Running {
    fn cpu(&self) -> Duration {
        match self {
            Running::Ours(r) => netring::testkit::thread_cpu_time_of(r.tid()),
            Running::Theirs(_, t) => netring::testkit::process_tree_cpu_time(t.pid()),
            Running::Kernel(..) => None,
        }
        .unwrap_or_default()
    }
}

fn start(rx: &Rx, link: &BenchLink, st: &Settings) -> Result<Running, String> {
    let b = &link.link.b;
    let s = |e: netring::Error| format!("{}: {e}", rx.name());
    Ok(match *rx {
        Rx::Packet(_, r) => {
            let cap = b
                .run(|n| {
                    Capture::builder()
                        .interface(n)
                        .block_size(r.block_size)
                        .block_count(r.block_count)
                        .retire_timeout(Duration::from_millis(r.retire_ms))
                        .rxhash(r.rxhash)
                        .build()
                })
                .map_err(s)?
                .map_err(s)?;
            Running::Ours(receive(cap, st.rx_cpu, r.spin)?)
        }
        Rx::XdpDrop(_) => {
            use netring::bpf::{ArrayMap, EbpfProgram, ProgramType, XdpLink, programs};
            let how = if link.path == RxPath::Napi { XdpAttach::Native } else { XdpAttach::Generic };
            let (map, xdp) = b
                .run(|n| {
                    let map = ArrayMap::new("netring_count", 1)?;
                    let insns = programs::xdp_count_drop(&map);
                    let prog = EbpfProgram::load(ProgramType::Xdp { frags: false }, "netring_drop", &insns)?;
                    let xdp = XdpLink::attach(&prog, n, how)?;
                    Ok::<_, netring::Error>((map, xdp))
                })
                .map_err(s)?
                .map_err(s)?;
            Running::Kernel(map, xdp)
        }
        Rx::Xdp(_, x) => {
            let how = if link.path == RxPath::Napi { XdpAttach::Native } else { XdpAttach::Generic };
            let sock = b
                .run(|n| {
                    let mut bld = XdpSocket::builder()
                        .interface(n)
                        .mode(XdpMode::Rx)
                        .attach(how)
                        .rx_metadata(x.meta)
                        .rxhash(x.rxhash)
                        .busy_poll(x.busy_poll.then(BusyPoll::default));
                    if x.depth > 0 {
                        bld = bld.frame_count(x.depth).rx_ring_size(x.depth).fill_ring_size(x.depth);
                    }
                    if x.batch > 0 {
                        bld = bld.batch_size(x.batch);
                    }
                    bld.build()
                })
                .map_err(s)?
                .map_err(s)?;
            Running::Ours(receive(sock, st.rx_cpu, x.spin)?)
        }
        Rx::Tool(t) => {
            let argv: Vec<String> = match t {
                Tool::Tcpdump => ["-i", &b.name, "-n", "-B", "262144", "-w", "/dev/null"].map(String::from).to_vec(),
                _ => ["-S", "256MiB", "--in", &b.name, "--out", "/dev/null", "--silent"].map(String::from).to_vec(),
            };
            Running::Theirs(t, external::start(t, b, st.rx_cpu, &argv, Duration::from_secs(20))?)
        }
    })
}

/// One capture run of `rx` over a fresh link.
pub fn run(rx: &Rx, path: RxPath, len: usize, st: &Settings) -> Result<Outcome, String> {
    let link = BenchLink::new(path, len, st.rx_cpu)?;
    let receiver = start(rx, &link, st)?;
    let cpu0 = receiver.cpu();
    let napi0 = link.napi_cpu();
    let s0 = link.snapshot()?;
    let generator = tx::start(TxKind::generator(st.generator, len), &link.link.a, len, st.tx_cpu, st.offered_pps)?;
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(st.seconds));
    let gen_sent = generator.finish();
    let secs = t.elapsed().as_secs_f64();
    // Let every block retire: tcpdump asks libpcap for a 1 s timeout.
    let drain = if matches!(receiver, Running::Theirs(..)) { 1200 } else { 100 + 2 * Ring::DEFAULT.retire_ms };
    std::thread::sleep(Duration::from_millis(drain));
    let s1 = link.snapshot()?;
    let cpu = receiver.cpu().saturating_sub(cpu0);
    let kernel_cpu = link.napi_cpu().zip(napi0).map(|(b, a)| b.saturating_sub(a));
    let (counted, drops) = match receiver {
        Running::Ours(r) => r.finish()?,
        Running::Kernel(map, xdp) => {
            drop(xdp);
            (map.get(0).map_err(|e| e.to_string())?, 0)
        }
        Running::Theirs(tool, r) => {
            let out = r.stop(Duration::from_secs(10))?;
            let got = |what| {
                external::count_before(&out, what)
                    .ok_or_else(|| format!("no {what:?} in the output: {}", out.join(" | ")))
            };
            match tool {
                Tool::Tcpdump => (got("packets captured")?, got("packets dropped by kernel")?),
                _ => (
                    got("packets passed filter")?.saturating_sub(external::unread_on_exit(&out)),
                    got("packets failed filter")?,
                ),
            }
        }
    };
    gen_sent?;
    let (offered, at_interface, _) = s0.delta(&s1);
    Ok(Outcome { packets: counted, offered, at_interface, seconds: secs, cpu, kernel_cpu, drops })
}
