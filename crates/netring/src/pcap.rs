//! Capture files (feature `pcap`): pcap and pcapng writers with nanosecond
//! timestamps, readable by tcpdump, tshark and Wireshark, and a [`Reader`]
//! for both formats that names the byte offset of anything truncated or
//! corrupt.
//!
//! Writers take packets one at a time (`write_packet`) or a batch at a
//! time (`write_batch`, from any [`PacketSource`](crate::PacketSource)'s
//! batch): a batch's packet bytes go to the file by gather I/O straight
//! from the ring or UMEM, before the batch hands its memory back (see
//! [`RecordFile`]). With the feature `compress`, files named `*.gz` or
//! `*.zst` are compressed by a thread of their own ([`Compression`]), and
//! [`Reader::open`] reads them back whatever their name.
//!
//! The classic format (`pcap-savefile(5)`): a 24-byte file header with the
//! nanosecond magic `0xa1b23c4d` in native byte order, then per record a
//! 16-byte header (seconds, nanoseconds, captured length, original length)
//! and the bytes. [`PcapWriter`] is written by hand because `pcap-file`
//! 2.0's pcap writer cannot flush its output in place; [`PcapNgWriter`]
//! builds on `pcap-file`'s pcapng writer.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::packet::{LinkType, Packet, Timestamp};

#[cfg(test)]
mod batch_tests;
mod compress;
#[cfg(feature = "compress")]
mod compressor;
#[cfg(not(feature = "compress"))]
#[path = "pcap/no_compressor.rs"]
mod compressor;
mod ng;
mod reader;
mod rotate;
mod sink;
pub mod strftime;

pub use compress::{Compression, FileInput, without_compression_ext};
pub use ng::{InterfaceNamer, IsbCounts, PcapNgWriter};
pub use reader::{Reader, Record};
pub use rotate::{RotatingWriter, Rotation};
pub use sink::{COPY_BELOW, FLUSH_EVERY, RecordFile, Truncate};

/// pcap or pcapng.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FileFormat {
    /// Classic pcap (`pcap-savefile(5)`), nanosecond magic when written.
    #[default]
    Pcap,
    /// pcapng.
    PcapNg,
}

impl FileFormat {
    /// The format a file name's extension suggests (`.pcap`, `.pcapng`,
    /// `.ntar`, also under a compression extension: `.pcapng.zst`), if any.
    pub fn from_path(path: &Path) -> Option<Self> {
        match without_compression_ext(path).extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "pcap" | "cap" | "dmp" => Some(Self::Pcap),
            "pcapng" | "ntar" => Some(Self::PcapNg),
            _ => None,
        }
    }
}

impl std::str::FromStr for FileFormat {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "pcap" => Ok(Self::Pcap),
            "pcapng" => Ok(Self::PcapNg),
            _ => Err(format!("{s:?} is not a capture format (pcap, pcapng)")),
        }
    }
}

/// A capture file being written, in either format.
///
/// Records go to the file whole ([`RecordFile`]): when a write fails (a
/// full disk), the error names the file, the file is cut back to its last
/// complete record, [`written`](Self::written) counts the records it holds,
/// and every later write fails.
#[derive(Debug)]
pub enum CaptureWriter {
    /// A pcap file.
    Pcap(PcapWriter<RecordFile>),
    /// A pcapng file.
    PcapNg(PcapNgWriter<RecordFile>),
}

impl CaptureWriter {
    /// Create `path` in `format` for Ethernet frames; `interface` is
    /// recorded in pcapng files.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn create(path: &Path, format: FileFormat, snaplen: u32, interface: Option<&str>) -> Result<Self> {
        Self::create_with(path, format, snaplen, LinkType::Ethernet, interface)
    }

    /// Create `path` in `format` for packets of `link` type (from
    /// [`Capture::link_type`](crate::Capture::link_type)). With
    /// [`LinkType::LinuxSll2`], records get a cooked header in front, and a
    /// pcapng file gets one interface description per interface seen
    /// (named through [`set_interface_namer`](Self::set_interface_namer)).
    ///
    /// The file header is written at once, so a file that cannot be
    /// written (`/dev/full`, a full disk) fails here.
    ///
    /// # Errors
    /// [`Error::File`] naming the file: it cannot be created or written.
    pub fn create_with(
        path: &Path,
        format: FileFormat,
        snaplen: u32,
        link: LinkType,
        interface: Option<&str>,
    ) -> Result<Self> {
        Self::create_compressed(path, format, Compression::from_path(path), snaplen, link, interface)
    }

    /// [`create_with`](Self::create_with), compressed with `compression`
    /// whatever the name (`create_with` goes by the extension). A
    /// compressed file's header reaches the disk a moment later, so a file
    /// that cannot be written fails at a later call.
    ///
    /// # Errors
    /// [`Error::File`] naming the file: it cannot be created or written.
    pub fn create_compressed(
        path: &Path,
        format: FileFormat,
        compression: Compression,
        snaplen: u32,
        link: LinkType,
        interface: Option<&str>,
    ) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::file("create", path, e))?;
        let out = RecordFile::with_compression(file, path, compression)?;
        let mut w = match format {
            FileFormat::Pcap => Self::Pcap(PcapWriter::with_link_type(out, snaplen, link)?),
            FileFormat::PcapNg => Self::PcapNg(PcapNgWriter::with_link_type(out, snaplen, link, interface)?),
        };
        let sink = w.sink_mut();
        sink.end_record(0)?;
        sink.commit()?;
        Ok(w)
    }

    fn sink_mut(&mut self) -> &mut RecordFile {
        match self {
            Self::Pcap(w) => &mut w.out,
            Self::PcapNg(w) => w.sink_mut(),
        }
    }

    fn sink(&self) -> &RecordFile {
        match self {
            Self::Pcap(w) => &w.out,
            Self::PcapNg(w) => w.sink(),
        }
    }

    /// Records in the file: written, not merely buffered. Less than
    /// [`packets`](Self::packets) while records wait in the buffer, or for
    /// good after a failed write.
    pub fn written(&self) -> u64 {
        self.sink().written()
    }

    /// The file.
    pub fn path(&self) -> &Path {
        self.sink().path()
    }

    /// How pcapng interface descriptions are named (see
    /// [`PcapNgWriter::set_interface_namer`]); nothing for pcap.
    pub fn set_interface_namer(&mut self, namer: InterfaceNamer) {
        if let Self::PcapNg(w) = self {
            w.set_interface_namer(namer);
        }
    }

    /// Bytes written so far (headers included), as the file will hold them.
    pub fn bytes(&self) -> u64 {
        match self {
            Self::Pcap(w) => w.bytes(),
            Self::PcapNg(w) => w.bytes(),
        }
    }

    /// Append a captured packet.
    ///
    /// # Errors
    /// [`Error::File`] naming the file: writing failed, now or earlier.
    pub fn write_packet(&mut self, packet: &Packet<'_>) -> Result<()> {
        let r = match self {
            Self::Pcap(w) => w.write_packet(packet),
            Self::PcapNg(w) => w.write_packet(packet),
        };
        self.end_record(r)
    }

    /// Describe one more interface (see [`PcapNgWriter::add_interface`]);
    /// its interface id is returned.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a pcap file: the format has one
    /// interface per file; as [`PcapNgWriter::add_interface`].
    pub fn add_interface(&mut self, name: Option<&str>) -> Result<u32> {
        match self {
            Self::Pcap(_) => Err(Error::config(
                "capture file",
                self.path().display(),
                "is pcap, which holds one interface: write pcapng (-F pcapng) for several",
            )),
            // The description is a record of its own, not a packet.
            Self::PcapNg(w) => match w.add_interface(name) {
                Ok(id) => w.sink_mut().end_record(0).map(|()| id),
                Err(e) => {
                    w.sink_mut().discard_partial();
                    Err(e)
                }
            },
        }
    }

    /// Append a packet of interface `interface_id` (pcapng; see
    /// [`PcapNgWriter::write_packet_on`]).
    ///
    /// # Errors
    /// An unknown interface id; [`Error::File`] naming the file: writing
    /// failed, now or earlier.
    pub fn write_packet_on(&mut self, interface_id: u32, packet: &Packet<'_>) -> Result<()> {
        let r = match self {
            Self::Pcap(w) if interface_id == 0 => w.write_packet(packet),
            Self::Pcap(_) => Err(Error::config("interface id", interface_id, "a pcap file has interface 0 only")),
            Self::PcapNg(w) => w.write_packet_on(interface_id, packet),
        };
        self.end_record(r)
    }

    /// Append one record (Ethernet files; `data` longer than the snap
    /// length is cut to it).
    ///
    /// # Errors
    /// [`Error::File`] naming the file: writing failed, now or earlier.
    pub fn write(&mut self, timestamp: Timestamp, original_len: u32, data: &[u8]) -> Result<()> {
        let r = match self {
            Self::Pcap(w) => w.write(timestamp, original_len, data),
            Self::PcapNg(w) => w.write(timestamp, original_len, data),
        };
        self.end_record(r)
    }

    /// Close the record just built (`r`: whether building it worked).
    fn end_record(&mut self, r: Result<()>) -> Result<()> {
        let sink = self.sink_mut();
        match r {
            Ok(()) => sink.end_record(1),
            Err(e) => {
                sink.discard_partial();
                Err(e)
            }
        }
    }

    /// Append a batch of packets (see [`PcapWriter::write_batch`]); the
    /// number written.
    ///
    /// # Errors
    /// [`Error::File`] naming the file: writing failed, now or earlier.
    pub fn write_batch<'a>(&mut self, packets: impl IntoIterator<Item = Packet<'a>>) -> Result<u64> {
        self.write_batch_until(&mut packets.into_iter(), u64::MAX)
    }

    /// Append packets from `packets` until it ends or, after a packet, the
    /// file holds more than `max_bytes`.
    pub(crate) fn write_batch_until<'a>(
        &mut self,
        packets: &mut impl Iterator<Item = Packet<'a>>,
        max_bytes: u64,
    ) -> Result<u64> {
        match self {
            Self::Pcap(w) => w.write_batch_until(packets, max_bytes),
            Self::PcapNg(w) => w.write_batch_until(packets, max_bytes),
        }
    }

    /// Write buffered records that waited [`FLUSH_EVERY`] (call when idle).
    ///
    /// # Errors
    /// [`Error::File`] naming the file: writing failed, now or earlier.
    pub fn flush_stale(&mut self) -> Result<()> {
        self.sink_mut().flush_stale()
    }

    /// Times the capture waited for the compressing thread (0 when the
    /// file is not compressed).
    pub fn stalls(&self) -> u64 {
        self.sink().stalls()
    }

    /// Buffers waiting for the compressing thread.
    pub fn queue_depth(&self) -> u64 {
        self.sink().queue_depth()
    }

    /// Records written so far.
    pub fn packets(&self) -> u64 {
        match self {
            Self::Pcap(w) => w.packets(),
            Self::PcapNg(w) => w.packets(),
        }
    }

    /// Write every complete record to the file now (tcpdump's `-U`: a
    /// reader of the growing file sees each packet as it comes).
    ///
    /// # Errors
    /// [`Error::File`] naming the file: writing failed, now or earlier.
    pub fn flush(&mut self) -> Result<()> {
        self.sink_mut().commit()
    }

    /// Flush; pcapng files get an Interface Statistics Block with `counts`
    /// first (pcap has no place for it).
    ///
    /// # Errors
    /// [`Error::File`] naming the file: writing failed, now or earlier.
    pub fn finish(self, counts: Option<IsbCounts>) -> Result<()> {
        self.finish_counted(counts).1
    }

    /// [`finish`](Self::finish), and the records the file holds after it
    /// (all of them, or those before a failed write).
    pub fn finish_counted(self, counts: Option<IsbCounts>) -> (u64, Result<()>) {
        self.finish_counted_each(counts.as_slice())
    }

    /// [`finish_counted`](Self::finish_counted) with statistics for each
    /// interface of a pcapng file (`counts[i]` for interface id `i`, see
    /// [`PcapNgWriter::finish_each`]).
    pub fn finish_counted_each(self, counts: &[IsbCounts]) -> (u64, Result<()>) {
        let mut sink = match self {
            Self::Pcap(w) => w.out,
            Self::PcapNg(mut w) => {
                // A file whose records did not all reach it gets no statistics block.
                let counts = if w.sink_mut().commit().is_ok() { counts } else { &[] };
                match w.finish_each(counts) {
                    Ok(sink) => sink,
                    Err(e) => return (0, Err(e)),
                }
            }
        };
        let r = sink.end_record(0).and_then(|()| sink.close());
        (sink.written(), r)
    }
}

/// Magic number of a pcap file with nanosecond timestamps.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// `LINKTYPE_ETHERNET`
pub const LINKTYPE_ETHERNET: u32 = 1;

/// `LINKTYPE_LINUX_SLL2` (Linux cooked v2, what tcpdump 4.99 writes for `-i any`)
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// A pcap writer (Ethernet or Linux cooked, nanosecond timestamps, native
/// byte order).
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    snaplen: u32,
    packets: u64,
    bytes: u64,
    link: LinkType,
}

impl PcapWriter<RecordFile> {
    /// Create (or truncate) `path` and write the file header; a name
    /// ending `.gz` or `.zst` gets a compressed file.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn create(path: impl AsRef<Path>, snaplen: u32) -> Result<Self> {
        let p = path.as_ref();
        let file = File::create(p).map_err(|e| Error::file("create", p, e))?;
        let mut w = Self::new(RecordFile::with_compression(file, p, Compression::from_path(p))?, snaplen)?;
        w.out.end_record(0)?;
        Ok(w)
    }
}

impl<W: Truncate> PcapWriter<RecordFile<W>> {
    /// Append a batch of packets (behind their cooked headers for
    /// [`LinkType::LinuxSll2`]), each cut to the snap length; the number
    /// written. Record headers are built in a reused buffer and the packet
    /// bytes are written from where they lie (the capture ring's block,
    /// the UMEM) by `writev(2)` before this returns — so the batch, which
    /// `packets` borrows, is still held and its memory is the process's
    /// until then. No allocation per packet.
    ///
    /// ```no_run
    /// use netring::{Batch, Capture, PacketSource};
    /// use netring::pcap::PcapWriter;
    /// # fn main() -> netring::Result<()> {
    /// let mut cap = Capture::open("eth0")?;
    /// let mut w = PcapWriter::create("out.pcap", 65535)?;
    /// while let Some(batch) = cap.next_batch_blocking(None)? {
    ///     w.write_batch(batch.packets())?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::File`] naming the file: writing failed, now or earlier;
    /// the file then ends with its last whole record.
    pub fn write_batch<'a>(&mut self, packets: impl IntoIterator<Item = Packet<'a>>) -> Result<u64> {
        self.write_batch_until(&mut packets.into_iter(), u64::MAX)
    }

    fn write_batch_until<'a>(&mut self, packets: &mut impl Iterator<Item = Packet<'a>>, max_bytes: u64) -> Result<u64> {
        self.out.check()?;
        let snap = self.snaplen as usize;
        let mut g = self.out.gather();
        let mut n = 0;
        for p in packets.by_ref() {
            let cooked = (self.link == LinkType::LinuxSll2).then(|| p.sll2_header());
            let head: &[u8] = cooked.as_ref().map_or(&[], |h| &h[..]);
            let head = &head[..head.len().min(snap)];
            let data = p.data();
            let data = &data[..data.len().min(snap - head.len())];
            let caplen = (head.len() + data.len()) as u32;
            let h = record_header(p.timestamp(), (head.len() + p.original_len()) as u32, caplen);
            g.own(&mut self.out, &h);
            if !head.is_empty() {
                g.own(&mut self.out, head);
            }
            g.data(&mut self.out, data);
            g.end_record(&mut self.out, 1);
            self.packets += 1;
            self.bytes += 16 + u64::from(caplen);
            n += 1;
            if self.bytes > max_bytes {
                break;
            }
        }
        self.out.gather_end(g)?;
        Ok(n)
    }
}

/// A pcap record header.
fn record_header(timestamp: Timestamp, original_len: u32, caplen: u32) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&(timestamp.secs() as u32).to_ne_bytes());
    h[4..8].copy_from_slice(&timestamp.subsec_nanos().to_ne_bytes());
    h[8..12].copy_from_slice(&caplen.to_ne_bytes());
    h[12..16].copy_from_slice(&original_len.max(caplen).to_ne_bytes());
    h
}

impl<W: Write> PcapWriter<W> {
    /// Write a pcap header to `out` for packets of at most `snaplen` bytes.
    ///
    /// # Errors
    /// Writing the header failed.
    pub fn new(out: W, snaplen: u32) -> Result<Self> {
        Self::with_link_type(out, snaplen, LinkType::Ethernet)
    }

    /// Write a pcap header for packets of `link` type to `out`. With
    /// [`LinkType::LinuxSll2`], [`write_packet`](Self::write_packet) puts
    /// each packet's cooked header in front of it.
    ///
    /// # Errors
    /// Writing the header failed.
    pub fn with_link_type(mut out: W, snaplen: u32, link: LinkType) -> Result<Self> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&MAGIC_NANOS.to_ne_bytes());
        h[4..6].copy_from_slice(&2u16.to_ne_bytes());
        h[6..8].copy_from_slice(&4u16.to_ne_bytes());
        // thiszone and sigfigs stay 0.
        h[16..20].copy_from_slice(&snaplen.to_ne_bytes());
        h[20..24].copy_from_slice(&link.linktype().to_ne_bytes());
        out.write_all(&h).map_err(|e| Error::from_io("write pcap header", e))?;
        Ok(Self { out, snaplen, packets: 0, bytes: 24, link })
    }

    /// Append one record; `data` longer than the snap length is cut to it.
    ///
    /// # Errors
    /// Writing failed.
    pub fn write(&mut self, timestamp: Timestamp, original_len: u32, data: &[u8]) -> Result<()> {
        self.write_parts(timestamp, original_len, &[], data)
    }

    /// Append one record made of `head` then `data` (together cut to the
    /// snap length); `original_len` counts both.
    fn write_parts(&mut self, timestamp: Timestamp, original_len: u32, head: &[u8], data: &[u8]) -> Result<()> {
        let snap = self.snaplen as usize;
        let head = &head[..head.len().min(snap)];
        let data = &data[..data.len().min(snap - head.len())];
        let caplen = (head.len() + data.len()) as u32;
        let h = record_header(timestamp, original_len, caplen);
        // Only cooked records have a head: skip the empty write (a buffer
        // check and a zero-length copy) on the common path.
        self.out
            .write_all(&h)
            .and_then(|()| if head.is_empty() { Ok(()) } else { self.out.write_all(head) })
            .and_then(|()| self.out.write_all(data))
            .map_err(|e| Error::from_io("write pcap record", e))?;
        self.packets += 1;
        self.bytes += 16 + u64::from(caplen);
        Ok(())
    }

    /// Append a captured packet (behind its cooked header for
    /// [`LinkType::LinuxSll2`]).
    ///
    /// # Errors
    /// Writing failed.
    pub fn write_packet(&mut self, packet: &Packet<'_>) -> Result<()> {
        match self.link {
            LinkType::LinuxSll2 => {
                let h = packet.sll2_header();
                self.write_parts(packet.timestamp(), (h.len() + packet.original_len()) as u32, &h, packet.data())
            }
            _ => self.write(packet.timestamp(), packet.original_len() as u32, packet.data()),
        }
    }

    /// Bytes written so far, file header included.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Records written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Flush buffered records to the underlying writer.
    ///
    /// # Errors
    /// Flushing failed.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::from_io("flush pcap file", e))
    }

    /// Flush and return the underlying writer.
    ///
    /// # Errors
    /// Flushing failed.
    pub fn into_inner(mut self) -> Result<W> {
        self.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_bytes_of_a_nanosecond_pcap() {
        let mut w = PcapWriter::new(Vec::new(), 256).unwrap();
        w.write(Timestamp::new(0x01020304, 0x00000506), 60, &[0xaa, 0xbb]).unwrap();
        assert_eq!(w.packets(), 1);
        let b = w.into_inner().unwrap();
        assert_eq!(b.len(), 24 + 16 + 2);
        assert_eq!(&b[0..4], &0xa1b23c4du32.to_ne_bytes());
        assert_eq!(&b[4..8], &[2u16.to_ne_bytes(), 4u16.to_ne_bytes()].concat()[..]);
        assert_eq!(&b[8..16], &[0; 8]);
        assert_eq!(&b[16..20], &256u32.to_ne_bytes());
        assert_eq!(&b[20..24], &1u32.to_ne_bytes());
        assert_eq!(&b[24..28], &0x01020304u32.to_ne_bytes());
        assert_eq!(&b[28..32], &0x506u32.to_ne_bytes());
        assert_eq!(&b[32..36], &2u32.to_ne_bytes());
        assert_eq!(&b[36..40], &60u32.to_ne_bytes());
        assert_eq!(&b[40..], &[0xaa, 0xbb]);
    }

    #[test]
    fn records_respect_the_snap_length() {
        let mut w = PcapWriter::new(Vec::new(), 4).unwrap();
        w.write(Timestamp::new(1, 2), 10, &[1, 2, 3, 4, 5, 6]).unwrap();
        let b = w.into_inner().unwrap();
        assert_eq!(&b[32..36], &4u32.to_ne_bytes());
        assert_eq!(&b[36..40], &10u32.to_ne_bytes());
        assert_eq!(&b[40..], &[1, 2, 3, 4]);
    }

    #[test]
    fn a_cooked_head_comes_first_and_counts_in_both_lengths() {
        let mut w = PcapWriter::new(Vec::new(), 5).unwrap();
        w.write_parts(Timestamp::new(1, 2), 3 + 10, &[0xc0, 0xc1, 0xc2], &[1, 2, 3, 4]).unwrap();
        w.write_parts(Timestamp::new(1, 3), 2, &[], &[7, 8]).unwrap();
        assert_eq!(w.bytes(), 24 + 16 + 5 + 16 + 2);
        let b = w.into_inner().unwrap();
        assert_eq!(&b[32..36], &5u32.to_ne_bytes(), "head + data cut to the snap length");
        assert_eq!(&b[36..40], &13u32.to_ne_bytes());
        assert_eq!(&b[40..45], &[0xc0, 0xc1, 0xc2, 1, 2]);
        assert_eq!(&b[53..57], &2u32.to_ne_bytes(), "no head: the data alone");
        assert_eq!(&b[61..], &[7, 8]);
    }
}
