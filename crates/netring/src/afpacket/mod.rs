//! AF_PACKET: TPACKET_V3 receive rings, `PACKET_TX_RING` injection and a
//! plain sending socket.
//!
//! See `Documentation/networking/packet_mmap.rst` in the kernel tree and
//! packet(7).

pub(crate) mod batch;
mod capture;
mod fanout;
mod injector;
mod profile;
mod ring;
mod sender;
mod timestamp;
mod tx_ring;

pub use batch::{PacketBatch, Packets};
pub use capture::{
    ANY_INTERFACE, Capture, CaptureBuilder, CapturePackets, DEFAULT_BLOCK_COUNT, DEFAULT_BLOCK_SIZE,
    DEFAULT_FRAME_SIZE, DEFAULT_RETIRE_TIMEOUT, MAX_SNAPLEN,
};
pub use fanout::{Fanout, FanoutFlags, FanoutMode};
pub use injector::{DEFAULT_TX_RING_BYTES, Injector, InjectorBuilder, TpacketVersion, TxSlot};
pub use profile::{RingGeometry, RingProfile};
pub use sender::RawSender;
pub use timestamp::{TimestampInfo, Timestamping};
