//! The test and bench kit (feature `testkit`): private veth links between
//! new network namespaces, numbered test frames and CPU-time accounting.
//! `netring selftest`, `netring bench`, `netring gen` and this repository's
//! tests, examples and benchmarks use it; a program that only captures or
//! sends packets needs none of it.

mod cpu_time;
mod frames;
mod veth;

pub use cpu_time::{current_thread_id, process_tree, process_tree_cpu_time, thread_cpu_time, thread_cpu_time_of};
pub use frames::{EXPERIMENTAL_ETHERTYPE, MIN_LEN, SeqFrames};
pub use veth::{End, VethConfig, VethLink, unique_name};
