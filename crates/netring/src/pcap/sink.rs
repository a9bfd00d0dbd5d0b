//! [`RecordFile`]: where [`CaptureWriter`](super::CaptureWriter) puts its
//! bytes. Records are buffered whole and written to the file in large
//! writes; when a write fails (a full disk, `EFBIG`, `EIO`) the file is
//! cut back to the end of its last complete record, so what is on disk is
//! a valid capture file, and [`written`](RecordFile::written) says how
//! many records it holds.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Bytes buffered before they go to the file.
const BUFFER: usize = 1 << 20;

/// What a [`RecordFile`] writes to: anything that can be written and cut
/// back to a length (`File::set_len`).
pub trait Truncate: Write {
    /// Cut what was written back to `len` bytes.
    ///
    /// # Errors
    /// The output cannot be cut (a pipe, a character device).
    fn truncate_to(&mut self, len: u64) -> io::Result<()>;
}

impl Truncate for File {
    fn truncate_to(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

/// A capture file written record by record (see the module docs).
///
/// Bytes written through [`Write`] are only buffered; each record (or
/// file header) is closed with [`end_record`](Self::end_record), and the
/// buffer goes to the file, whole records only, when it is large or on
/// [`commit`](Self::commit). After a failed write the file ends at its last
/// complete record, and every later call fails naming the file again.
#[derive(Debug)]
pub struct RecordFile<W: Truncate = File> {
    out: W,
    path: PathBuf,
    buf: Vec<u8>,
    /// Where each complete chunk in `buf` ends, with the records it holds
    /// (a file header holds none).
    ends: Vec<(usize, u64)>,
    /// Bytes of the file, all complete chunks.
    on_disk: u64,
    /// Records in the file.
    written: u64,
    /// The errno of the write that failed, if one did.
    failed: Option<i32>,
}

impl<W: Truncate> RecordFile<W> {
    /// Records written to `out`, named `path` in errors.
    pub fn new(out: W, path: impl Into<PathBuf>) -> Self {
        Self {
            out,
            path: path.into(),
            buf: Vec::with_capacity(BUFFER),
            ends: Vec::new(),
            on_disk: 0,
            written: 0,
            failed: None,
        }
    }

    /// The file's name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records in the file (written, not merely buffered).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Bytes in the file, every one part of a complete record or header.
    pub fn on_disk(&self) -> u64 {
        self.on_disk
    }

    /// The error of an earlier failed write, again.
    fn check(&self) -> Result<()> {
        match self.failed {
            Some(errno) => Err(Error::file("write", &self.path, io::Error::from_raw_os_error(errno))),
            None => Ok(()),
        }
    }

    /// Close the chunk written since the last call: `records` records (0
    /// for a header). Writes the buffer out once it is large.
    ///
    /// # Errors
    /// [`Error::File`] naming the file: this or an earlier write failed.
    pub fn end_record(&mut self, records: u64) -> Result<()> {
        self.check()?;
        self.ends.push((self.buf.len(), records));
        if self.buf.len() >= BUFFER { self.commit() } else { Ok(()) }
    }

    /// Forget what was written since the last [`end_record`](Self::end_record)
    /// (a record that could not be built whole).
    pub fn discard_partial(&mut self) {
        let keep = self.ends.last().map_or(0, |e| e.0);
        self.buf.truncate(keep);
    }

    /// Write every complete chunk to the file.
    ///
    /// # Errors
    /// [`Error::File`] naming the file. The file is then cut back to its
    /// last complete record (where the output can be cut).
    pub fn commit(&mut self) -> Result<()> {
        self.check()?;
        let complete = self.ends.last().map_or(0, |e| e.0);
        let mut done = 0;
        let error = loop {
            if done == complete {
                break None;
            }
            match self.out.write(&self.buf[done..complete]) {
                Ok(0) => break Some(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        // Everything up to the last chunk that reached the file whole counts.
        let whole = self.ends.iter().take_while(|e| e.0 <= done).last().map_or(0, |e| e.0);
        self.written += self.ends.iter().take_while(|e| e.0 <= done).map(|e| e.1).sum::<u64>();
        self.on_disk += whole as u64;
        match error {
            None => {
                self.buf.drain(..complete);
                self.ends.clear();
                Ok(())
            }
            Some(e) => {
                if done > whole {
                    // Part of a record reached the file: cut it off.
                    if let Err(t) = self.out.truncate_to(self.on_disk) {
                        tracing::warn!(path = %self.path.display(), error = %t,
                            "could not cut the file back to its last complete record");
                    }
                }
                self.failed = Some(e.raw_os_error().unwrap_or(0));
                self.buf.clear();
                self.ends.clear();
                Err(Error::file("write", &self.path, e))
            }
        }
    }
}

impl<W: Truncate> Drop for RecordFile<W> {
    /// Whole records still buffered go to the file (errors ignored, as
    /// `BufWriter` does: call [`commit`](Self::commit) to see them).
    fn drop(&mut self) {
        if self.failed.is_none() && !self.ends.is_empty() {
            let _ = self.commit();
        }
    }
}

impl<W: Truncate> Write for RecordFile<W> {
    /// Buffers `data`; never fails (the file is written by `end_record` /
    /// `commit`).
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    /// Nothing: `commit` writes.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::cell::RefCell;
    use std::rc::Rc;

    /// An output that takes `room` bytes, then fails with `ENOSPC`, and
    /// can be cut back as a file can; `bytes` is what it holds.
    struct Full {
        bytes: Rc<RefCell<Vec<u8>>>,
        room: usize,
        chunk: usize,
    }

    fn full(room: usize, chunk: usize) -> (Full, Rc<RefCell<Vec<u8>>>) {
        let bytes = Rc::new(RefCell::new(Vec::new()));
        (Full { bytes: Rc::clone(&bytes), room, chunk }, bytes)
    }

    impl Write for Full {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            let mut b = self.bytes.borrow_mut();
            let n = data.len().min(self.room - b.len()).min(self.chunk);
            if n == 0 {
                return Err(io::Error::from_raw_os_error(28));
            }
            b.extend_from_slice(&data[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Truncate for Full {
        fn truncate_to(&mut self, len: u64) -> io::Result<()> {
            self.bytes.borrow_mut().truncate(len as usize);
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_leaves_whole_records_and_counts_them() {
        for room in [0, 10, 24, 30, 40, 41, 100, 500, 823] {
            let (out, bytes) = full(room, 7);
            let mut f = RecordFile::new(out, "/x");
            f.write_all(&[0xaa; 24]).unwrap();
            f.end_record(0).unwrap();
            for i in 0..50u8 {
                f.write_all(&[i; 16]).unwrap();
                f.end_record(1).unwrap();
            }
            let e = f.commit().unwrap_err();
            assert_eq!(e.to_string(), "write /x: no space left on device (os error 28)");
            let expected = if room < 24 { 0 } else { ((room - 24) / 16) as u64 };
            assert_eq!(f.written(), expected, "room {room}");
            let disk = if room < 24 { 0 } else { 24 + 16 * expected as usize };
            assert_eq!(f.on_disk(), disk as u64);
            assert!(f.end_record(1).is_err() && f.commit().is_err(), "later calls fail too");
            assert_eq!(bytes.borrow().len(), disk, "room {room}: cut back to the last whole record");
        }
    }

    /// A pcap file on an output that fills up after `room` bytes (several
    /// buffers' worth) reads back, to its last record, with the reader,
    /// and holds exactly the records counted as written.
    #[test]
    fn a_pcap_file_cut_by_a_full_disk_reads_back_whole() {
        use crate::packet::{LinkType, Timestamp};
        let room = 3 * BUFFER + 12_345;
        let (out, bytes) = full(room, 100_000);
        let mut w =
            super::super::PcapWriter::with_link_type(RecordFile::new(out, "/disk/cap.pcap"), 65535, LinkType::Ethernet)
                .unwrap();
        w.out.end_record(0).unwrap();
        let mut error = None;
        for i in 0..100_000u32 {
            w.write(Timestamp::new(u64::from(i), 0), 1000, &[(i % 251) as u8; 1000]).unwrap();
            if let Err(e) = w.out.end_record(1) {
                error = Some(e);
                break;
            }
        }
        let e = error.expect("the disk fills up");
        assert!(e.to_string().starts_with("write /disk/cap.pcap: no space left"), "{e}");
        let written = w.out.written();
        assert!(written > 3000, "{written}");
        drop(w);
        let bytes = bytes.borrow();
        assert_eq!(bytes.len() as u64, 24 + written * 1016, "whole records only");
        let mut r = super::super::Reader::new(&bytes[..], "cut").unwrap();
        let mut n = 0u32;
        while let Some(rec) = r.next_record().unwrap() {
            assert_eq!((rec.timestamp.secs(), rec.data[0]), (u64::from(n), (n % 251) as u8));
            n += 1;
        }
        assert_eq!(u64::from(n), written);
    }

    #[test]
    fn records_reach_the_file_whole_and_in_order() {
        let (out, bytes) = full(usize::MAX, 5);
        let mut f = RecordFile::new(out, "/x");
        for i in 0..3u8 {
            f.write_all(&[i; 3]).unwrap();
            f.end_record(1).unwrap();
        }
        f.write_all(&[9; 2]).unwrap();
        f.discard_partial();
        f.commit().unwrap();
        assert_eq!((f.written(), f.on_disk()), (3, 9));
        assert_eq!(*bytes.borrow(), [0, 0, 0, 1, 1, 1, 2, 2, 2]);
        f.write_all(&[3; 2]).unwrap();
        f.end_record(1).unwrap();
        drop(f);
        assert_eq!(bytes.borrow().len(), 11, "dropping commits whole records, as BufWriter flushes");
    }
}
