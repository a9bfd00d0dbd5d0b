//! [`Reader`]: pcap and pcapng files, record by record, with the byte
//! offset of anything truncated or corrupt.
//!
//! Classic pcap records are parsed here (16-byte header, then the bytes; all
//! four magics: micro/nanoseconds, either byte order). pcapng blocks are
//! framed here — type and length checked, the whole block present — and
//! decoded by `pcap-file`'s `PcapNgParser`; timestamps are scaled by each
//! interface's `if_tsresol` (microseconds when absent).

use std::io::Read;
use std::path::Path;

use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::blocks::interface_statistics::InterfaceStatisticsOption;
use pcap_file::pcapng::{Block, PcapNgParser};

use super::compress::FileInput;
use super::ng::IsbCounts;
use super::{FileFormat, LINKTYPE_ETHERNET};
use crate::error::{Error, Result};
use crate::packet::Timestamp;

/// Largest pcap record accepted: libpcap's `MAXIMUM_SNAPLEN`, or the file's
/// snap length if larger, up to [`MAX_BLOCK`] (a header claiming 4 GiB must
/// not make the reader allocate that much).
const MAX_RECORD: u32 = 262_144;
/// Largest pcapng block accepted (libpcap uses 16 MiB), and largest pcap
/// record whatever the file's snap length.
const MAX_BLOCK: u32 = 16 << 20;
const SHB: u32 = 0x0a0d_0d0a;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// One record of a capture file, borrowed from the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// When the packet was captured (0 for pcapng Simple Packet Blocks).
    pub timestamp: Timestamp,
    /// Length on the wire.
    pub original_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// The pcapng interface id (0 for pcap).
    pub interface: u32,
}

/// A parsed record: timestamp, original length, data range in the buffer,
/// interface id.
type Parsed = (Timestamp, u32, std::ops::Range<usize>, u32);

enum Kind {
    Pcap { swapped: bool, nanos: bool, snaplen: u32 },
    PcapNg { parser: Box<PcapNgParser>, tsresol: Vec<u8>, linktypes: Vec<u32> },
}

/// Reads pcap and pcapng files (the format is told by the magic number).
///
/// [`next_record`](Self::next_record) yields records in file order. A file
/// that ends inside a record, or holds a record that cannot be right, ends
/// with [`Error::CorruptFile`] naming the byte offset of that record and
/// what is wrong — after every valid record before it was yielded.
///
/// ```no_run
/// let mut r = netring::pcap::Reader::open("in.pcapng")?;
/// while let Some(rec) = r.next_record()? {
///     println!("{} {} bytes", rec.timestamp, rec.data.len());
/// }
/// # Ok::<(), netring::Error>(())
/// ```
pub struct Reader<R: Read> {
    src: R,
    path: String,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    failed: bool,
    kind: Kind,
    linktype: u32,
    stats: Option<IsbCounts>,
}

impl<R: Read> std::fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("path", &self.path).field("format", &self.format()).finish()
    }
}

impl Reader<FileInput> {
    /// Open `path` and read its file header. gzip- and zstd-compressed
    /// files are read as they are, told by their first bytes (not their
    /// name).
    ///
    /// # Errors
    /// The file cannot be opened or read; [`Error::CorruptFile`] if it is
    /// neither pcap nor pcapng (bad magic) or its header is cut short.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let p = path.as_ref();
        Self::new(FileInput::open(p)?, p.display().to_string())
    }
}

fn u32_at(b: &[u8], off: usize, swapped: bool) -> u32 {
    let v = u32::from_ne_bytes(b[off..off + 4].try_into().expect("4 bytes"));
    if swapped { v.swap_bytes() } else { v }
}

impl<R: Read> Reader<R> {
    /// Read a capture file from `src`; `path` names it in errors.
    ///
    /// # Errors
    /// As [`open`](Reader::open).
    pub fn new(src: R, path: impl Into<String>) -> Result<Self> {
        let mut r = Self {
            src,
            path: path.into(),
            buf: vec![0; 1 << 16],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            failed: false,
            kind: Kind::Pcap { swapped: false, nanos: false, snaplen: 0 },
            linktype: LINKTYPE_ETHERNET,
            stats: None,
        };
        if !r.fill(4)? {
            return Err(r.corrupt(0, format!("file too short for a magic number ({} bytes)", r.avail().len())));
        }
        let magic = u32_at(r.avail(), 0, false);
        match magic {
            0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1 => {
                if !r.fill(24)? {
                    return Err(r.corrupt(0, format!("truncated pcap file header: 24 bytes needed, {} present", r.end)));
                }
                let swapped = magic == 0xd4c3_b2a1 || magic == 0x4d3c_b2a1;
                let nanos = magic == 0xa1b2_3c4d || magic == 0x4d3c_b2a1;
                let h = r.avail();
                let u16_at = |o: usize| {
                    let v = u16::from_ne_bytes([h[o], h[o + 1]]);
                    if swapped { v.swap_bytes() } else { v }
                };
                let (major, minor) = (u16_at(4), u16_at(6));
                if major != 2 {
                    // libpcap refuses anything before 2 ("archaic"); nothing after it exists.
                    return Err(r.corrupt(
                        4,
                        format!("pcap version {major}.{minor}: only version 2 (2.4, as libpcap writes) is known"),
                    ));
                }
                let (snaplen, linktype) = (u32_at(h, 16, swapped), u32_at(h, 20, swapped) & 0x0fff_ffff);
                r.kind = Kind::Pcap { swapped, nanos, snaplen };
                r.linktype = linktype;
                r.start += 24;
            }
            SHB => {
                let len = r.block_len(0)?.ok_or_else(|| r.corrupt(0, "truncated pcapng section header".into()))?;
                let block = &r.buf[r.start..r.start + len];
                let parser = match PcapNgParser::new(block) {
                    Ok((_, p)) => p,
                    Err(e) => return Err(r.corrupt(0, format!("invalid pcapng section header: {e}"))),
                };
                r.kind = Kind::PcapNg { parser: Box::new(parser), tsresol: Vec::new(), linktypes: Vec::new() };
                r.start += len;
            }
            other => {
                return Err(r.corrupt(
                    0,
                    format!(
                        "not a pcap or pcapng file: bad magic number 0x{:08x}",
                        u32::from_be_bytes(other.to_ne_bytes())
                    ),
                ));
            }
        }
        Ok(r)
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    fn corrupt(&self, offset: u64, what: String) -> Error {
        Error::CorruptFile { path: self.path.clone(), offset, what }
    }

    /// Make at least `n` bytes available from `start`; `false` if the file
    /// ends first.
    fn fill(&mut self, n: usize) -> Result<bool> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < n {
            self.buf.resize(n.next_power_of_two(), 0);
        }
        while self.end < n && !self.eof {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::file("read", self.path.clone(), e)),
            }
        }
        Ok(self.end - self.start >= n)
    }

    /// Frame the pcapng block at `start`: check its type and length and make
    /// the whole block available. `None` at a clean end of file.
    fn block_len(&mut self, at: u64) -> Result<Option<usize>> {
        let head = if self.fill(4)? && self.avail()[0..4] == SHB.to_ne_bytes() { 12 } else { 8 };
        if !self.fill(head)? {
            return match self.avail().len() {
                0 => Ok(None),
                n => Err(self.corrupt(at, format!("truncated block header: {head} bytes needed, {n} left"))),
            };
        }
        let h = self.avail();
        let ty = u32::from_ne_bytes(h[0..4].try_into().expect("4"));
        let swapped = match &self.kind {
            _ if ty == SHB => {
                let bom = u32::from_ne_bytes(h[8..12].try_into().expect("4"));
                if bom == BYTE_ORDER_MAGIC {
                    false
                } else if bom.swap_bytes() == BYTE_ORDER_MAGIC {
                    true
                } else {
                    return Err(self.corrupt(at, format!("section header with bad byte-order magic 0x{bom:08x}")));
                }
            }
            Kind::PcapNg { parser, .. } => parser.section().endianness != pcap_file::Endianness::native(),
            Kind::Pcap { .. } => false,
        };
        let ty = if swapped { ty.swap_bytes() } else { ty };
        let len = u32_at(h, 4, swapped);
        if len < 12 || !len.is_multiple_of(4) || len > MAX_BLOCK {
            return Err(self.corrupt(
                at,
                format!("block of type 0x{ty:x} has invalid length {len} (a multiple of 4 in 12..={MAX_BLOCK})"),
            ));
        }
        if !self.fill(len as usize)? {
            let left = self.avail().len();
            return Err(
                self.corrupt(at, format!("truncated block of type 0x{ty:x}: header says {len} bytes, {left} left"))
            );
        }
        let trailer = u32_at(self.avail(), len as usize - 4, swapped);
        if trailer != len {
            return Err(self.corrupt(at, format!("block of type 0x{ty:x}: trailing length {trailer} != {len}")));
        }
        Ok(Some(len as usize))
    }

    /// The next record, `Ok(None)` at the end of the file.
    ///
    /// # Errors
    /// [`Error::CorruptFile`] with the byte offset of a truncated or corrupt
    /// record (every record before it was returned); later calls return
    /// `Ok(None)`. [`Error::Io`] if reading fails.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>> {
        if self.failed {
            return Ok(None);
        }
        let r = match self.kind {
            Kind::Pcap { swapped, nanos, snaplen } => self.next_pcap(swapped, nanos, snaplen),
            Kind::PcapNg { .. } => self.next_pcapng(),
        };
        match r {
            Ok(Some((ts, orig, range, interface))) => {
                Ok(Some(Record { timestamp: ts, original_len: orig, data: &self.buf[range], interface }))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    /// (timestamp, original length, data range in `buf`, interface).
    fn next_pcap(&mut self, swapped: bool, nanos: bool, snaplen: u32) -> Result<Option<Parsed>> {
        let at = self.offset();
        if !self.fill(16)? {
            return match self.avail().len() {
                0 => Ok(None),
                n => Err(self.corrupt(at, format!("truncated record header: 16 bytes needed, {n} left"))),
            };
        }
        let h = self.avail();
        let (sec, frac, incl, orig) =
            (u32_at(h, 0, swapped), u32_at(h, 4, swapped), u32_at(h, 8, swapped), u32_at(h, 12, swapped));
        let limit = snaplen.clamp(MAX_RECORD, MAX_BLOCK);
        if incl > limit {
            return Err(self.corrupt(at, format!("record length {incl} exceeds the limit of {limit} bytes")));
        }
        let nanos_part = if nanos { frac } else { frac.saturating_mul(1000) };
        if nanos_part >= 1_000_000_000 || (!nanos && frac >= 1_000_000) {
            return Err(self.corrupt(at, format!("record timestamp fraction {frac} out of range")));
        }
        if !self.fill(16 + incl as usize)? {
            let left = self.avail().len() - 16;
            return Err(self.corrupt(at, format!("truncated record: header says {incl} bytes, {left} left")));
        }
        let data = self.start + 16..self.start + 16 + incl as usize;
        self.start = data.end;
        Ok(Some((Timestamp::new(u64::from(sec), nanos_part), orig.max(incl), data, 0)))
    }

    fn next_pcapng(&mut self) -> Result<Option<Parsed>> {
        loop {
            let at = self.offset();
            let Some(len) = self.block_len(at)? else {
                return Ok(None);
            };
            let (start, buf_ptr) = (self.start, self.buf.as_ptr() as usize);
            let Kind::PcapNg { parser, tsresol, linktypes } = &mut self.kind else {
                unreachable!("pcapng reader");
            };
            let block = match parser.next_block(&self.buf[start..start + len]) {
                Ok((_, b)) => b,
                Err(e) => {
                    let ty = u32::from_ne_bytes(self.buf[start..start + 4].try_into().expect("4"));
                    return Err(Error::CorruptFile {
                        path: self.path.clone(),
                        offset: at,
                        what: format!("invalid block of type 0x{ty:x}: {e}"),
                    });
                }
            };
            let little = parser.section().endianness == pcap_file::Endianness::Little;
            let range_of = |d: &[u8]| {
                let s = d.as_ptr() as usize - buf_ptr;
                s..s + d.len()
            };
            let out = match block {
                Block::SectionHeader(_) => {
                    tsresol.clear();
                    linktypes.clear();
                    None
                }
                Block::InterfaceDescription(idb) => {
                    let res = idb
                        .options
                        .iter()
                        .find_map(|o| match o {
                            InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                            _ => None,
                        })
                        .unwrap_or(6);
                    tsresol.push(res);
                    linktypes.push(u32::from(idb.linktype));
                    None
                }
                Block::EnhancedPacket(epb) => {
                    let Some(&res) = tsresol.get(epb.interface_id as usize) else {
                        let id = epb.interface_id;
                        return Err(
                            self.corrupt(at, format!("packet block names interface {id}, which was never described"))
                        );
                    };
                    let ts = Timestamp::from_nanos(scale(epb.timestamp.as_nanos() as u64, res));
                    let data = range_of(&epb.data);
                    Some((ts, epb.original_len.max(data.len() as u32), data, epb.interface_id))
                }
                Block::SimplePacket(spb) => {
                    let data = range_of(&spb.data);
                    Some((Timestamp::default(), spb.original_len.max(data.len() as u32), data, 0))
                }
                Block::Packet(pb) => {
                    let res = tsresol.get(pb.interface_id as usize).copied().unwrap_or(6);
                    let data = range_of(&pb.data);
                    let ts = Timestamp::from_nanos(scale(pb.timestamp, res));
                    Some((ts, pb.original_len.max(data.len() as u32), data, u32::from(pb.interface_id)))
                }
                Block::InterfaceStatistics(isb) => {
                    let res = tsresol.get(isb.interface_id as usize).copied().unwrap_or(6);
                    // pcap-file reads 64-bit timestamps as one u64 in section
                    // order; the format stores the high word first.
                    let fix = |v: u64| Timestamp::from_nanos(scale(if little { v.rotate_left(32) } else { v }, res));
                    let mut c = IsbCounts { end: fix(isb.timestamp), ..Default::default() };
                    for o in &isb.options {
                        match *o {
                            InterfaceStatisticsOption::IsbStartTime(v) => c.start = fix(v),
                            InterfaceStatisticsOption::IsbEndTime(v) => c.end = fix(v),
                            InterfaceStatisticsOption::IsbIfRecv(v) => c.received = v,
                            InterfaceStatisticsOption::IsbIfDrop(v) => c.dropped = v,
                            InterfaceStatisticsOption::IsbUsrDeliv(v) => c.delivered = v,
                            _ => {}
                        }
                    }
                    self.stats = Some(c);
                    None
                }
                _ => None,
            };
            if let Kind::PcapNg { linktypes, .. } = &self.kind
                && let Some(&l) = linktypes.first()
            {
                self.linktype = l;
            }
            self.start += len;
            if out.is_some() {
                return Ok(out);
            }
        }
    }

    /// The file format.
    pub fn format(&self) -> FileFormat {
        match self.kind {
            Kind::Pcap { .. } => FileFormat::Pcap,
            Kind::PcapNg { .. } => FileFormat::PcapNg,
        }
    }

    /// The link type (`LINKTYPE_ETHERNET` = 1); for pcapng, the first
    /// interface's, once its description was read.
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// The counts of the last pcapng Interface Statistics Block read so far.
    pub fn statistics(&self) -> Option<IsbCounts> {
        self.stats
    }
}

/// Timestamp units of resolution `tsresol` (pcapng `if_tsresol`) to ns.
fn scale(raw: u64, tsresol: u8) -> u64 {
    if tsresol & 0x80 == 0 {
        let e = u32::from(tsresol);
        if e <= 9 { raw.saturating_mul(10u64.pow(9 - e)) } else { raw / 10u64.saturating_pow(e - 9) }
    } else {
        let p = u32::from(tsresol & 0x7f).min(127);
        ((u128::from(raw) * 1_000_000_000) >> p).min(u128::from(u64::MAX)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::PcapWriter;

    fn pcap_bytes(n: u64) -> Vec<u8> {
        let mut w = PcapWriter::new(Vec::new(), 65535).unwrap();
        for i in 0..n {
            w.write(Timestamp::new(100 + i, 7), 60 + i as u32, &vec![i as u8; 60 + i as usize]).unwrap();
        }
        w.into_inner().unwrap()
    }

    type Owned = (Timestamp, u32, Vec<u8>);

    fn read_all(bytes: &[u8]) -> (Vec<Owned>, Option<Error>) {
        let mut r = match Reader::new(bytes, "t.pcap") {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let mut out = Vec::new();
        loop {
            match r.next_record() {
                Ok(Some(rec)) => out.push((rec.timestamp, rec.original_len, rec.data.to_vec())),
                Ok(None) => return (out, None),
                Err(e) => {
                    assert!(r.next_record().unwrap().is_none(), "nothing after an error");
                    return (out, Some(e));
                }
            }
        }
    }

    #[test]
    fn pcap_round_trip() {
        let (recs, err) = read_all(&pcap_bytes(3));
        assert!(err.is_none());
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[2], (Timestamp::new(102, 7), 62, vec![2u8; 62]));
    }

    #[test]
    fn swapped_microsecond_pcap() {
        let mut b = Vec::new();
        b.extend_from_slice(&0xa1b2c3d4u32.to_be_bytes());
        b.extend_from_slice(&[0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1]);
        b.extend_from_slice(&[0, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0, 0, 4, 0xaa, 0xbb]);
        let swapped = u32::from_ne_bytes(0xa1b2c3d4u32.to_be_bytes()) != 0xa1b2c3d4;
        let (recs, err) = read_all(&b);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(recs, vec![(Timestamp::new(5, 9000), 4, vec![0xaa, 0xbb])]);
        let r = Reader::new(&b[..], "x").unwrap();
        assert!(matches!(r.kind, Kind::Pcap { swapped: s, .. } if s == swapped));
    }

    #[test]
    fn truncated_last_record_yields_the_rest_then_names_the_offset() {
        let full = pcap_bytes(3);
        // Record 2 starts at 24 + (16+60) + (16+61) = 177; cut 10 bytes into its data.
        let (recs, err) = read_all(&full[..177 + 16 + 10]);
        assert_eq!(recs.len(), 2);
        let e = err.expect("an error");
        assert_eq!(e.to_string(), "t.pcap: truncated record: header says 62 bytes, 10 left at byte offset 177");
        assert!(matches!(e, Error::CorruptFile { offset: 177, .. }));
        let (recs, err) = read_all(&full[..177 + 5]);
        assert_eq!(recs.len(), 2);
        assert!(
            err.unwrap().to_string().contains("truncated record header: 16 bytes needed, 5 left at byte offset 177")
        );
    }

    #[test]
    fn bad_magic_and_short_files_are_named() {
        let e = read_all(b"GIF89a-not-a-capture-file").1.unwrap();
        assert_eq!(e.to_string(), "t.pcap: not a pcap or pcapng file: bad magic number 0x47494638 at byte offset 0");
        let e = read_all(&pcap_bytes(0)[..20]).1.unwrap();
        assert!(e.to_string().contains("truncated pcap file header"), "{e}");
        assert!(read_all(b"ab").1.unwrap().to_string().contains("too short"));
    }

    #[test]
    fn unknown_pcap_versions_are_refused_naming_them() {
        for (major, minor) in [(0u16, 0u16), (1, 0), (3, 0)] {
            let mut b = pcap_bytes(1);
            b[4..6].copy_from_slice(&major.to_ne_bytes());
            b[6..8].copy_from_slice(&minor.to_ne_bytes());
            let (recs, err) = read_all(&b);
            assert!(recs.is_empty());
            assert_eq!(
                err.unwrap().to_string(),
                format!(
                    "t.pcap: pcap version {major}.{minor}: only version 2 (2.4, as libpcap writes) is known at byte offset 4"
                )
            );
        }
        let mut b = pcap_bytes(1);
        b[6..8].copy_from_slice(&3u16.to_ne_bytes());
        assert_eq!(read_all(&b).0.len(), 1, "2.3 is still pcap");
    }

    #[test]
    fn absurd_record_lengths_are_corrupt_not_allocations() {
        let mut b = pcap_bytes(1);
        b[24 + 8..24 + 12].copy_from_slice(&0xffff_fff0u32.to_ne_bytes());
        let (recs, err) = read_all(&b);
        assert!(recs.is_empty());
        assert_eq!(
            err.unwrap().to_string(),
            "t.pcap: record length 4294967280 exceeds the limit of 262144 bytes at byte offset 24"
        );
    }

    #[test]
    fn a_huge_file_snap_length_does_not_raise_the_record_limit_past_16_mib() {
        // Found by the `pcap_reader` fuzz target: snap length 0xffffffff let a
        // record header claim 4 GiB, which the reader then allocated.
        let mut b = pcap_bytes(1);
        b[16..20].copy_from_slice(&u32::MAX.to_ne_bytes());
        b[24 + 8..24 + 12].copy_from_slice(&((16u32 << 20) + 1).to_ne_bytes());
        let (recs, err) = read_all(&b);
        assert!(recs.is_empty());
        assert_eq!(
            err.unwrap().to_string(),
            "t.pcap: record length 16777217 exceeds the limit of 16777216 bytes at byte offset 24"
        );
    }

    #[test]
    fn pcapng_truncation_and_bad_lengths_name_the_block() {
        let mut w = crate::pcap::PcapNgWriter::new(Vec::new(), 1500, None).unwrap();
        for i in 0..3u64 {
            w.write(Timestamp::new(i, 0), 100, &[i as u8; 100]).unwrap();
        }
        let b = w.finish(None).unwrap();
        let (recs, err) = read_all(&b);
        assert_eq!((recs.len(), err.is_none()), (3, true));
        let epb_len = 32 + 100;
        let last = b.len() - epb_len;
        let (recs, err) = read_all(&b[..b.len() - 1]);
        assert_eq!(recs.len(), 2);
        assert_eq!(
            err.unwrap().to_string(),
            format!(
                "t.pcap: truncated block of type 0x6: header says {epb_len} bytes, {} left at byte offset {last}",
                epb_len - 1
            )
        );
        let mut bad = b.clone();
        bad[last + 4..last + 8].copy_from_slice(&7u32.to_ne_bytes());
        let e = read_all(&bad).1.unwrap().to_string();
        assert!(e.contains("has invalid length 7") && e.ends_with(&format!("at byte offset {last}")), "{e}");
    }

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(scale(5, 6), 5_000);
        assert_eq!(scale(5, 9), 5);
        assert_eq!(scale(5_000, 12), 5);
        assert_eq!(scale(1 << 10, 0x80 | 10), 1_000_000_000);
    }
}
