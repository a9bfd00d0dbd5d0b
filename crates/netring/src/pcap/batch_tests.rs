//! Batches written by gather I/O give the bytes that packet-by-packet
//! writes give, resume after short writes, stop at a full disk with whole
//! records only; compressed files read back record for record.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use super::{Compression, FileFormat, PcapNgWriter, PcapWriter, Reader, RecordFile, Truncate};
use crate::packet::{LinkType, Packet, PacketMeta, Timestamp};

/// An output that takes at most `chunk` bytes per call (from the first
/// I/O vectors), `room` bytes in all, then fails with `ENOSPC`.
struct Disk {
    bytes: Rc<RefCell<Vec<u8>>>,
    room: usize,
    chunk: usize,
    calls: Rc<RefCell<usize>>,
}

/// What a [`Disk`] holds, shared with the test.
type Shared<T> = Rc<RefCell<T>>;

fn disk(room: usize, chunk: usize) -> (Disk, Shared<Vec<u8>>, Shared<usize>) {
    let bytes = Rc::new(RefCell::new(Vec::new()));
    let calls = Rc::new(RefCell::new(0));
    (Disk { bytes: Rc::clone(&bytes), room, chunk, calls: Rc::clone(&calls) }, bytes, calls)
}

impl Write for Disk {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(data)])
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        *self.calls.borrow_mut() += 1;
        let mut b = self.bytes.borrow_mut();
        let mut left = self.chunk.min(self.room - b.len());
        if left == 0 {
            return Err(io::Error::from_raw_os_error(28));
        }
        let mut n = 0;
        for s in bufs {
            let k = s.len().min(left);
            b.extend_from_slice(&s[..k]);
            (n, left) = (n + k, left - k);
            if left == 0 {
                break;
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Truncate for Disk {
    fn truncate_to(&mut self, len: u64) -> io::Result<()> {
        self.bytes.borrow_mut().truncate(len as usize);
        Ok(())
    }
}

/// Packets of many lengths: below and above the copy threshold.
fn frames() -> Vec<(Vec<u8>, PacketMeta)> {
    (0..300u32)
        .map(|i| {
            let len: usize = [60, 64, 511, 512, 1500, 9000, 0, 1][i as usize % 8];
            let meta = PacketMeta {
                timestamp: Timestamp::new(1_700_000_000 + u64::from(i), i * 1000),
                original_len: len as u32 + 4,
                ifindex: 2 + i % 3,
                ..Default::default()
            };
            ((0..len).map(|k| (k as u8) ^ (i as u8)).collect(), meta)
        })
        .collect()
}

fn packets(f: &[(Vec<u8>, PacketMeta)]) -> impl Iterator<Item = Packet<'_>> {
    f.iter().map(|(d, m)| Packet::new(d, *m))
}

#[test]
fn a_pcap_batch_writes_the_bytes_of_packet_by_packet_writes() {
    let f = frames();
    for (link, snap) in [(LinkType::Ethernet, 65535), (LinkType::Ethernet, 600), (LinkType::LinuxSll2, 700)] {
        let mut one = PcapWriter::with_link_type(Vec::new(), snap, link).unwrap();
        for p in packets(&f) {
            one.write_packet(&p).unwrap();
        }
        let (out, bytes, calls) = disk(usize::MAX, 5000);
        let mut w = PcapWriter::with_link_type(RecordFile::new(out, "/b"), snap, link).unwrap();
        w.out.end_record(0).unwrap();
        for chunk in f.chunks(37) {
            assert_eq!(w.write_batch(packets(chunk)).unwrap(), chunk.len() as u64);
        }
        assert_eq!(w.packets(), 300);
        w.out.close().unwrap();
        assert_eq!(w.out.written(), 300);
        assert_eq!(*bytes.borrow(), one.into_inner().unwrap(), "{link:?} snap {snap}");
        assert!(*calls.borrow() > 8, "short writes were resumed");
    }
}

#[test]
fn a_pcapng_batch_writes_the_bytes_of_packet_by_packet_writes() {
    let f = frames();
    for link in [LinkType::Ethernet, LinkType::LinuxSll2] {
        let name = |i: u32| Some(format!("if{i}"));
        let mut one = PcapNgWriter::with_link_type(Vec::new(), 2000, link, Some("veth0")).unwrap();
        one.set_interface_namer(Box::new(name));
        for p in packets(&f) {
            one.write_packet(&p).unwrap();
        }
        let one = one.finish(None).unwrap();
        let (out, bytes, _) = disk(usize::MAX, 3000);
        let mut w = PcapNgWriter::with_link_type(RecordFile::new(out, "/b"), 2000, link, Some("veth0")).unwrap();
        w.set_interface_namer(Box::new(name));
        for chunk in f.chunks(50) {
            w.write_batch(packets(chunk)).unwrap();
        }
        let mut out = w.finish(None).unwrap();
        out.close().unwrap();
        assert_eq!(*bytes.borrow(), one, "{link:?}");
        let mut r = Reader::new(&one[..], "ng").unwrap();
        let mut n = 0;
        while let Some(rec) = r.next_record().unwrap() {
            let (d, m) = &f[n];
            let head = if link == LinkType::LinuxSll2 { 20 } else { 0 };
            assert_eq!(rec.data[head..], d[..d.len().min(2000 - head)], "{link:?} record {n}");
            assert_eq!((rec.timestamp, rec.original_len), (m.timestamp, head as u32 + m.original_len));
            n += 1;
        }
        assert_eq!(n, 300);
    }
}

/// A disk that fills up in the middle of a batch: the file ends with its
/// last whole record, `written` counts exactly those, later batches fail.
#[test]
fn a_full_disk_in_a_batch_leaves_whole_records() {
    let f = frames();
    let mut sizes = vec![24usize];
    for (d, _) in &f {
        sizes.push(sizes.last().unwrap() + 16 + d.len());
    }
    for room in [30, 24 + 16 + 59, 24 + 76 + 3, 5000, 12_345, 100_000, 400_000] {
        let (out, bytes, _) = disk(room, 4096);
        let mut w = PcapWriter::with_link_type(RecordFile::new(out, "/full"), 65535, LinkType::Ethernet).unwrap();
        let mut err = w.out.end_record(0).err();
        for chunk in f.chunks(64) {
            if err.is_some() {
                break;
            }
            err = w.write_batch(packets(chunk)).err();
        }
        let r = w.out.close();
        let written = w.out.written();
        let e = err.or(r.err()).expect("the disk fills up");
        assert_eq!(e.to_string(), "write /full: no space left on device (os error 28)");
        let whole = sizes.iter().rposition(|&s| s <= room).unwrap();
        assert_eq!(written, whole as u64, "room {room}");
        let len = bytes.borrow().len();
        assert!(len == sizes[whole] || (whole == 0 && len == 0 && room < 24), "room {room}: {len} bytes");
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("netring-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// gzip and zstd files, pcap and pcapng, rotated by size: each file one
/// complete compressed stream that the reader (by magic, not name) reads
/// record for record.
#[test]
#[cfg(feature = "compress")]
#[cfg_attr(miri, ignore = "threads and files")]
fn compressed_files_read_back_record_for_record() {
    let f = frames();
    for (name, compression, format) in [
        ("c.pcap.gz", Compression::Gzip, FileFormat::Pcap),
        ("c.pcapng.zst", Compression::Zstd, FileFormat::PcapNg),
        ("c-zstd-named.pcap", Compression::Zstd, FileFormat::Pcap),
    ] {
        assert_eq!(FileFormat::from_path(std::path::Path::new(name)).unwrap_or_default(), format);
        let path = scratch(name);
        let rot = super::Rotation { file_size: Some(200_000), ..Default::default() };
        let mut w = super::RotatingWriter::create_compressed(
            &path,
            format,
            compression,
            65535,
            LinkType::Ethernet,
            Some("veth0"),
            rot,
        )
        .unwrap();
        for chunk in f.chunks(40) {
            w.write_batch(packets(chunk)).unwrap();
        }
        let files: Vec<_> = w.files().map(std::path::Path::to_path_buf).collect();
        let (written, r) = w.finish_counted(None);
        r.unwrap();
        assert_eq!(written, 300, "{name}");
        assert!(files.len() > 2, "{name}: {files:?}");
        let mut n = 0;
        for file in &files {
            let raw = std::fs::read(file).unwrap();
            let magic: &[u8] = if compression == Compression::Gzip { &[0x1f, 0x8b] } else { &[0x28, 0xb5, 0x2f, 0xfd] };
            assert!(raw.starts_with(magic), "{}", file.display());
            let mut r = Reader::open(file).unwrap();
            assert_eq!(r.format(), format);
            while let Some(rec) = r.next_record().unwrap() {
                assert_eq!((rec.data, rec.timestamp), (&f[n].0[..], f[n].1.timestamp), "{name}: record {n}");
                n += 1;
            }
            std::fs::remove_file(file).unwrap();
        }
        assert_eq!(n, 300, "{name}");
    }
}
