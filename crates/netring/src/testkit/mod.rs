//! The test and bench kit (feature `testkit`): private veth links between
//! new network namespaces, numbered test frames, capability checks,
//! frame templates and IPv4/UDP flows for generators ([`FrameGen`]),
//! waiting for frames, and CPU-time accounting. `netring selftest`,
//! `netring bench`, `netring gen` and this repository's tests, examples and
//! benchmarks use it; a program that only captures or sends packets needs
//! none of it.
//!
//! ```no_run
//! use std::time::Duration;
//! use netring::testkit::{SeqFrames, VethLink, collect, require_veth_privileges};
//!
//! require_veth_privileges();
//! let link = VethLink::new()?; // two private namespaces, IPv6 off, both ends up
//! let mut cap = link.b.run(|name| netring::Capture::open(name))??;
//! let tx = link.a.run(|name| netring::RawSender::open(name))??;
//! let frames = SeqFrames::default();
//! for seq in 0..10 {
//!     tx.send(&frames.build(seq, 60))?;
//! }
//! let got = collect(&mut cap, 10, Duration::from_secs(5), |d| frames.verify(d).is_some())?;
//! assert_eq!(got.len(), 10);
//! # Ok::<(), netring::Error>(())
//! ```

mod caps;
mod cpu_time;
mod flows;
mod frames;
mod harness;
mod template;
mod veth;

pub use caps::{Capability, VETH_CAPABILITIES, missing_capabilities, require_veth_privileges};
pub use cpu_time::{current_thread_id, process_tree, process_tree_cpu_time, thread_cpu_time, thread_cpu_time_of};
pub use flows::{Flows, Ipv4Range, PortRange, fold, sum16};
pub use frames::{EXPERIMENTAL_ETHERTYPE, SeqFrames};
pub use harness::{collect, on_cpu, on_path, require_tool};
pub use template::{FrameGen, Payload};
pub use veth::{End, VethConfig, VethLink, unique_name};
