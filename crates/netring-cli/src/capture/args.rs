//! The options of `netring capture`: what to capture and where to, the
//! receive path (`--backend`, `--queue`, `--xdp-attach`), fanout, ring
//! profile, time stamp source, VLAN tags, file rotation, namespace and
//! privilege drop, and their conversion to the library's types.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use netring::Error;
use netring::afpacket::{Fanout, FanoutFlags, FanoutMode, RingProfile, Timestamping};
use netring::afxdp::XdpAttach;
use netring::pcap::{Compression, FileFormat, Rotation};

use crate::args::{Limits, NetnsArg, Report, parse_secs};
use crate::backend::Backend;

pub use super::show::{DirectionArg, Show};

/// Arguments of `netring capture`.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("count", |a| a.help("Stop after this many packets (exactly: later packets of the same block are neither written nor counted)")),
    mut_arg("quiet", |a| a.help("No per-packet lines")),
    after_help = "Signals: SIGINT, SIGTERM, SIGUSR2 and SIGALRM stop the capture cleanly (the file flushed and \
                  valid, the summary printed, exit 0). SIGHUP rotates the file when writing one (-w): the current \
                  file is closed whole and the next one opened (NAME1, NAME2, ... or the next -C/-G name), and the \
                  capture goes on; without -w, SIGHUP stops the capture like SIGINT. SIGUSR1 prints the counts so \
                  far on stderr and the capture goes on. A write error (a full disk) ends the capture at once; the \
                  file keeps every complete record and --json adds \"written\" when it holds fewer than \"packets\".",
)]
pub struct Args {
    /// Interface to capture on. Give it more than once (-i a -i b) to
    /// write one pcapng file with an interface description per interface,
    /// packets merged by time stamp (needs -w and pcapng; AF_PACKET only).
    /// Not with -r.
    #[arg(
        short,
        long = "interface",
        value_name = "INTERFACE",
        required_unless_present_any = ["read", "list_interfaces"],
        conflicts_with = "read"
    )]
    pub(super) interfaces: Vec<String>,
    #[command(flatten)]
    pub(super) limits: Limits,
    /// Capture at most this many bytes of each packet (1..=262144).
    #[arg(short, long)]
    pub(super) snaplen: Option<u32>,
    /// Write packets to this pcap file (nanosecond timestamps). A name
    /// ending `.gz` or `.zst` (`out.pcap.zst`, `out.pcapng.gz`) gets a
    /// compressed file.
    #[arg(short, long)]
    pub(super) write: Option<PathBuf>,
    /// Compress the -w file(s): gzip, zstd or none (default: from the
    /// name, `.gz` → gzip, `.zst` → zstd). A thread of its own compresses;
    /// when it falls behind, the capture waits and the ring's drops count
    /// what was lost ("writer_stalls" in --json). The stream is ended at
    /// least once a second, so a killed recorder leaves a file readable to
    /// its last second or so.
    #[arg(long)]
    pub(super) compress: Option<Compression>,
    /// File format for -w: pcap or pcapng (default: from the file
    /// extension, `.pcapng` or `.pcapng.zst` → pcapng, otherwise pcap). pcapng files end with
    /// an Interface Statistics Block holding the kernel's drop count.
    #[arg(short = 'F', long)]
    pub(super) format: Option<FileFormat>,
    /// Ring block size in bytes (power of two, page multiple; default
    /// 1 MiB, or the --profile's).
    #[arg(long)]
    pub(super) block_size: Option<usize>,
    /// Number of ring blocks (default 64, or the --profile's). The ring
    /// (blocks x block size) must fit in the memory available.
    #[arg(long)]
    pub(super) block_count: Option<usize>,
    /// Block retire timeout in milliseconds (default 50, or the --profile's).
    #[arg(long)]
    pub(super) timeout_ms: Option<u64>,
    /// Put the interface in promiscuous mode while capturing (the default,
    /// as tcpdump's; -p turns it off).
    #[arg(long, conflicts_with = "no_promisc")]
    pub(super) promisc: bool,
    #[command(flatten)]
    pub(super) report: Report,
    /// Filter expression (pcap-filter(7) syntax), run in the kernel (with
    /// `--backend xdp`: inside the XDP program; frames it rejects go on to
    /// the host's stack).
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    pub(super) filter: Option<String>,
    /// Filter expression as words, as tcpdump takes it (`netring capture
    /// -i eth0 tcp port 80`); options may come before or after them.
    #[arg(value_name = "EXPRESSION", num_args = 1.., allow_hyphen_values = false)]
    pub(super) expression: Vec<String>,
    /// Receive path: `packet` (AF_PACKET TPACKET_V3 ring) or `xdp` (AF_XDP
    /// socket on one queue, with netring's built-in XDP program).
    #[arg(long, value_enum, default_value_t = Backend::Packet)]
    pub(super) backend: Backend,
    /// With `--backend xdp`: the queue to bind to, or `all` (one socket per
    /// RX queue over one shared UMEM, one XDP program, read in turn).
    #[arg(long, default_value = "0")]
    pub(super) queue: Queue,
    /// With `--backend xdp`: take the queue's traffic away from the host even
    /// though the interface has addresses or a default route.
    #[arg(long)]
    pub(super) xdp_takeover: bool,
    /// With `--backend xdp`: where the XDP program runs.
    #[arg(long, value_enum, default_value_t = XdpAttachArg::Auto)]
    pub(super) xdp_attach: XdpAttachArg,
    #[command(flatten)]
    pub(super) more: CaptureMore,
    #[command(flatten)]
    pub(super) show: Show,
}

impl Args {
    /// The (first) interface captured on, or (with -r) the file read, as the
    /// messages and pcapng interface descriptions name it.
    pub(super) fn interface(&self) -> &str {
        match (self.interfaces.first(), &self.show.read) {
            (Some(i), _) => i,
            (None, Some(f)) => f.to_str().unwrap_or("file"),
            (None, None) => "",
        }
    }

    /// The snap length in force.
    pub(super) fn snaplen(&self) -> u32 {
        self.snaplen.unwrap_or(netring::afpacket::MAX_SNAPLEN)
    }

    /// The filter expression from `-f` or the trailing words.
    pub(super) fn expression(&self) -> Result<Option<String>, Error> {
        match (&self.filter, self.expression.is_empty()) {
            (Some(_), false) => Err(Error::InvalidConfig {
                name: "filter",
                value: self.expression.join(" "),
                rule: "give the expression either with -f or after the options, not both".into(),
            }),
            (Some(f), true) => Ok(Some(f.clone())),
            (None, false) => Ok(Some(self.expression.join(" "))),
            (None, true) => Ok(None),
        }
    }
}

/// `--xdp-attach`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum XdpAttachArg {
    /// Native if the driver takes it, else generic.
    Auto,
    /// Native (driver) mode only.
    Native,
    /// Generic (skb) mode only.
    Generic,
}

impl From<XdpAttachArg> for XdpAttach {
    fn from(a: XdpAttachArg) -> Self {
        match a {
            XdpAttachArg::Auto => XdpAttach::Auto,
            XdpAttachArg::Native => XdpAttach::Native,
            XdpAttachArg::Generic => XdpAttach::Generic,
        }
    }
}

/// `--queue`: one queue id, or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// One queue.
    One(u32),
    /// Every queue of the interface.
    All,
}

impl FromStr for Queue {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(Self::All);
        }
        s.parse().map(Self::One).map_err(|_| format!("{s:?} is neither a queue number nor `all`"))
    }
}

impl std::fmt::Display for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::One(q) => write!(f, "{q}"),
            Self::All => f.write_str("all"),
        }
    }
}

/// `capture` options added for fanout, profiles, time stamps, VLAN tags,
/// rotation, namespaces and privilege drop.
#[derive(Debug, clap::Args)]
pub struct CaptureMore {
    /// Ring geometry by name: default, high-throughput, low-latency,
    /// low-memory, jumbo (--block-size, --block-count and --timeout-ms
    /// override single values).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<RingProfile>,
    /// Capture with N threads, each with its own socket in one fanout group
    /// (1..=256, the kernel's group limit; N rings must fit in memory).
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
    /// Time stamp source, as tcpdump's -j: host (the kernel's clock; with
    /// --backend xdp the XDP program's) or adapter_unsynced (the device's
    /// clock; falls back to host, with a warning, on a device without one).
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
    /// pattern (-w 'cap-%Y%m%d-%H%M%S.pcap'), expanded in local time (TZ)
    /// as tcpdump does, with day and month names in English whatever the
    /// locale.
    #[arg(short = 'G', value_name = "SECS", value_parser = parse_secs)]
    pub rotate_secs: Option<Duration>,
    /// Keep at most N files: with -C the counter wraps and files are
    /// overwritten in turn; with -G alone the oldest file is deleted.
    #[arg(short = 'W', value_name = "N")]
    pub max_files: Option<u32>,
    /// Retention: keep this run's files at most SIZE bytes together (50G,
    /// 500M, 1.5G; k/m/g/t are 1024-based, a bare number counts bytes),
    /// deleting the oldest; the file being written is never deleted. Needs
    /// -C or -G.
    #[arg(long, value_name = "SIZE", value_parser = super::retention::parse_total)]
    pub max_total: Option<u64>,
    /// Retention: delete this run's files once they have been closed for
    /// DURATION (30s, 10m, 2h, 7d; a bare number counts seconds). Needs
    /// -C or -G.
    #[arg(long, value_name = "DURATION", value_parser = super::retention::parse_age)]
    pub max_age: Option<Duration>,
    /// Drop to this user, with no capabilities, once the sockets are open
    /// (files are created as that user).
    #[arg(short = 'Z', long = "relinquish-privileges", value_name = "USER")]
    pub user: Option<String>,
    #[command(flatten)]
    pub ns: NetnsArg,
    #[command(flatten)]
    pub metrics: crate::metrics_http::MetricsArg,
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
        [(self.fanout != 1, "--fanout"), (self.profile.is_some(), "--profile"), (self.vlan_reinsert, "--vlan-reinsert")]
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
        Rotation {
            file_size: self.file_size,
            interval: self.rotate_secs,
            max_files: self.max_files,
            max_total: self.max_total,
            max_age: self.max_age,
        }
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
    fn queues_parse() {
        assert_eq!("3".parse::<Queue>().unwrap(), Queue::One(3));
        assert_eq!("all".parse::<Queue>().unwrap(), Queue::All);
        assert!("x".parse::<Queue>().unwrap_err().contains("neither"));
        assert_eq!(Queue::All.to_string(), "all");
    }
}
