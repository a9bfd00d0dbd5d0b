//! netring's senders, in-process: the generator of the capture runs and
//! the contenders of the injection runs. Each runs on a thread pinned to
//! one CPU and sends numbered frames until told to stop: the template is
//! written once per ring slot or UMEM frame, then only the sequence number
//! (`netring::testkit::FrameGen`, as `netring gen --payload seq`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netring::testkit::{End, FrameGen, Payload, SeqFrames};
use netring::{Injector, PacketSink, RawSender, SinkSlot, XdpMode, XdpSocket};

use super::pinned::Pinned;
use crate::pace::Waiter;

/// `--generator`: which sender feeds the capture runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GeneratorArg {
    /// AF_XDP TX where the frame fits a UMEM frame, else the TX ring.
    Auto,
    /// TX ring with qdisc bypass.
    Txring,
    /// AF_XDP TX.
    Xdp,
    /// sendmmsg.
    Sendmmsg,
}

impl GeneratorArg {
    /// The fixed choice (`None`: automatic).
    pub fn kind(self) -> Option<TxKind> {
        match self {
            Self::Auto => None,
            Self::Txring => Some(TxKind::TxRingBypass),
            Self::Xdp => Some(TxKind::Xdp),
            Self::Sendmmsg => Some(TxKind::Sendmmsg),
        }
    }
}

/// A netring transmit method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxKind {
    /// `PACKET_TX_RING` through the qdisc layer.
    TxRing,
    /// `PACKET_TX_RING` with `PACKET_QDISC_BYPASS`.
    TxRingBypass,
    /// `sendmmsg`, 64 frames a call (`RawSender::send_batch`).
    Sendmmsg,
    /// AF_XDP TX ring (copy mode on veth), 64 frames per kick.
    Xdp,
}

impl TxKind {
    /// Contender name.
    pub fn name(self) -> &'static str {
        match self {
            Self::TxRing => "netring-txring",
            Self::TxRingBypass => "netring-txring-bypass",
            Self::Sendmmsg => "netring-sendmmsg",
            Self::Xdp => "netring-xdp-tx",
        }
    }

    /// The generator for `len`-byte frames: `chosen`, or else AF_XDP TX (the
    /// fastest sender measured here) where it can send them, the TX ring
    /// with qdisc bypass otherwise.
    pub fn generator(chosen: Option<Self>, len: usize) -> Self {
        chosen.unwrap_or(if Self::Xdp.unsupported(len).is_none() { Self::Xdp } else { Self::TxRingBypass })
    }

    /// Why this method cannot send `len`-byte frames, if it cannot.
    pub fn unsupported(self, len: usize) -> Option<&'static str> {
        (self == Self::Xdp && len > 2048 - 256)
            .then_some("AF_XDP frames are at most a UMEM frame (2048 B, 256 B headroom); no multi-buffer")
    }
}

const BATCH: usize = 64;

/// TX ring slots of the senders: 256 (512 KiB with 2 KiB slots) stays in the
/// cache, where the library's default 4 MiB ring does not; on veth, whose
/// transmit completes inside the kick, a deeper ring buys nothing (see
/// docs/PERFORMANCE.md).
pub const TX_RING_SLOTS: usize = 256;

/// A sender thread; [`Pinned::finish`] returns the frames the method
/// counted as sent, once the kernel has released what was queued.
pub type Sender = Pinned<u64>;

/// Open `kind` on `end` and start sending `len`-byte frames from a thread
/// pinned to `cpu`, at most `pps` a second if given. Returns once the
/// thread runs.
pub fn start(kind: TxKind, end: &End, len: usize, cpu: usize, pps: Option<f64>) -> Result<Sender, String> {
    let sock = Socket::open(kind, end)?;
    Pinned::spawn("sender", cpu, move |stop| sock.blast(len, stop, Pace::new(pps)))
}

/// Holds a sender to a rate, batch by batch: frame `n` is due `n / pps`
/// after the start, waited for by the pacer `gen` uses.
struct Pace {
    start: Instant,
    pps: Option<f64>,
    waiter: Waiter,
}

impl Pace {
    fn new(pps: Option<f64>) -> Self {
        Self { start: Instant::now(), pps, waiter: Waiter::default() }
    }

    /// Wait until `sent` frames are due.
    fn wait(&mut self, sent: u64, stop: &AtomicBool) {
        let Some(pps) = self.pps else { return };
        let due = self.start + Duration::from_secs_f64(sent as f64 / pps);
        self.waiter.wait_until(due, &|| stop.load(Ordering::Acquire));
    }
}

enum Socket {
    Ring(Box<Injector>),
    Mmsg(Box<RawSender>),
    Xdp(Box<XdpSocket>),
}

impl Socket {
    fn open(kind: TxKind, end: &End) -> Result<Self, String> {
        let s = |e: netring::Error| format!("{}: {e}", kind.name());
        let opened = end.run(|n| -> netring::Result<Socket> {
            Ok(match kind {
                TxKind::TxRing => {
                    Socket::Ring(Box::new(Injector::builder().interface(n).frame_count(TX_RING_SLOTS).build()?))
                }
                TxKind::TxRingBypass => Socket::Ring(Box::new(
                    Injector::builder().interface(n).frame_count(TX_RING_SLOTS).qdisc_bypass(true).build()?,
                )),
                TxKind::Sendmmsg => Socket::Mmsg(Box::new(RawSender::open(n)?)),
                TxKind::Xdp => Socket::Xdp(Box::new(XdpSocket::builder().interface(n).mode(XdpMode::Tx).build()?)),
            })
        });
        opened.map_err(s)?.map_err(s)
    }

    /// Send until `stop`; returns the frames sent.
    fn blast(self, len: usize, stop: &AtomicBool, mut pace: Pace) -> Result<u64, String> {
        match self {
            // The TX ring waits for room on the first frame of a batch; the
            // AF_XDP sender spins on the kick instead.
            Socket::Ring(mut inj) => blast_sink(&mut *inj, len, stop, true, &mut pace),
            Socket::Xdp(mut sock) => blast_sink(&mut *sock, len, stop, false, &mut pace),
            Socket::Mmsg(tx) => {
                let frames: Vec<Vec<u8>> = (0..BATCH as u64).map(|s| SeqFrames::default().build(s, len)).collect();
                let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
                let mut sent = 0u64;
                while !stop.load(Ordering::Acquire) {
                    pace.wait(sent, stop);
                    match tx.send_batch(&refs) {
                        Ok(n) => sent += n as u64,
                        // ENOBUFS and friends: the device is busy; try again.
                        Err(_) => std::thread::yield_now(),
                    }
                }
                Ok(sent)
            }
        }
    }
}

/// Fill slots of `sink` with numbered `len`-byte frames, `BATCH` per kick,
/// until `stop`; `wait_first`: wait (up to 10 ms) for room for the first
/// frame of each batch rather than kick again at once. Returns the frames
/// the kernel released.
fn blast_sink<S: PacketSink>(
    sink: &mut S,
    len: usize,
    stop: &AtomicBool,
    wait_first: bool,
    pace: &mut Pace,
) -> Result<u64, String> {
    let mut frames = FrameGen::new(sink, SeqFrames::default(), Payload::Seq, None);
    let e = |e: netring::Error| e.to_string();
    let mut seq = 0u64;
    while !stop.load(Ordering::Acquire) {
        pace.wait(seq, stop);
        for i in 0..BATCH {
            let generation = sink.buffer_generation();
            let slot = if wait_first && i == 0 {
                sink.allocate_blocking(len, Some(Duration::from_millis(10)))
            } else {
                sink.allocate(len)
            };
            let Some(mut slot) = slot.map_err(e)? else { break };
            frames.write(&mut slot, generation, seq);
            slot.send();
            seq += 1;
        }
        sink.flush().map_err(e)?;
    }
    sink.flush().map_err(e)?;
    sink.wait_drained(Some(Duration::from_secs(2))).map_err(e)?;
    Ok(sink.tx_stats().sent)
}
