//! Choosing the packet path: `--backend packet|xdp`, shared by the verbs
//! that receive (`capture`) and transmit (`gen`, `replay`); the transmit
//! path of `gen` and `replay` (`TxArgs`, `Sink`, `with_sink!`) and the
//! summary both print.

use netring::netns::NetNs;
use netring::{Error, Injector, RawSender, TxStats, XdpMode, XdpSocket};

use crate::output;

/// `--backend`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// AF_PACKET (receive: a TPACKET_V3 ring; transmit: see --tx-method).
    Packet,
    /// AF_XDP.
    Xdp,
}

/// Transmit-path options of `gen` and `replay`: the path, its queue, qdisc
/// bypass and the batch size at top speed.
#[derive(Debug, Clone, clap::Args)]
pub struct TxArgs {
    /// Transmit path: `packet` (AF_PACKET: `sendmmsg` or the TX ring, see
    /// --tx-method) or `xdp` (AF_XDP socket on one queue; transmit only, so
    /// no XDP program is loaded and the host's traffic is not touched).
    #[arg(long, value_enum, default_value_t = Backend::Packet)]
    pub backend: Backend,
    /// With `--backend xdp`: the queue to send on.
    #[arg(long, default_value_t = 0)]
    pub queue: u32,
    /// Hand frames straight to the driver (PACKET_QDISC_BYPASS; AF_XDP
    /// always does).
    #[arg(long)]
    pub qdisc_bypass: bool,
    /// Frames queued per kick of the kernel at top speed.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// With `--backend packet`: `ring` (PACKET_TX_RING, frames written in
    /// place), `sendmmsg` (64 frame buffers, one sendmmsg per kick: the
    /// kernel copies each frame; faster on veth, see docs/PERFORMANCE.md),
    /// or `auto`: sendmmsg, or the TX ring when --ring-frames is given.
    /// Both send and reject the same frames (one shorter than the link
    /// header is counted as rejected, the rest still go).
    #[arg(long, value_enum, default_value_t = TxMethod::Auto)]
    pub tx_method: TxMethod,
}

/// `--tx-method`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TxMethod {
    /// sendmmsg, or the TX ring with --ring-frames.
    Auto,
    /// `PACKET_TX_RING`.
    Ring,
    /// `sendmmsg` from 64 buffers (`netring::RawSender`).
    Sendmmsg,
}

impl TxMethod {
    /// What `auto` means: `sendmmsg`, measured faster than the TX ring on
    /// both veth receive paths (docs/PERFORMANCE.md), unless an option
    /// that only the TX ring has is given (`ring_frames`: --ring-frames).
    fn resolve(self, ring_frames: Option<usize>) -> Self {
        match self {
            Self::Auto if ring_frames.is_some() => Self::Ring,
            Self::Auto => Self::Sendmmsg,
            m => m,
        }
    }
}

/// The opened transmit path.
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "one value per run, never moved in a loop")]
pub enum Sink {
    /// AF_PACKET TX ring.
    Packet(Injector),
    /// AF_XDP, transmit only.
    Xdp(XdpSocket),
    /// AF_PACKET `sendmmsg`.
    Raw(RawSender),
}

impl TxArgs {
    /// Refuse `--batch 0`.
    pub fn check_batch(&self) -> Result<(), Error> {
        if self.batch == 0 {
            return Err(Error::InvalidConfig { name: "batch", value: "0".into(), rule: "must be at least 1".into() });
        }
        Ok(())
    }

    /// Open the transmit path on `interface` (`ring_frames`: AF_PACKET TX
    /// ring slots, when given), inside network namespace `netns` if given.
    pub fn open(&self, interface: &str, ring_frames: Option<usize>, netns: Option<&str>) -> Result<Sink, Error> {
        match self.backend {
            Backend::Packet if self.tx_method.resolve(ring_frames) == TxMethod::Sendmmsg => {
                if ring_frames.is_some() {
                    return Err(Error::InvalidConfig {
                        name: "--ring-frames",
                        value: "with --tx-method sendmmsg".into(),
                        rule: "applies to the AF_PACKET TX ring only".into(),
                    });
                }
                let open = || -> Result<RawSender, Error> {
                    let mut s = RawSender::open(interface)?;
                    if self.qdisc_bypass {
                        s.set_qdisc_bypass(true)?;
                    }
                    Ok(s)
                };
                let s = match netns {
                    Some(ns) => NetNs::open(ns)?.run(open)??,
                    None => open()?,
                };
                tracing::info!(interface, buffers = RawSender::SINK_BUFFERS, "AF_PACKET transmit with sendmmsg");
                Ok(Sink::Raw(s))
            }
            Backend::Packet => {
                let mut b = Injector::builder().interface(interface).qdisc_bypass(self.qdisc_bypass);
                if let Some(ns) = netns {
                    b = b.netns(ns);
                }
                if let Some(n) = ring_frames {
                    b = b.frame_count(n);
                }
                let inj = b.build()?;
                tracing::info!(interface, frames = inj.frame_count(), "AF_PACKET transmit through the TX ring");
                Ok(Sink::Packet(inj))
            }
            Backend::Xdp => {
                if self.tx_method != TxMethod::Auto {
                    return Err(Error::InvalidConfig {
                        name: "--tx-method",
                        value: "with --backend xdp".into(),
                        rule: "chooses between AF_PACKET methods only".into(),
                    });
                }
                if self.qdisc_bypass {
                    return Err(Error::InvalidConfig {
                        name: "--qdisc-bypass",
                        value: "with --backend xdp".into(),
                        rule: "applies to AF_PACKET only (AF_XDP bypasses the qdisc anyway)".into(),
                    });
                }
                if ring_frames.is_some() {
                    return Err(Error::InvalidConfig {
                        name: "--ring-frames",
                        value: "with --backend xdp".into(),
                        rule: "applies to the AF_PACKET TX ring only".into(),
                    });
                }
                let mut b = XdpSocket::builder().interface(interface).queue(self.queue).mode(XdpMode::Tx);
                if let Some(ns) = netns {
                    b = b.netns(ns);
                }
                let sock = b.build()?;
                tracing::info!(
                    interface,
                    queue = self.queue,
                    zero_copy = sock.zero_copy(),
                    "AF_XDP transmit socket ready (no XDP program)"
                );
                Ok(Sink::Xdp(sock))
            }
        }
    }
}

/// What a transmit run reports (gen and replay share it); `extra`: more
/// members of the JSON object and more summary lines (a paced run's
/// achieved rate, replay's passes).
pub fn report(
    json: bool,
    verb: &str,
    s: &TxStats,
    seconds: f64,
    extra: &[(&str, serde_json::Value, String)],
) -> Result<(), Error> {
    if json {
        let mut v = serde_json::json!({
            "packets": s.sent,
            "bytes": s.bytes,
            "rejected": s.rejected,
            "seconds": seconds,
        });
        for (key, value, _) in extra {
            v[*key] = value.clone();
        }
        crate::output::stdout_line(&v)?;
    }
    eprintln!(
        "netring {verb}: {} frames sent ({} bytes) in {seconds:.3} s, {}; {} rejected{}",
        s.sent,
        s.bytes,
        output::rate(s.sent, seconds),
        s.rejected,
        if s.pending > 0 { format!(", {} still queued at exit", s.pending) } else { String::new() }
    );
    for (_, _, line) in extra.iter().filter(|e| !e.2.is_empty()) {
        eprintln!("{line}");
    }
    Ok(())
}

/// Run `$body` with `$sink` bound to the concrete transmit path, so code
/// generic over `PacketSink` runs on either backend.
macro_rules! with_sink {
    ($sink:expr, |$s:ident| $body:expr) => {
        match $sink {
            $crate::backend::Sink::Packet(ref mut $s) => $body,
            $crate::backend::Sink::Xdp(ref mut $s) => $body,
            $crate::backend::Sink::Raw(ref mut $s) => $body,
        }
    };
}
pub(crate) use with_sink;
