//! [`RecordFile`]: where [`CaptureWriter`](super::CaptureWriter) puts its
//! bytes. Records are written whole: a record header (and a pcapng block's
//! padding and trailer) is built in a reused buffer, and the packet bytes
//! go to the file from where they lie — the capture ring's block or the
//! AF_XDP UMEM — by gather I/O (`writev(2)`), one call per batch (or per
//! `IOV_MAX` pieces), before the batch returns its memory to the kernel.
//! Packets shorter than [`COPY_BELOW`] are copied into the buffer instead
//! (a copy of a few dozen bytes costs less than an I/O vector entry), and
//! buffered records go out in large writes. When a write fails (a full
//! disk, `EFBIG`, `EIO`) the file is cut back to the end of its last
//! complete record, so what is on disk is a valid capture file, and
//! [`written`](RecordFile::written) says how many records it holds.
//!
//! A compressed file ([`Compression`]) is written by a thread of its own
//! (see [`compress`](super::compress)): the buffer of whole records is
//! handed over, and the capture goes on filling another.

use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::compress::Compression;
use super::compressor::Compressor;
use crate::error::{Error, Result};

/// Bytes buffered before they go to the file.
pub(super) const BUFFER: usize = 1 << 20;
/// What a buffer holds: [`BUFFER`] and room for the records that pass it
/// before it is written.
pub(super) const CAPACITY: usize = BUFFER + BUFFER / 2;
/// Long packets per batch that the first batch finds room for.
const PIECES: usize = 1024;
/// Buffered bytes after which even records not closed with
/// [`RecordFile::end_record`] go to the file (writers that close their
/// records write at [`BUFFER`]).
const UNSEALED: usize = 4 * BUFFER;
/// Packets shorter than this are copied into the buffer; longer ones are
/// written by `writev(2)` straight from the memory they were received in.
pub const COPY_BELOW: usize = 1024;
/// Whole records wait at most about this long in the buffer before they go
/// to the file (checked at each batch and each idle tick).
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

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

/// Where the bytes go: straight to the output, or to a compressing thread.
#[derive(Debug)]
enum Output<W> {
    Direct(W),
    Compressed(Compressor),
}

/// Part of what a batch writes: bytes of the buffer, or bytes lent by the
/// caller (a packet in ring memory).
#[derive(Debug, Clone, Copy)]
pub(super) enum Piece<'a> {
    Own(usize, usize),
    Lent(&'a [u8]),
}

/// The same vector, emptied, for items of another lifetime: its allocation
/// is kept (the standard library collects in place when the item types
/// have one layout, as these do), so a batch allocates nothing.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// A batch being written (see [`RecordFile::gather`]).
#[derive(Debug)]
pub(super) struct Gather<'a> {
    pieces: Vec<Piece<'a>>,
    /// Where the buffer's bytes not yet in a piece start.
    run: usize,
    /// Lent bytes so far.
    lent: usize,
    copy_below: usize,
}

impl<'a> Gather<'a> {
    /// Append bytes (copied into the buffer).
    pub(super) fn own<W: Truncate>(&mut self, f: &mut RecordFile<W>, b: &[u8]) {
        if self.pieces.is_empty() {
            f.make_room(b.len());
        }
        f.buf.extend_from_slice(b);
    }

    /// Append packet bytes: lent when long, copied when short.
    pub(super) fn data<W: Truncate>(&mut self, f: &mut RecordFile<W>, d: &'a [u8]) {
        if d.len() < self.copy_below {
            self.own(f, d);
            return;
        }
        if f.buf.len() > self.run {
            self.pieces.push(Piece::Own(self.run, f.buf.len()));
            self.run = f.buf.len();
        }
        self.pieces.push(Piece::Lent(d));
        self.lent += d.len();
    }

    /// Close a record (`records` = 0 for a header or description block).
    pub(super) fn end_record<W: Truncate>(&mut self, f: &mut RecordFile<W>, records: u64) {
        f.ends.push((self.lent + f.buf.len(), records));
    }
}

/// A capture file written record by record (see the module docs).
///
/// Bytes written through [`Write`] are only buffered; each record (or
/// file header) is closed with [`end_record`](Self::end_record), and the
/// buffer goes to the file, whole records only, when it is large, when it
/// has waited [`FLUSH_EVERY`], or on [`commit`](Self::commit). Batches
/// ([`PcapWriter::write_batch`](super::PcapWriter::write_batch)) are written
/// before the call returns. After a failed write the file ends at its last
/// complete record, and every later call fails naming the file again.
#[derive(Debug)]
pub struct RecordFile<W: Truncate = File> {
    out: Output<W>,
    path: PathBuf,
    buf: Vec<u8>,
    /// Where each complete chunk ends (in the bytes being written: the
    /// buffer's, and during a batch the lent ones too), with the records
    /// it holds (a file header holds none).
    ends: Vec<(usize, u64)>,
    /// Bytes of the file, all complete chunks.
    on_disk: u64,
    /// Records in the file.
    written: u64,
    /// The errno of the write that failed, if one did.
    failed: Option<i32>,
    /// Kept allocations for batches.
    pieces: Vec<Piece<'static>>,
    iov: Vec<IoSlice<'static>>,
    /// When the buffer last went out.
    committed: Instant,
}

impl RecordFile<File> {
    /// Records written to `file`, named `path` in errors, compressed with
    /// `compression` by a thread of their own (none for
    /// [`Compression::None`]).
    ///
    /// # Errors
    /// [`Error::Io`]: the writer thread cannot be started.
    pub fn with_compression(file: File, path: impl Into<PathBuf>, compression: Compression) -> Result<Self> {
        let path = path.into();
        let out = match compression {
            Compression::None => Output::Direct(file),
            c => Output::Compressed(Compressor::start(file, &path, c, CAPACITY, FLUSH_EVERY)?),
        };
        Ok(Self::with_output(out, path))
    }
}

impl<W: Truncate> RecordFile<W> {
    /// Records written to `out`, named `path` in errors.
    pub fn new(out: W, path: impl Into<PathBuf>) -> Self {
        Self::with_output(Output::Direct(out), path.into())
    }

    fn with_output(out: Output<W>, path: PathBuf) -> Self {
        Self {
            out,
            path,
            buf: Vec::with_capacity(CAPACITY),
            // Sized for a full buffer of small records, and for batches
            // of a thousand long packets, so that the capture loop does
            // not grow them as traffic rises.
            ends: Vec::with_capacity(BUFFER / 64),
            on_disk: 0,
            written: 0,
            failed: None,
            pieces: Vec::with_capacity(2 * PIECES),
            iov: Vec::with_capacity(2 * PIECES),
            committed: Instant::now(),
        }
    }

    /// The file's name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records in the file (written, not merely buffered; for a compressed
    /// file, in compressed frames that are complete on disk).
    pub fn written(&self) -> u64 {
        match &self.out {
            Output::Direct(_) => self.written,
            Output::Compressed(c) => c.written(),
        }
    }

    /// Bytes in the file, every one part of a complete record or header
    /// (for a compressed file, of a complete compressed frame).
    pub fn on_disk(&self) -> u64 {
        match &self.out {
            Output::Direct(_) => self.on_disk,
            Output::Compressed(c) => c.on_disk(),
        }
    }

    /// How often the capture waited for the compressing thread (all its
    /// buffers were full); 0 for a file written directly.
    pub fn stalls(&self) -> u64 {
        match &self.out {
            Output::Direct(_) => 0,
            Output::Compressed(c) => c.stalls(),
        }
    }

    /// Buffers waiting for the compressing thread; 0 for a file written
    /// directly.
    pub fn queue_depth(&self) -> u64 {
        match &self.out {
            Output::Direct(_) => 0,
            Output::Compressed(c) => c.queue_depth(),
        }
    }

    /// The error of an earlier failed write, again.
    pub(super) fn check(&self) -> Result<()> {
        if let Some(errno) = self.failed {
            return Err(Error::file("write", &self.path, io::Error::from_raw_os_error(errno)));
        }
        match &self.out {
            Output::Direct(_) => Ok(()),
            Output::Compressed(c) => c.check(&self.path),
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

    /// Declare the bytes written since the last
    /// [`end_record`](Self::end_record) complete (a writer that does not
    /// close its records, such as [`PcapWriter::write`](super::PcapWriter::write),
    /// gets them written on `flush`, on `close` and when the buffer is very
    /// large).
    fn seal(&mut self) {
        if self.buf.len() > self.ends.last().map_or(0, |e| e.0) {
            self.ends.push((self.buf.len(), 0));
        }
    }

    /// Before `n` more bytes go into the buffer: if they would not fit,
    /// write its complete chunks now (not during a batch that lent
    /// bytes), so the buffer never grows. An error shows at the next call.
    fn make_room(&mut self, n: usize) {
        if self.buf.len() + n > self.buf.capacity() && !self.ends.is_empty() {
            let _ = self.commit();
        }
    }

    /// Forget what was written since the last [`end_record`](Self::end_record)
    /// (a record that could not be built whole).
    pub fn discard_partial(&mut self) {
        let keep = self.ends.last().map_or(0, |e| e.0);
        self.buf.truncate(keep);
    }

    /// Write the buffer if whole records have waited in it for
    /// [`FLUSH_EVERY`] (call it when the capture is idle, so a quiet
    /// link's records still reach the file).
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    pub fn flush_stale(&mut self) -> Result<()> {
        if !self.ends.is_empty() && self.committed.elapsed() >= FLUSH_EVERY {
            self.commit_as(true)
        } else {
            self.check()
        }
    }

    /// Write every complete chunk to the file (to the compressing thread).
    ///
    /// # Errors
    /// [`Error::File`] naming the file. The file is then cut back to its
    /// last complete record (where the output can be cut).
    pub fn commit(&mut self) -> Result<()> {
        self.commit_as(false)
    }

    /// [`commit`](Self::commit); `aged`: because records waited long (a
    /// compressed stream then ends its frame at once, so they are readable
    /// on disk).
    fn commit_as(&mut self, aged: bool) -> Result<()> {
        self.check()?;
        self.committed = Instant::now();
        let complete = self.ends.last().map_or(0, |e| e.0);
        match &mut self.out {
            Output::Direct(out) => {
                let (done, error) = write_pieces(out, &self.buf, &[Piece::Own(0, complete)], &mut self.iov);
                self.settle(done, complete, error)
            }
            Output::Compressed(c) => {
                let records = self.ends.iter().map(|e| e.1).sum();
                self.ends.clear();
                c.send(&mut self.buf, complete, records, aged, &self.path)
            }
        }
    }

    /// Start a batch: its pieces are added with [`Gather`]'s methods and
    /// written by [`gather_end`](Self::gather_end).
    pub(super) fn gather<'a>(&mut self) -> Gather<'a> {
        let copy_below = match self.out {
            Output::Direct(_) => COPY_BELOW,
            Output::Compressed(_) => usize::MAX,
        };
        Gather { pieces: recycle(std::mem::take(&mut self.pieces)), run: 0, lent: 0, copy_below }
    }

    /// Finish a batch: whatever it lent is written now (the memory goes
    /// back to the kernel after this returns); copied records stay
    /// buffered until the buffer is large or old.
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    pub(super) fn gather_end(&mut self, mut g: Gather<'_>) -> Result<()> {
        if g.lent == 0 {
            self.pieces = recycle(g.pieces);
            return if self.committed.elapsed() >= FLUSH_EVERY {
                self.commit_as(true)
            } else if self.buf.len() >= BUFFER {
                self.commit()
            } else {
                Ok(())
            };
        }
        if self.buf.len() > g.run {
            g.pieces.push(Piece::Own(g.run, self.buf.len()));
        }
        let Output::Direct(out) = &mut self.out else { unreachable!("a compressed file lends nothing") };
        let (done, error) = write_pieces(out, &self.buf, &g.pieces, &mut self.iov);
        self.pieces = recycle(g.pieces);
        self.committed = Instant::now();
        let all = self.buf.len();
        self.settle(done, all, error)
    }

    /// Count what reached the file (`done` bytes of the chunks) and keep
    /// the buffer's bytes from `keep` on; after an error, cut the file back
    /// to its last whole record.
    fn settle(&mut self, done: usize, keep: usize, error: Option<io::Error>) -> Result<()> {
        // Everything up to the last chunk that reached the file whole counts.
        let whole = self.ends.iter().take_while(|e| e.0 <= done).last().map_or(0, |e| e.0);
        self.written += self.ends.iter().take_while(|e| e.0 <= done).map(|e| e.1).sum::<u64>();
        self.on_disk += whole as u64;
        match error {
            None => {
                self.buf.drain(..keep);
                self.ends.clear();
                Ok(())
            }
            Some(e) => {
                if done > whole
                    && let Output::Direct(out) = &mut self.out
                {
                    // Part of a record reached the file: cut it off.
                    if let Err(t) = out.truncate_to(self.on_disk) {
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

    /// Write what is buffered, then (compressed files) end the compressed
    /// stream and wait for the thread: the file is complete.
    ///
    /// # Errors
    /// [`Error::File`] naming the file: this or an earlier write failed.
    pub fn close(&mut self) -> Result<()> {
        self.seal();
        let r = if self.ends.is_empty() { self.check() } else { self.commit() };
        match &mut self.out {
            Output::Direct(_) => r,
            Output::Compressed(c) => {
                let closed = c.close(&self.path);
                r.and(closed)
            }
        }
    }
}

/// Write `pieces` (of `buf`, or lent) to `out`, resuming after short
/// writes; the bytes written, and the error that stopped it, if one did.
/// `iov` keeps its allocation from call to call.
fn write_pieces<W: Write>(
    out: &mut W,
    buf: &[u8],
    pieces: &[Piece<'_>],
    iov: &mut Vec<IoSlice<'static>>,
) -> (usize, Option<io::Error>) {
    let mut v: Vec<IoSlice<'_>> = recycle(std::mem::take(iov));
    v.extend(pieces.iter().filter_map(|p| {
        let b = match *p {
            Piece::Own(a, z) => &buf[a..z],
            Piece::Lent(d) => d,
        };
        (!b.is_empty()).then(|| IoSlice::new(b))
    }));
    let mut rest = &mut v[..];
    let mut done = 0;
    let error = loop {
        if rest.is_empty() {
            break None;
        }
        // std clamps the count to IOV_MAX; what is left goes in the next call.
        match out.write_vectored(rest) {
            Ok(0) => break Some(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => {
                done += n;
                IoSlice::advance_slices(&mut rest, n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Some(e),
        }
    };
    *iov = recycle(v);
    (done, error)
}

impl<W: Truncate> Drop for RecordFile<W> {
    /// Whole records still buffered go to the file (errors ignored, as
    /// `BufWriter` does: call [`close`](Self::close) to see them).
    fn drop(&mut self) {
        if self.failed.is_none() {
            let _ = self.close();
        }
    }
}

impl<W: Truncate> Write for RecordFile<W> {
    /// Buffers `data` (the file is written by `end_record` / `commit`);
    /// fails only with an earlier write error, or when a writer that does
    /// not close its records has filled 4 MiB and they cannot
    /// be written.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() >= UNSEALED {
            self.seal();
            self.commit().map_err(io::Error::other)?;
        }
        self.make_room(data.len());
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    /// Everything written so far goes to the file, as complete.
    fn flush(&mut self) -> io::Result<()> {
        self.seal();
        self.commit().map_err(io::Error::other)
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
