//! AF_PACKET: TPACKET_V3 receive rings, `PACKET_TX_RING` injection and a
//! plain sending socket.
//!
//! See `Documentation/networking/packet_mmap.rst` in the kernel tree and
//! packet(7).

mod batch;
pub(crate) mod block;
mod capture;
mod capture_builder;
mod fanout;
mod frame_limit;
mod injector;
mod injector_builder;
mod packets;
mod profile;
mod ring;
mod sender;
#[cfg(test)]
mod tests;
mod timestamp;
mod tx_ring;

pub use batch::PacketBatch;
pub use block::BlockPackets;
pub use capture::{ANY_INTERFACE, Capture, MAX_SNAPLEN};
pub use capture_builder::{CaptureBuilder, MAX_FANOUT_MEMBERS};
pub use fanout::{Fanout, FanoutFlags, FanoutMode};
pub use injector::{Injector, TpacketVersion, TxSlot};
pub use injector_builder::{DEFAULT_TX_RING_BYTES, InjectorBuilder};
pub use packets::CapturePackets;
pub use profile::{
    DEFAULT_BLOCK_COUNT, DEFAULT_BLOCK_SIZE, DEFAULT_FRAME_SIZE, DEFAULT_RETIRE_TIMEOUT, RingGeometry, RingProfile,
};
pub use sender::{RawSender, RawSlot};
pub(crate) use timestamp::hardware_unavailable;
pub use timestamp::{TimestampInfo, Timestamping};
