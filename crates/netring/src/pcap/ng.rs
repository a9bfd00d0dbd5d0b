//! [`PcapNgWriter`]: pcapng files with nanosecond timestamps, one Interface
//! Description Block (or, for a capture on every interface, one per
//! interface seen), and an Interface Statistics Block with the capture's
//! drop count at the end.

use std::borrow::Cow;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::{DataLink, Endianness};

use super::compress::Compression;
use super::sink::{RecordFile, Truncate};
use crate::error::{Error, Result};
use crate::packet::{LinkType, Packet, Timestamp};

/// `if_tsresol` = 9: timestamps count nanoseconds.
const TSRESOL_NANOS: u8 = 9;
/// Block type of an Interface Statistics Block.
const ISB: u32 = 0x0000_0005;
/// Block type of an Enhanced Packet Block.
const EPB: u32 = 0x0000_0006;
/// Zeros to pad a block's data to 4 bytes, with room for the trailer.
const PAD: [u8; 3] = [0; 3];

fn io_err(call: &'static str) -> impl FnOnce(pcap_file::PcapError) -> Error {
    move |e| match e {
        pcap_file::PcapError::IoError(e) => Error::from_io(call, e),
        other => Error::from_io(call, std::io::Error::other(other.to_string())),
    }
}

/// What the capture counted, for the closing Interface Statistics Block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IsbCounts {
    /// Packets the interface delivered to the socket, drops included
    /// (`isb_ifrecv`).
    pub received: u64,
    /// Packets the kernel dropped for lack of ring space (`isb_ifdrop`).
    pub dropped: u64,
    /// Packets written to this file (`isb_usrdeliv`).
    pub delivered: u64,
    /// When the capture started (`isb_starttime`).
    pub start: Timestamp,
    /// When it ended (`isb_endtime`, and the block's timestamp).
    pub end: Timestamp,
}

/// A pcapng writer: one section (native byte order), one Ethernet interface
/// with `if_tsresol` = 9 (nanoseconds), Enhanced Packet Blocks, and on
/// [`finish`](Self::finish) an Interface Statistics Block.
///
/// Built on `pcap-file`'s `PcapNgWriter`; the statistics block is written
/// here, because `pcap-file` 2.0 stores its 64-bit timestamps low word
/// first where the pcapng specification puts the high word first.
pub struct PcapNgWriter<W: Write> {
    inner: pcap_file::pcapng::PcapNgWriter<Counted<W>>,
    snaplen: u32,
    packets: u64,
    link: LinkType,
    /// Cooked captures: the interface index behind each interface id, in
    /// the order their descriptions were written.
    interfaces: Vec<u32>,
    /// Ethernet captures: interfaces described after the first.
    extra: u32,
    namer: Option<InterfaceNamer>,
}

/// Names the interface with a given index, for the `if_name` option of a
/// pcapng Interface Description Block (`None`: named `ifindex N`).
pub type InterfaceNamer = Box<dyn FnMut(u32) -> Option<String> + Send>;

/// A writer that counts the bytes that pass through it.
struct Counted<W> {
    out: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl<W: Write> std::fmt::Debug for PcapNgWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapNgWriter")
            .field("snaplen", &self.snaplen)
            .field("packets", &self.packets)
            .field("link", &self.link)
            .field("interfaces", &self.interfaces)
            .finish()
    }
}

impl PcapNgWriter<RecordFile> {
    /// Create (or truncate) `path` and write the section and interface
    /// headers; `interface` names the capture interface (`if_name`). A
    /// name ending `.gz` or `.zst` gets a compressed file.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn create(path: impl AsRef<Path>, snaplen: u32, interface: Option<&str>) -> Result<Self> {
        let p = path.as_ref();
        let file = File::create(p).map_err(|e| Error::file("create", p, e))?;
        let mut w = Self::new(RecordFile::with_compression(file, p, Compression::from_path(p))?, snaplen, interface)?;
        w.sink_mut().end_record(0)?;
        Ok(w)
    }
}

impl<W: Truncate> PcapNgWriter<RecordFile<W>> {
    /// Append a batch of packets as Enhanced Packet Blocks; the number
    /// written. As [`PcapWriter::write_batch`](super::PcapWriter::write_batch):
    /// block headers and padding come from a reused buffer, packet bytes
    /// are written from the batch's memory before this returns, no
    /// allocation per packet.
    ///
    /// # Errors
    /// [`Error::File`] naming the file: writing failed, now or earlier;
    /// the file then ends with its last whole block.
    pub fn write_batch<'a>(&mut self, packets: impl IntoIterator<Item = Packet<'a>>) -> Result<u64> {
        self.write_batch_until(&mut packets.into_iter(), u64::MAX)
    }

    pub(super) fn write_batch_until<'a>(
        &mut self,
        packets: &mut impl Iterator<Item = Packet<'a>>,
        max_bytes: u64,
    ) -> Result<u64> {
        self.sink().check()?;
        let snap = self.snaplen as usize;
        let mut g = self.sink_mut().gather();
        let mut n = 0;
        let mut result = Ok(());
        for p in packets.by_ref() {
            let cooked = (self.link == LinkType::LinuxSll2).then(|| p.sll2_header());
            let id = match cooked {
                // A new interface's description goes into the buffer first.
                Some(_) => match self.interface_id(p.ifindex()) {
                    Ok(id) => id,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                },
                None => 0,
            };
            let head: &[u8] = cooked.as_ref().map_or(&[], |h| &h[..]);
            let head = &head[..head.len().min(snap)];
            let data = p.data();
            let data = &data[..data.len().min(snap - head.len())];
            let caplen = head.len() + data.len();
            let (h, total) = epb_header(id, p.timestamp(), (head.len() + p.original_len()) as u32, caplen);
            let pad = total as usize - 32 - caplen;
            let out = &mut self.inner.get_mut().out;
            g.own(out, &h);
            if !head.is_empty() {
                g.own(out, head);
            }
            g.data(out, data);
            g.own(out, &PAD[..pad]);
            g.own(out, &total.to_ne_bytes());
            g.end_record(out, 1);
            self.inner.get_mut().bytes += u64::from(total);
            self.packets += 1;
            n += 1;
            if self.bytes() > max_bytes {
                break;
            }
        }
        let r = self.sink_mut().gather_end(g);
        result.and(r).map(|()| n)
    }
}

/// The first 28 bytes of an Enhanced Packet Block (native byte order,
/// nanosecond timestamps) and the block's total length.
fn epb_header(interface_id: u32, ts: Timestamp, original_len: u32, caplen: usize) -> ([u8; 28], u32) {
    let total = (32 + caplen.next_multiple_of(4)) as u32;
    let n = ts.as_nanos();
    let mut h = [0u8; 28];
    h[0..4].copy_from_slice(&EPB.to_ne_bytes());
    h[4..8].copy_from_slice(&total.to_ne_bytes());
    h[8..12].copy_from_slice(&interface_id.to_ne_bytes());
    h[12..16].copy_from_slice(&((n >> 32) as u32).to_ne_bytes());
    h[16..20].copy_from_slice(&(n as u32).to_ne_bytes());
    h[20..24].copy_from_slice(&(caplen as u32).to_ne_bytes());
    h[24..28].copy_from_slice(&original_len.max(caplen as u32).to_ne_bytes());
    (h, total)
}

impl<W: Write> PcapNgWriter<W> {
    /// Write a section header and an interface description to `out`.
    ///
    /// # Errors
    /// Writing failed.
    pub fn new(out: W, snaplen: u32, interface: Option<&str>) -> Result<Self> {
        Self::with_link_type(out, snaplen, LinkType::Ethernet, interface)
    }

    /// Write a section header to `out` for packets of `link` type. For
    /// [`LinkType::Ethernet`] one interface description follows (named
    /// `interface`); for [`LinkType::LinuxSll2`] (a capture on every
    /// interface) each interface gets its own description, written before
    /// its first packet and named by the [`InterfaceNamer`].
    ///
    /// # Errors
    /// Writing failed.
    pub fn with_link_type(out: W, snaplen: u32, link: LinkType, interface: Option<&str>) -> Result<Self> {
        let out = Counted { out, bytes: 0 };
        let shb = SectionHeaderBlock {
            endianness: Endianness::native(),
            major_version: 1,
            minor_version: 0,
            section_length: -1,
            options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed(concat!(
                "netring ",
                env!("CARGO_PKG_VERSION")
            )))],
        };
        let inner =
            pcap_file::pcapng::PcapNgWriter::with_section_header(out, shb).map_err(io_err("write pcapng header"))?;
        let mut w = Self { inner, snaplen, packets: 0, link, interfaces: Vec::new(), extra: 0, namer: None };
        if link == LinkType::Ethernet {
            w.write_idb(interface.map(str::to_owned))?;
        }
        Ok(w)
    }

    /// Describe one more interface of Ethernet frames (a capture on several
    /// interfaces into one file, as dumpcap writes it) and return its
    /// interface id: the interface given at creation has id 0, the next
    /// ones 1, 2, … Packets go to it with
    /// [`write_packet_on`](Self::write_packet_on).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a cooked capture (its interfaces are
    /// described as they are seen); writing failed.
    pub fn add_interface(&mut self, name: Option<&str>) -> Result<u32> {
        if self.link != LinkType::Ethernet {
            return Err(Error::config("interface", name.unwrap_or("?"), "can be added to Ethernet captures only"));
        }
        self.write_idb(name.map(str::to_owned))?;
        self.extra += 1;
        Ok(self.extra)
    }

    /// Interfaces described so far.
    pub fn interface_count(&self) -> u32 {
        match self.link {
            LinkType::Ethernet => 1 + self.extra,
            _ => self.interfaces.len() as u32,
        }
    }

    /// Append a packet of interface `interface_id` (Ethernet captures: 0,
    /// or an id from [`add_interface`](Self::add_interface)).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an interface id not described; writing
    /// failed.
    pub fn write_packet_on(&mut self, interface_id: u32, packet: &Packet<'_>) -> Result<()> {
        if self.link != LinkType::Ethernet || interface_id > self.extra {
            return Err(Error::config("interface id", interface_id, "is not described in this file"));
        }
        self.write_on(interface_id, packet.timestamp(), packet.original_len() as u32, &[], packet.data())
    }

    /// How interfaces of a cooked capture are named in their descriptions.
    pub fn set_interface_namer(&mut self, namer: InterfaceNamer) {
        self.namer = Some(namer);
    }

    fn write_idb(&mut self, name: Option<String>) -> Result<()> {
        let mut options = vec![InterfaceDescriptionOption::IfTsResol(TSRESOL_NANOS)];
        if let Some(name) = name {
            options.insert(0, InterfaceDescriptionOption::IfName(Cow::Owned(name)));
        }
        let linktype = DataLink::from(self.link.linktype());
        let idb = InterfaceDescriptionBlock { linktype, snaplen: self.snaplen, options };
        self.inner.write_pcapng_block(idb).map_err(io_err("write pcapng interface block"))?;
        Ok(())
    }

    /// The interface id of `ifindex`, describing the interface first if it
    /// is new.
    fn interface_id(&mut self, ifindex: u32) -> Result<u32> {
        if let Some(i) = self.interfaces.iter().position(|&x| x == ifindex) {
            return Ok(i as u32);
        }
        let name = self.namer.as_mut().and_then(|f| f(ifindex)).unwrap_or_else(|| format!("ifindex {ifindex}"));
        self.write_idb(Some(name))?;
        self.interfaces.push(ifindex);
        Ok(self.interfaces.len() as u32 - 1)
    }

    /// Append one Enhanced Packet Block; `data` longer than the snap length
    /// is cut to it.
    ///
    /// # Errors
    /// Writing failed.
    pub fn write(&mut self, timestamp: Timestamp, original_len: u32, data: &[u8]) -> Result<()> {
        self.write_on(0, timestamp, original_len, &[], data)
    }

    /// One Enhanced Packet Block of `head` then `data`, together cut to
    /// the snap length; `original_len` counts both.
    fn write_on(
        &mut self,
        interface_id: u32,
        timestamp: Timestamp,
        original_len: u32,
        head: &[u8],
        data: &[u8],
    ) -> Result<()> {
        let snap = self.snaplen as usize;
        let head = &head[..head.len().min(snap)];
        let data = &data[..data.len().min(snap - head.len())];
        let caplen = head.len() + data.len();
        let (h, total) = epb_header(interface_id, timestamp, original_len, caplen);
        let pad = total as usize - 32 - caplen;
        let out = self.inner.get_mut();
        out.write_all(&h)
            .and_then(|()| out.write_all(head))
            .and_then(|()| out.write_all(data))
            .and_then(|()| out.write_all(&PAD[..pad]))
            .and_then(|()| out.write_all(&total.to_ne_bytes()))
            .map_err(|e| Error::from_io("write pcapng packet block", e))?;
        self.packets += 1;
        Ok(())
    }

    /// Append a captured packet.
    ///
    /// # Errors
    /// Writing failed.
    pub fn write_packet(&mut self, packet: &Packet<'_>) -> Result<()> {
        match self.link {
            LinkType::LinuxSll2 => {
                let id = self.interface_id(packet.ifindex())?;
                let h = packet.sll2_header();
                self.write_on(id, packet.timestamp(), (h.len() + packet.original_len()) as u32, &h, packet.data())
            }
            _ => self.write(packet.timestamp(), packet.original_len() as u32, packet.data()),
        }
    }

    /// Bytes written so far, headers included.
    pub fn bytes(&self) -> u64 {
        self.inner.get_ref().bytes
    }

    /// Records written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Flush buffered blocks to the underlying writer.
    ///
    /// # Errors
    /// Flushing failed.
    pub fn flush(&mut self) -> Result<()> {
        self.inner.get_mut().flush().map_err(|e| Error::from_io("flush pcapng file", e))
    }

    /// The output.
    pub(super) fn sink_mut(&mut self) -> &mut W {
        &mut self.inner.get_mut().out
    }

    /// The output.
    pub(super) fn sink(&self) -> &W {
        &self.inner.get_ref().out
    }

    /// Write the Interface Statistics Block, flush, and return the writer.
    ///
    /// # Errors
    /// Writing failed.
    pub fn finish(self, counts: Option<IsbCounts>) -> Result<W> {
        self.finish_each(counts.as_slice())
    }

    /// [`finish`](Self::finish) with one Interface Statistics Block per
    /// interface: `counts[i]` for interface id `i` (a file of several
    /// interfaces, [`add_interface`](Self::add_interface)); counts past the
    /// interfaces described are ignored.
    ///
    /// # Errors
    /// Writing failed.
    pub fn finish_each(mut self, counts: &[IsbCounts]) -> Result<W> {
        if self.link != LinkType::Ethernet && self.interfaces.is_empty() {
            // The statistics block needs an interface to refer to.
            self.write_idb(Some("any".to_owned()))?;
            self.interfaces.push(0);
        }
        let described = self.interface_count() as usize;
        for (id, c) in counts.iter().enumerate().take(described) {
            let block = isb_bytes(id as u32, c);
            self.inner.get_mut().write_all(&block).map_err(|e| Error::from_io("write pcapng statistics block", e))?;
        }
        self.flush()?;
        Ok(self.inner.into_inner().out)
    }
}

/// An Interface Statistics Block for interface `id`, native byte order.
fn isb_bytes(id: u32, c: &IsbCounts) -> Vec<u8> {
    let ts = |t: Timestamp| {
        let n = t.as_nanos();
        [((n >> 32) as u32).to_ne_bytes(), (n as u32).to_ne_bytes()].concat()
    };
    let mut body = Vec::with_capacity(128);
    body.extend_from_slice(&id.to_ne_bytes()); // interface id
    body.extend_from_slice(&ts(c.end));
    let mut opt = |code: u16, value: &[u8]| {
        body.extend_from_slice(&code.to_ne_bytes());
        body.extend_from_slice(&(value.len() as u16).to_ne_bytes());
        body.extend_from_slice(value);
    };
    opt(2, &ts(c.start)); // isb_starttime
    opt(3, &ts(c.end)); // isb_endtime
    opt(4, &c.received.to_ne_bytes()); // isb_ifrecv
    opt(5, &c.dropped.to_ne_bytes()); // isb_ifdrop
    opt(8, &c.delivered.to_ne_bytes()); // isb_usrdeliv
    opt(0, &[]); // opt_endofopt
    let total = (body.len() + 12) as u32;
    let mut b = Vec::with_capacity(total as usize);
    b.extend_from_slice(&ISB.to_ne_bytes());
    b.extend_from_slice(&total.to_ne_bytes());
    b.extend_from_slice(&body);
    b.extend_from_slice(&total.to_ne_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::{FileFormat, Reader};

    #[test]
    fn blocks_are_well_formed_and_read_back() {
        let mut w = PcapNgWriter::new(Vec::new(), 100, Some("veth0")).unwrap();
        w.write(Timestamp::new(1_700_000_000, 123_456_789), 60, &[7; 60]).unwrap();
        w.write(Timestamp::new(1_700_000_001, 1), 1000, &[9; 1000]).unwrap();
        let start = Timestamp::new(1_699_999_999, 5);
        let end = Timestamp::new(1_700_000_002, 6);
        let counts = IsbCounts { received: 12, dropped: 3, delivered: 2, start, end };
        let bytes = w.finish(Some(counts)).unwrap();
        // Block type and lengths: SHB first, every block length a multiple of 4.
        assert_eq!(&bytes[0..4], &0x0a0d0d0au32.to_ne_bytes());
        let mut off = 0;
        let mut types = Vec::new();
        while off < bytes.len() {
            let ty = u32::from_ne_bytes(bytes[off..off + 4].try_into().unwrap());
            let len = u32::from_ne_bytes(bytes[off + 4..off + 8].try_into().unwrap()) as usize;
            assert_eq!(len % 4, 0);
            assert_eq!(&bytes[off + len - 4..off + len], &(len as u32).to_ne_bytes(), "trailing length");
            types.push(ty);
            off += len;
        }
        assert_eq!(types, vec![0x0a0d0d0a, 1, 6, 6, 5]);

        let mut r = Reader::new(&bytes[..], "<memory>").unwrap();
        assert_eq!(r.format(), FileFormat::PcapNg);
        let p = r.next_record().unwrap().unwrap();
        assert_eq!((p.timestamp, p.original_len, p.data.len()), (Timestamp::new(1_700_000_000, 123_456_789), 60, 60));
        let p = r.next_record().unwrap().unwrap();
        assert_eq!((p.timestamp, p.original_len, p.data), (Timestamp::new(1_700_000_001, 1), 1000, &[9u8; 100][..]));
        assert!(r.next_record().unwrap().is_none());
        assert_eq!(r.statistics(), Some(IsbCounts { received: 12, dropped: 3, delivered: 2, start, end }));
    }

    #[test]
    fn several_interfaces_get_a_description_and_statistics_each() {
        let mut w = PcapNgWriter::new(Vec::new(), 100, Some("tap0")).unwrap();
        assert_eq!(w.add_interface(Some("tap1")).unwrap(), 1);
        assert_eq!(w.interface_count(), 2);
        let meta = |s| crate::PacketMeta { timestamp: Timestamp::new(s, 0), original_len: 60, ..Default::default() };
        let data = [5u8; 60];
        w.write_packet_on(1, &Packet::new(&data, meta(1))).unwrap();
        w.write_packet_on(0, &Packet::new(&data, meta(2))).unwrap();
        assert!(w.write_packet_on(2, &Packet::new(&data, meta(3))).is_err(), "not described");
        let c = |delivered| IsbCounts { received: 9, dropped: 1, delivered, ..Default::default() };
        let bytes = w.finish_each(&[c(1), c(1), c(7)]).unwrap();
        let mut off = 0;
        let mut blocks = Vec::new();
        while off < bytes.len() {
            let ty = u32::from_ne_bytes(bytes[off..off + 4].try_into().unwrap());
            let len = u32::from_ne_bytes(bytes[off + 4..off + 8].try_into().unwrap()) as usize;
            let id = u32::from_ne_bytes(bytes[off + 8..off + 12].try_into().unwrap());
            blocks.push((ty, if ty == 5 || ty == 6 { id } else { 0 }));
            off += len;
        }
        // The third count has no interface: no block for it.
        assert_eq!(blocks, vec![(0x0a0d0d0a, 0), (1, 0), (1, 0), (6, 1), (6, 0), (5, 0), (5, 1)]);
        let mut r = Reader::new(&bytes[..], "<memory>").unwrap();
        assert_eq!(r.next_record().unwrap().unwrap().interface, 1);
        assert_eq!(r.next_record().unwrap().unwrap().interface, 0);
        let mut cooked = PcapNgWriter::with_link_type(Vec::new(), 100, LinkType::LinuxSll2, None).unwrap();
        assert!(cooked.add_interface(Some("x")).is_err(), "a cooked capture describes interfaces as seen");
    }
}
