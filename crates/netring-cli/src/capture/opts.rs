//! The options of `netring capture` beyond the basics: fanout, ring
//! profile, time stamp source, VLAN tags, file rotation, namespace and
//! privilege drop. Kept apart from `capture.rs` so the receive loop stays
//! readable.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use netring::afpacket::{Fanout, FanoutFlags, FanoutMode, RingProfile, Timestamping};
use netring::pcap::{FileFormat, RotatingWriter, Rotation};
use netring::{Error, LinkType};

use super::parse_secs;
use crate::netns::NetnsArg;

/// `capture` options added for fanout, profiles, time stamps, VLAN tags,
/// rotation, namespaces and privilege drop.
#[derive(Debug, clap::Args)]
pub struct CaptureMore {
    /// Ring geometry by name: default, high-throughput, low-latency,
    /// low-memory, jumbo (--block-size, --block-count and --timeout-ms
    /// override single values).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<RingProfile>,
    /// Capture with N threads, each with its own socket in one fanout group.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub fanout: usize,
    /// How the kernel spreads packets over the group.
    #[arg(long, value_enum, default_value_t = FanoutModeArg::Hash)]
    pub fanout_mode: FanoutModeArg,
    /// Fanout flags, comma separated: rollover, defrag, unique-id,
    /// ignore-outgoing.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub fanout_flags: Vec<FanoutFlagArg>,
    /// Fanout group id (default: from the process id).
    #[arg(long, value_name = "ID")]
    pub fanout_group: Option<u16>,
    /// With --fanout and -w: one file per thread (NAME.K.EXT) instead of one
    /// merged file ordered by time stamp.
    #[arg(long)]
    pub split: bool,
    /// Time stamp source, as tcpdump's -j: host (the kernel's clock) or
    /// adapter_unsynced (the device's clock; falls back to host, with a
    /// warning, on a device without one).
    #[arg(short = 'j', long = "time-stamp-type", value_enum, default_value_t = TstampArg::Host)]
    pub tstamp: TstampArg,
    /// Put the VLAN tag the kernel stripped back into each frame, as libpcap.
    #[arg(long)]
    pub vlan_reinsert: bool,
    /// Start a new file before a packet once the current one is larger than
    /// this: millions of bytes as tcpdump (-C 10), or with a suffix k, m, g
    /// (1024-based: -C 512k).
    #[arg(short = 'C', value_name = "SIZE", value_parser = parse_size)]
    pub file_size: Option<u64>,
    /// Start a new file every SECS seconds; -w is then a strftime(3)
    /// pattern (-w 'cap-%H%M%S.pcap').
    #[arg(short = 'G', value_name = "SECS", value_parser = parse_secs)]
    pub rotate_secs: Option<Duration>,
    /// Keep at most N files: with -C the counter wraps and files are
    /// overwritten in turn; with -G alone the oldest file is deleted.
    #[arg(short = 'W', value_name = "N")]
    pub max_files: Option<u32>,
    /// Drop to this user, with no capabilities, once the sockets are open
    /// (files are created as that user).
    #[arg(short = 'Z', long = "relinquish-privileges", value_name = "USER")]
    pub user: Option<String>,
    #[command(flatten)]
    pub ns: NetnsArg,
}

/// `--fanout-mode`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FanoutModeArg {
    /// By flow hash: a flow stays on one thread.
    Hash,
    /// Round robin.
    Lb,
    /// By receiving CPU.
    Cpu,
    /// Fill one thread's ring, then the next.
    Rollover,
    /// At random.
    Rnd,
    /// By receive queue.
    Qm,
    /// By a classic BPF program: IPv4 source XOR destination address,
    /// modulo N (both directions of a conversation on one thread); other
    /// traffic to thread 0.
    Cbpf,
}

/// `--fanout-flags`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FanoutFlagArg {
    /// When the chosen thread's ring is full, try the others.
    Rollover,
    /// Reassemble IP fragments before choosing.
    Defrag,
    /// Let the kernel pick an unused group id.
    UniqueId,
    /// Do not fan out outgoing packets.
    IgnoreOutgoing,
}

/// `-j`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TstampArg {
    /// The kernel's clock.
    Host,
    /// The device's clock, not synchronized to the system's.
    #[value(name = "adapter_unsynced")]
    AdapterUnsynced,
}

/// Parse `-C`: a number of millions of bytes, or a number with a k/m/g suffix.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a size (e.g. 10 for 10,000,000 bytes, or 512k, 4m, 1g)");
    let (num, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_lowercase()),
        _ => (s, ' '),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        ' ' => 1_000_000,
        'k' => 1 << 10,
        'm' => 1 << 20,
        'g' => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).filter(|&b| b > 0).ok_or_else(bad)
}

impl CaptureMore {
    /// The fanout group every thread joins, if more than one thread.
    pub fn fanout(&self) -> Result<Option<Fanout>, Error> {
        if self.fanout == 0 {
            return Err(Error::InvalidConfig {
                name: "--fanout",
                value: "0".into(),
                rule: "must be at least 1".into(),
            });
        }
        if self.fanout == 1 {
            if self.split {
                return Err(Error::InvalidConfig {
                    name: "--split",
                    value: "without --fanout".into(),
                    rule: "needs --fanout N with N > 1".into(),
                });
            }
            return Ok(None);
        }
        let n = self.fanout as u32;
        let mode = match self.fanout_mode {
            FanoutModeArg::Hash => FanoutMode::Hash,
            FanoutModeArg::Lb => FanoutMode::LoadBalance,
            FanoutModeArg::Cpu => FanoutMode::Cpu,
            FanoutModeArg::Rollover => FanoutMode::Rollover,
            FanoutModeArg::Rnd => FanoutMode::Random,
            FanoutModeArg::Qm => FanoutMode::QueueMapping,
            FanoutModeArg::Cbpf => FanoutMode::Cbpf(address_pair_mod(n)?),
        };
        let mut flags = FanoutFlags::empty();
        for f in &self.fanout_flags {
            flags |= match f {
                FanoutFlagArg::Rollover => FanoutFlags::ROLLOVER,
                FanoutFlagArg::Defrag => FanoutFlags::DEFRAG,
                FanoutFlagArg::UniqueId => FanoutFlags::UNIQUE_ID,
                FanoutFlagArg::IgnoreOutgoing => FanoutFlags::IGNORE_OUTGOING,
            };
        }
        let id = match (flags.contains(FanoutFlags::UNIQUE_ID), self.fanout_group) {
            (true, Some(id)) if id != 0 => {
                return Err(Error::InvalidConfig {
                    name: "--fanout-group",
                    value: id.to_string(),
                    rule: "cannot be given with --fanout-flags unique-id (the kernel picks it)".into(),
                });
            }
            (true, _) => 0,
            (false, Some(id)) => id,
            (false, None) => (std::process::id() & 0xffff) as u16,
        };
        Ok(Some(Fanout::new(id, mode).flags(flags)))
    }

    /// The first option given that only the AF_PACKET backend has.
    pub fn packet_only(&self) -> Option<&'static str> {
        [
            (self.fanout != 1, "--fanout"),
            (self.profile.is_some(), "--profile"),
            (self.vlan_reinsert, "--vlan-reinsert"),
            (self.tstamp != TstampArg::Host, "-j"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }

    /// The time stamp source asked for.
    pub fn timestamping(&self) -> Timestamping {
        match self.tstamp {
            TstampArg::Host => Timestamping::Software,
            TstampArg::AdapterUnsynced => Timestamping::Hardware,
        }
    }

    /// The rotation asked for.
    pub fn rotation(&self) -> Rotation {
        Rotation { file_size: self.file_size, interval: self.rotate_secs, max_files: self.max_files }
    }
}

/// The thread by IPv4 address pair, in classic BPF (a fanout program sees
/// the packet from its network header):
///
/// ```text
/// ldh proto; jeq #0x800, ip, other
/// ip: ld [12]; tax; ld [16]; xor x; mod #n; ret a
/// other: ret #0
/// ```
///
/// (`ld rxhash` would be simpler, but `skb->hash` is only set where a driver
/// or RPS computed it; on veth it is 0.)
fn address_pair_mod(n: u32) -> Result<netring::filter::Program, Error> {
    use netring::filter::code::*;
    use netring::filter::{Instruction, Program};
    Program::new(vec![
        Instruction::stmt(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
        Instruction::jump(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, 0, 6),
        Instruction::stmt(BPF_LD | BPF_W | BPF_ABS, 12),
        Instruction::stmt(BPF_MISC | BPF_TAX, 0),
        Instruction::stmt(BPF_LD | BPF_W | BPF_ABS, 16),
        Instruction::stmt(BPF_ALU | BPF_XOR | BPF_X, 0),
        Instruction::stmt(BPF_ALU | BPF_MOD | BPF_K, n),
        Instruction::stmt(BPF_RET | BPF_A, 0),
        Instruction::stmt(BPF_RET | BPF_K, 0),
    ])
}

/// What -w and its companions ask for.
#[derive(Clone)]
pub struct FileSpec {
    /// The path or pattern.
    pub path: PathBuf,
    /// pcap or pcapng.
    pub format: FileFormat,
    /// Snap length recorded in the file.
    pub snaplen: u32,
    /// What the packets start with.
    pub link: LinkType,
    /// Interface name for pcapng.
    pub interface: String,
    /// When to start a new file.
    pub rotation: Rotation,
    /// Interface names by index, for pcapng files of an `any` capture.
    pub names: Option<Arc<dyn Fn(u32) -> Option<String> + Send + Sync>>,
}

impl std::fmt::Debug for FileSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSpec").field("path", &self.path).field("rotation", &self.rotation).finish_non_exhaustive()
    }
}

impl FileSpec {
    /// Open the (first) file, for thread `member` of a split fanout.
    pub fn open(&self, member: Option<usize>) -> Result<RotatingWriter, Error> {
        let path = match member {
            Some(k) => member_path(&self.path, k),
            None => self.path.clone(),
        };
        let mut w =
            RotatingWriter::create(&path, self.format, self.snaplen, self.link, Some(&self.interface), self.rotation)?;
        if let Some(n) = &self.names {
            w.set_interface_namer(Arc::clone(n));
        }
        Ok(w)
    }
}

/// `out.pcap` → `out.K.pcap` (`out` → `out.K`).
pub fn member_path(p: &Path, k: usize) -> PathBuf {
    match (p.file_stem(), p.extension()) {
        (Some(stem), Some(ext)) => {
            p.with_file_name(format!("{}.{k}.{}", stem.to_string_lossy(), ext.to_string_lossy()))
        }
        _ => PathBuf::from(format!("{}.{k}", p.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_tcpdump() {
        assert_eq!(parse_size("10").unwrap(), 10_000_000);
        assert_eq!(parse_size("512k").unwrap(), 512 * 1024);
        assert_eq!(parse_size("2M").unwrap(), 2 << 20);
        assert!(parse_size("0").is_err());
        assert!(parse_size("x").is_err());
        assert!(parse_size("5q").is_err());
    }

    #[test]
    fn member_paths() {
        assert_eq!(member_path(Path::new("/tmp/a.pcap"), 2), PathBuf::from("/tmp/a.2.pcap"));
        assert_eq!(member_path(Path::new("cap"), 0), PathBuf::from("cap.0"));
    }
}
