//! What `gen` puts in its frames: addresses, payload, and IPv4/UDP flows
//! (`--payload`, `--flows`, `--src-ip`, `--dst-ip`, `--src-port`,
//! `--dst-port`), turned into a `netring::testkit::FrameGen` that writes a
//! template once per ring slot and afterwards only what varies.

use netring::testkit::{Flows, FrameGen, Ipv4Range, Payload, PortRange, SeqFrames};
use netring::{Error, PacketSink};

use crate::output;

/// Frame contents of `netring gen`.
#[derive(Debug, Clone, clap::Args)]
pub struct FrameArgs {
    /// Source MAC address.
    #[arg(long, value_parser = output::parse_mac, default_value = "02:00:00:00:00:01")]
    src_mac: [u8; 6],
    /// Destination MAC address.
    #[arg(long, value_parser = output::parse_mac, default_value = "02:00:00:00:00:02")]
    dst_mac: [u8; 6],
    /// EtherType of the raw frames (hex, e.g. 88b5); IPv4 with flows.
    #[arg(long, value_parser = parse_ethertype, default_value = "88b5")]
    ethertype: u16,
    /// What follows the 64-bit sequence number: `seq` (constant filler, the
    /// bytes `pattern` writes for frame 0; written once per ring slot, so a
    /// frame costs its number), `zero` (zeros, also written once per slot),
    /// or `pattern` (every byte derived from the sequence number, so a
    /// receiver can check every byte; computed and written per frame,
    /// costlier the longer the frame).
    #[arg(long, value_enum, default_value_t = PayloadArg::Seq)]
    payload: PayloadArg,
    /// Send IPv4/UDP frames spread over this many 5-tuples, frame n in flow
    /// n mod N, with valid IPv4 and UDP checksums; the sequence number opens
    /// the UDP payload. With 1 (the default) and no address or port option,
    /// raw frames of --ethertype.
    #[arg(long, default_value_t = 1)]
    flows: u32,
    /// IPv4 source addresses of the flows, one or a range
    /// (198.18.0.1-198.18.0.9), inside 198.18.0.0/15 [default: 198.18.0.1].
    #[arg(long)]
    src_ip: Option<Ipv4Range>,
    /// IPv4 destination addresses, as --src-ip [default: 198.19.0.1].
    #[arg(long)]
    dst_ip: Option<Ipv4Range>,
    /// UDP source ports, one or a range (1000-1099) [default: 1024-65535].
    #[arg(long)]
    src_port: Option<PortRange>,
    /// UDP destination ports, as --src-port [default: 9].
    #[arg(long)]
    dst_port: Option<PortRange>,
}

/// `--payload`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PayloadArg {
    /// Constant filler after the number.
    Seq,
    /// Zeros after the number.
    Zero,
    /// Every byte from the sequence number (`netring::testkit::SeqFrames`).
    Pattern,
}

fn parse_ethertype(s: &str) -> Result<u16, String> {
    u16::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|_| format!("{s:?} is not a hex EtherType"))
}

impl FrameArgs {
    /// The flows asked for, if any (checked).
    fn flows(&self) -> Result<Option<Flows>, Error> {
        let ip_options = self.src_ip.is_some() || self.dst_ip.is_some() || self.src_port.is_some();
        if self.flows == 1 && !ip_options && self.dst_port.is_none() {
            return Ok(None);
        }
        let d = Flows::default();
        let f = Flows {
            count: self.flows,
            src_ip: self.src_ip.unwrap_or(d.src_ip),
            dst_ip: self.dst_ip.unwrap_or(d.dst_ip),
            src_port: self.src_port.unwrap_or(d.src_port),
            dst_port: self.dst_port.unwrap_or(d.dst_port),
        };
        f.check().map_err(|rule| Error::InvalidConfig { name: "flows", value: self.flows.to_string(), rule })?;
        Ok(Some(f))
    }

    /// The writer for `sink`'s slots, once the arguments are checked.
    ///
    /// # Errors
    /// Flows the ranges cannot hold.
    pub fn generator<S: PacketSink>(&self, sink: &S) -> Result<FrameGen, Error> {
        let frames = SeqFrames { dst: self.dst_mac, src: self.src_mac, ethertype: self.ethertype };
        let payload = match self.payload {
            PayloadArg::Seq => Payload::Seq,
            PayloadArg::Zero => Payload::Zero,
            PayloadArg::Pattern => Payload::Pattern,
        };
        Ok(FrameGen::new(sink, frames, payload, self.flows()?))
    }
}
