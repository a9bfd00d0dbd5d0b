//! The tcpdump flags of `netring capture` that choose what is read (`-r`,
//! `-D`, `-Q`, `-p`) and how each packet is printed (`-e`, `-t`…, `-x`…,
//! `-A`, `-v`, `-S`, `-l`, `-U`, `-n`), flattened into its `Args`.

use std::path::PathBuf;

/// The tcpdump flags that choose what is read and how each packet is
/// printed: `-r`, `-D`, `-e`, `-p`, `-Q`, `-t`…, `-x`…, `-A`, `-v`, `-S`,
/// `-l`, `-U`, `-n`.
#[derive(Debug, clap::Args)]
pub struct Show {
    /// Read packets from this pcap or pcapng file instead of an interface
    /// (with a filter expression, -c, -w for the matching records).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<PathBuf>,
    /// List the interfaces that can be captured on (index, name, state)
    /// and exit.
    #[arg(short = 'D', long = "list-interfaces")]
    pub list_interfaces: bool,
    /// Print the link-level header (MAC addresses, EtherType, VLAN tags)
    /// on every line.
    #[arg(short = 'e')]
    pub link: bool,
    /// Do not put the interface in promiscuous mode.
    #[arg(short = 'p', long = "no-promiscuous-mode")]
    pub no_promisc: bool,
    /// Which packets by direction: in (received), out (sent), inout (both).
    #[arg(short = 'Q', long = "direction", value_enum, default_value_t = DirectionArg::Inout)]
    pub direction: DirectionArg,
    /// Time stamps: -t none, -tt seconds since the epoch, -ttt time since
    /// the previous packet, -tttt date and time, -ttttt time since the
    /// first packet (default: local time of day).
    #[arg(short = 't', action = clap::ArgAction::Count)]
    pub time: u8,
    /// Print time stamps in microseconds or nanoseconds.
    #[arg(long = "time-stamp-precision", value_enum, default_value_t = PrecisionArg::Micro)]
    pub precision: PrecisionArg,
    /// Print each packet in hex after its line, from the network header
    /// (-xx: from the link header).
    #[arg(short = 'x', action = clap::ArgAction::Count)]
    pub hex: u8,
    /// As -x, with the ASCII characters beside (-XX: from the link header).
    #[arg(short = 'X', action = clap::ArgAction::Count)]
    pub hex_ascii: u8,
    /// Print each packet (from the network header) in ASCII.
    #[arg(short = 'A')]
    pub ascii: bool,
    /// More detail: IPv4 tos, ttl, id, offset, flags, protocol and length;
    /// IPv6 hop limit and next header; TCP and ICMPv6 checksums (UDP over
    /// IPv4 with -vv).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print absolute TCP sequence numbers.
    #[arg(short = 'S', long = "absolute-tcp-sequence-numbers")]
    pub absolute: bool,
    /// Flush stdout after every line (otherwise lines are written a ring
    /// block at a time, or 64 KiB at a time with -r).
    #[arg(short = 'l')]
    pub line_buffered: bool,
    /// With -w: flush the file after every packet.
    #[arg(short = 'U', long = "packet-buffered")]
    pub packet_buffered: bool,
    /// Addresses and ports as numbers: accepted for tcpdump's sake, and
    /// always so (netring resolves no names).
    #[arg(short = 'n', action = clap::ArgAction::Count)]
    pub numeric: u8,
}

impl Show {
    /// The line style these flags ask for.
    pub fn style(&self) -> crate::print::Style {
        use crate::print::{Dump, Style, TimeFormat};
        let dump = match (self.hex_ascii, self.hex, self.ascii) {
            (n, _, _) if n > 0 => Dump::HexAscii(n > 1),
            (_, n, _) if n > 0 => Dump::Hex(n > 1),
            (_, _, true) => Dump::Ascii,
            _ => Dump::None,
        };
        Style {
            time: TimeFormat::from_count(self.time),
            nanos: self.precision == PrecisionArg::Nano,
            link: self.link,
            verbose: self.verbose,
            absolute: self.absolute,
            dump,
        }
    }

    /// Whether a packet going `dir` is wanted by -Q.
    pub fn wants(&self, dir: netring::PacketDirection) -> bool {
        let out = dir == netring::PacketDirection::Outgoing;
        match self.direction {
            DirectionArg::Inout => true,
            DirectionArg::In => !out,
            DirectionArg::Out => out,
        }
    }
}

/// `-Q`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DirectionArg {
    /// Received packets only.
    In,
    /// Sent packets only.
    Out,
    /// Both.
    Inout,
}

/// `--time-stamp-precision`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PrecisionArg {
    /// Six fraction digits.
    Micro,
    /// Nine fraction digits.
    Nano,
}
