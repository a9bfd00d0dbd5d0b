//! # netring
//!
//! Zero-copy packet I/O on Linux through the kernel's two fast paths that
//! need no custom driver: **AF_PACKET** with a TPACKET_V3 receive ring, and
//! **AF_XDP** with a built-in XDP program assembled in Rust. Pure Rust over
//! `libc` system calls: no libpcap, no libxdp, no C or BPF toolchain.
//!
//! ```no_run
//! use std::time::Duration;
//! let mut cap = netring::Capture::builder().interface("eth0").snaplen(256).build()?;
//! while let Some(batch) = cap.next_batch_blocking(Some(Duration::from_secs(1)))? {
//!     for pkt in &batch {
//!         println!("{} {:?} {} bytes", pkt.timestamp(), pkt.direction(), pkt.original_len());
//!     }
//! }
//! println!("{}", cap.stats()?);
//! # Ok::<(), netring::Error>(())
//! ```
//!
//! ## Layers
//!
//! | module | what it holds |
//! |---|---|
//! | `sys` (private) | the only code that names `libc` or a kernel struct: kernel structs with layout assertions; typed calls per kernel concept (`packet`, `xdp`, `bpf`, `iface`, …) that return [`Error`]s with the errno mapped once; the one system-call choke point of the setup path (EINTR handled once), which unit tests replace with a fake kernel; `Mmap`, the one backing type of rings and UMEMs (a kernel mapping, or heap memory in tests) |
//! | [`afpacket`] | the V3 ring protocol, [`Capture`], [`PacketBatch`], [`RawSender`] |
//! | [`afpacket`] (TX) | the `PACKET_TX_RING` slot protocol, [`Injector`], [`TxSlot`] |
//! | [`bridge`] | [`Bridge`]: two Capture + Injector ports, a per-packet decision |
//! | [`filter`] | classic BPF [`Instruction`](filter::Instruction)s, the kernel's validator, [`Program`](filter::Program), a builder, an interpreter, tcpdump-style listings, and the [`expr`](filter::expr) compiler for tcpdump filter expressions |
//! | `ring` (private) | the single-producer / single-consumer ring protocol of AF_XDP's four rings |
//! | [`afxdp`] | UMEM, [`XdpSocket`], [`XdpBatch`], statistics; shared UMEM across queues and devices, [`XdpQueueSet`](afxdp::XdpQueueSet), busy polling, multi-buffer, filters in the XDP program |
//! | [`bpf`] | eBPF instruction encoder and assembler, loader (`bpf(2)`), XSKMAP, XDP links, built-in programs, classic BPF filters translated to eBPF for XDP |
//! | [`packet`] | [`Packet`], [`OwnedPacket`], [`Timestamp`], metadata |
//! | [`netns`] | sockets inside a named network namespace |
//! | [`privilege`] | switch user and clear capabilities once sockets are open (`-Z`) |
//! | [`cpu`] | pin threads (and kernel NAPI threads) to a CPU |
//! | [`PacketSource`] / [`PacketSink`] | one trait over every receive / transmit backend; one name and one contract per operation on every backend — `stats()` (receive counters), `tx_stats()` (transmit counters), `allocate` / `send` / `flush` / `wait_drained` — and where a backend also has the inherent method, the two are one implementation |
//! | [`StopHandle`] | wakes and ends a blocked receive of any backend from another thread |
//! | `pcap` (feature) | pcap and pcapng writers and readers |
//! | `tokio` (feature) | `AsyncCapture`, `AsyncInjector`, `AsyncXdpSocket` (readiness only, over tokio's `AsyncFd`), a `Stream` of owned packets, `Bridge::run_async` |
//! | `channel` (feature) | `ChannelCapture`: a capture thread feeding a bounded crossbeam channel |
//! | `metrics` (feature) | counters and gauges for capture, injection, AF_XDP and the bridge through the `metrics` facade |
//! | `parse` (feature) | `Packet::parse` / `OwnedPacket::parse`: etherparse header views |
//! | `testkit` (feature) | for tests and benchmarks: private veth links (`CAP_SYS_ADMIN`, `CAP_NET_ADMIN`), numbered frames, capability checks, CPU-time accounting |
//!
//! ## Memory safety model
//!
//! The crate root is `#![deny(unsafe_code)]`. Unsafe code is allowed only in
//! `sys/` (system calls, `mmap`), in `afpacket/ring.rs`, the one place
//! that turns receive ring memory into slices, in `afpacket/tx_ring.rs`,
//! its counterpart for the TX ring (a slot's bytes become a `&mut [u8]` only
//! between the `Acquire` that sees the kernel released the slot and the
//! `Release` store of `TP_STATUS_SEND_REQUEST`; a [`TxSlot`] borrows its
//! [`Injector`] mutably, so no kick can run while it is filled), in `ring/mod.rs` (AF_XDP ring
//! control words and descriptors, copied in and out by value; `ring/sim.rs`
//! is its test-only simulated kernel; heap-backed rings exist only in tests
//! and in this repository's benchmarks) and in `afxdp/umem.rs`,
//! the one place that turns UMEM frames into slices — only frames its ownership table
//! shows user space holding; sockets sharing one UMEM each own a disjoint
//! partition of it, built in one place, so no two of them reach the same
//! frame. With the `tokio` feature, `tokio/registration.rs`
//! holds the one `unsafe` call into tokio (`AsyncFd::register_with_interest`,
//! whose contract — the descriptor stays open and the same — is met by
//! registering a duplicate that the registration alone owns). A receive block becomes a slice
//! only after an `Acquire` load of its status word shows `TP_STATUS_USER`,
//! and stops being one before the `Release` store that hands it back: a
//! [`PacketBatch`] borrows its [`Capture`] mutably and hands its block back on
//! `Drop`, and every [`Packet`] borrows its batch, so the borrow checker
//! rejects any use of ring memory the kernel may have taken back. Every
//! offset and length the kernel writes is bounds-checked; a malformed block
//! is skipped and counted ([`Capture::malformed_blocks`]), never trusted.
//!
//! ## Privileges and kernel versions
//!
//! | feature | needs | kernel |
//! |---|---|---|
//! | [`Capture`], [`RawSender`] | `CAP_NET_RAW` | 3.2 (TPACKET_V3) |
//! | promiscuous mode | `CAP_NET_RAW` | any |
//! | [`CaptureBuilder::ignore_outgoing`] | `CAP_NET_RAW` | 4.20 |
//! | [`Injector`] (TX ring, TPACKET_V2 frames) | `CAP_NET_RAW` | 2.6.31 |
//! | [`InjectorBuilder::qdisc_bypass`] | `CAP_NET_RAW` | 3.14 |
//! | [`TpacketVersion::V3`] TX frames | `CAP_NET_RAW` | 4.11 |
//! | [`Bridge`] | `CAP_NET_RAW` | 4.20 (ignore outgoing) |
//! | `tokio`, `channel`, `metrics` adapters | what the wrapped socket needs | as the wrapped socket |
//! | [`netns::NetNs::create`] | `CAP_SYS_ADMIN` | any |
//! | `netns(NAME)` on every builder | `CAP_SYS_ADMIN` (to enter the namespace) | 3.0 (`setns`) |
//! | [`afpacket::Fanout`] | `CAP_NET_RAW` | 3.1 (hash, lb, cpu, defrag); rollover 3.10; rnd, qm 3.14; unique-id 4.3; cbpf, ebpf 4.5; ignore-outgoing flag 5.12 |
//! | [`Timestamping::Hardware`] | `CAP_NET_ADMIN` (`SIOCSHWTSTAMP`) on a device with a clock | 2.6.36 (`PACKET_TIMESTAMP`) |
//! | capture on `any` (cooked, ifindex 0) | `CAP_NET_RAW` | any |
//! | [`privilege::drop_to`] | `CAP_SETUID`, `CAP_SETGID` | 4.3 for the ambient set (older kernels: nothing to clear) |
//! | [`XdpSocket`] | `CAP_NET_RAW`; `CAP_NET_ADMIN` + `CAP_BPF` for the built-in program; `CAP_IPC_LOCK` or `RLIMIT_MEMLOCK` ≥ the UMEM | 5.9 (XDP BPF links; need-wakeup 5.4) |
//! | [`bpf::EbpfProgram`], [`bpf::XskMap`] | `CAP_BPF` (or `CAP_SYS_ADMIN`) | 4.18 (XSKMAP) |
//! | [`XdpSocketBuilder::build_shared`] (shared UMEM, other queues or devices) | as [`XdpSocket`] | 5.10 |
//! | AF_XDP RX metadata ([`XdpSocketBuilder::rx_metadata`]): program time stamps | as [`XdpSocket`] | 6.1 (`bpf_ktime_get_tai_ns`) |
//! | RX metadata from the device (VLAN tag; time with [`XdpSocketBuilder::timestamping`], RX hash with [`XdpSocketBuilder::rxhash`]; XDP metadata kfuncs, native mode, device-bound program) | as [`XdpSocket`]; the device's time also `CAP_NET_ADMIN` (`SIOCSHWTSTAMP`) on a device with a clock | 6.3 (time, hash); 6.8 (VLAN tag); the driver must implement them (veth does, without a clock) |
//! | AF_XDP TX metadata ([`XdpSocketBuilder::tx_metadata`]: checksum offload, TX time stamp) | as [`XdpSocket`] | 6.8, copy mode; launch time 6.15 |
//! | [`bpf::TcxLink`] | `CAP_BPF` + `CAP_NET_ADMIN` | 6.6 |
//! | [`XdpSocketBuilder::busy_poll`] | `CAP_NET_ADMIN` to raise the values | 5.11 |
//! | [`XdpSocketBuilder::multi_buffer`] | as [`XdpSocket`] | 6.6 (`XDP_USE_SG`; program fragments 5.18) |
//!
//! TPACKET ring pages are kernel memory and are not charged to
//! `RLIMIT_MEMLOCK`; an AF_XDP UMEM is user memory pinned by the kernel and
//! is charged to it unless the process has `CAP_IPC_LOCK`.
//!
//! **AF_XDP receive takes every frame of its queue away from the host's
//! network stack** while the socket lives; see [`afxdp`].

#![deny(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg(target_os = "linux")]

pub mod afpacket;
pub mod afxdp;
#[cfg(feature = "_bench")]
#[doc(hidden)]
pub mod bench_internals;
pub mod bpf;
pub mod bridge;
#[cfg(feature = "channel")]
pub mod channel;
pub mod cpu;
mod error;
pub mod filter;
#[cfg(feature = "_fuzz")]
#[doc(hidden)]
pub mod fuzz_internals;
pub mod interface;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod netns;
pub mod packet;
#[cfg(feature = "parse")]
pub mod parse;
#[cfg(feature = "pcap")]
pub mod pcap;
pub mod privilege;
mod ring;
mod source;
mod stats;
mod stop;
mod sys;
#[cfg(any(test, feature = "testkit"))]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use afpacket::{BlockPackets, Capture, CaptureBuilder, CapturePackets, PacketBatch, RawSender};
pub use afpacket::{Injector, InjectorBuilder, TpacketVersion, TxSlot};
pub use afpacket::{RingProfile, Timestamping};
pub use afxdp::{XdpBatch, XdpMode, XdpPacket, XdpSocket, XdpSocketBuilder, XdpStats};
pub use bridge::{Bridge, BridgeAction, BridgeBuilder, BridgeDirection, BridgeStats, DirectionStats};
pub use error::{Error, Result};
pub use packet::{
    LinkAddr, LinkType, OwnedPacket, Packet, PacketDirection, PacketMeta, PacketStatus, Timestamp, TimestampSource,
};
pub use source::{Batch, PacketSink, PacketSource, SinkSlot, TxStats};
pub use stats::CaptureStats;
pub use stop::StopHandle;

#[cfg(feature = "channel")]
pub use channel::ChannelCapture;
#[cfg(feature = "tokio")]
pub use tokio::{AsyncCapture, AsyncInjector, AsyncXdpSocket};
