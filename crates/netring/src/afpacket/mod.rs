//! AF_PACKET: TPACKET_V3 receive rings and a plain sending socket.
//!
//! See `Documentation/networking/packet_mmap.rst` in the kernel tree and
//! packet(7).

mod batch;
mod capture;
mod fanout;
mod ring;
mod sender;

pub use batch::{PacketBatch, Packets};
pub use capture::{
    Capture, CaptureBuilder, CapturePackets, DEFAULT_BLOCK_COUNT, DEFAULT_BLOCK_SIZE, DEFAULT_FRAME_SIZE,
    DEFAULT_RETIRE_TIMEOUT, MAX_SNAPLEN, StopHandle,
};
pub use fanout::{Fanout, FanoutFlags, FanoutMode};
pub use sender::RawSender;
