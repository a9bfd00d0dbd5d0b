//! Compressed capture files: [`Compression`] (gzip or zstd, by file name
//! or by choice), the writer thread behind a compressed
//! [`RecordFile`](super::RecordFile), and [`FileInput`], which reads
//! plain, gzip and zstd files alike (told apart by their magic bytes).
//!
//! The capture thread fills a buffer with whole records and hands it to
//! the writer thread through a bounded queue of reusable buffers
//! ([`QUEUE`] of about a mebibyte); the writer thread
//! compresses and writes. When every buffer waits for the compressor, the
//! capture waits too (counted as a *stall*): it stops taking blocks from
//! the ring, so what the compressor cannot keep up with shows as the
//! kernel's ring drops, never as packets lost without a count.
//!
//! The compressed stream is ended (a complete gzip member or zstd frame)
//! at least every [`FLUSH_EVERY`](super::FLUSH_EVERY) and every [`FRAME_BYTES`] of input, and
//! [`written`](super::RecordFile::written) counts the records in complete
//! frames: a recorder killed with `SIGKILL` leaves a file that decoders
//! read up to its last complete frame (about the last second or two of
//! traffic may be lost), and a write error (a full disk) cuts the file back
//! to the end of its last complete frame. Concatenated members and frames
//! are one stream to gzip, zstd, Wireshark and [`Reader`](super::Reader).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Buffers between the capture and the compressing thread.
pub const QUEUE: usize = 8;
/// The compressed stream is ended at least once per this many bytes of
/// input (besides once per [`FLUSH_EVERY`](super::FLUSH_EVERY)).
pub const FRAME_BYTES: u64 = 16 << 20;
/// zstd's own default level.
const ZSTD_LEVEL: i32 = 3;

/// How a capture file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Not compressed.
    #[default]
    None,
    /// gzip (RFC 1952, deflate level 1: a recorder favours speed), one
    /// member per flush.
    Gzip,
    /// zstd (level 3, zstd's default), one frame per flush.
    Zstd,
}

impl Compression {
    /// The compression a file name's last extension asks for: `.gz`,
    /// `.zst` / `.zstd`; [`None`](Self::None) otherwise.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("gz") => Self::Gzip,
            Some("zst" | "zstd") => Self::Zstd,
            _ => Self::None,
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "none" => Ok(Self::None),
            "gzip" | "gz" => Ok(Self::Gzip),
            "zstd" | "zst" => Ok(Self::Zstd),
            _ => Err(format!("{s:?} is not a compression (gzip, zstd, none)")),
        }
    }
}

/// What the capture and the writer thread share.
#[derive(Debug, Default)]
struct Shared {
    /// Records in complete frames on disk.
    written: AtomicU64,
    /// Bytes of complete frames on disk.
    on_disk: AtomicU64,
    /// Buffers handed over and not yet compressed.
    queued: AtomicU64,
    /// Times the capture waited for a free buffer.
    stalls: AtomicU64,
    failed: AtomicBool,
    error: Mutex<Option<io::Error>>,
    /// Empty buffers for the capture; a mutex and a condition variable
    /// rather than a channel, whose blocking receive allocates.
    free: Mutex<Vec<Vec<u8>>>,
    returned: Condvar,
    /// The thread has ended (no buffer comes back any more).
    done: AtomicBool,
}

/// A buffer of whole records for the writer thread.
struct Chunk {
    bytes: Vec<u8>,
    records: u64,
    /// End the frame after this chunk (its records waited long enough).
    end: bool,
}

/// The capture's end of a compressing writer thread.
pub(super) struct Compressor {
    tx: Option<SyncSender<Chunk>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor").field("shared", &self.shared).finish_non_exhaustive()
    }
}

impl Compressor {
    /// Start the thread that compresses into `file`, with buffers of
    /// `buffer` bytes' capacity, ending a frame at least every `every`.
    pub(super) fn start(file: File, path: &Path, kind: Compression, buffer: usize, every: Duration) -> Result<Self> {
        let (tx, rx) = sync_channel::<Chunk>(QUEUE);
        let shared = Arc::new(Shared {
            free: Mutex::new((1..QUEUE).map(|_| Vec::with_capacity(buffer)).collect()),
            ..Shared::default()
        });
        let s = Arc::clone(&shared);
        let name = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("netring-compress".into())
            .spawn(move || {
                compress(file, &name, kind, every, &rx, &s);
                s.done.store(true, Ordering::Release);
                let _guard = s.free.lock();
                s.returned.notify_all();
            })
            .map_err(|e| Error::from_io("spawn compressing thread", e))?;
        Ok(Self { tx: Some(tx), shared, thread: Some(thread) })
    }

    pub(super) fn written(&self) -> u64 {
        self.shared.written.load(Ordering::Acquire)
    }

    pub(super) fn on_disk(&self) -> u64 {
        self.shared.on_disk.load(Ordering::Acquire)
    }

    pub(super) fn stalls(&self) -> u64 {
        self.shared.stalls.load(Ordering::Relaxed)
    }

    pub(super) fn queue_depth(&self) -> u64 {
        self.shared.queued.load(Ordering::Relaxed)
    }

    /// The writer thread's error, if it had one.
    pub(super) fn check(&self, path: &Path) -> Result<()> {
        if self.shared.failed.load(Ordering::Acquire) { Err(self.error(path)) } else { Ok(()) }
    }

    fn error(&self, path: &Path) -> Error {
        let e = self.shared.error.lock().map(|g| g.as_ref().map(|e| (e.kind(), e.raw_os_error(), e.to_string())));
        let e = match e {
            Ok(Some((_, Some(errno), _))) => io::Error::from_raw_os_error(errno),
            Ok(Some((kind, None, text))) => io::Error::new(kind, text),
            _ => io::Error::other("the compressing thread ended"),
        };
        Error::file("write", path, e)
    }

    /// Hand `buf[..complete]` (`records` records; `end`: the frame ends
    /// after them) to the thread; `buf`
    /// becomes a free buffer holding what followed `complete`. Waits (a
    /// stall) when no buffer is free.
    pub(super) fn send(
        &mut self,
        buf: &mut Vec<u8>,
        complete: usize,
        records: u64,
        end: bool,
        path: &Path,
    ) -> Result<()> {
        self.check(path)?;
        if complete == 0 {
            return Ok(());
        }
        let mut next = self.take_free().ok_or_else(|| self.error(path))?;
        next.clear();
        next.extend_from_slice(&buf[complete..]);
        buf.truncate(complete);
        std::mem::swap(buf, &mut next);
        self.shared.queued.fetch_add(1, Ordering::Relaxed);
        let tx = self.tx.as_ref().ok_or_else(|| self.error(path))?;
        tx.send(Chunk { bytes: next, records, end }).map_err(|_| self.error(path))
    }

    /// A free buffer, waiting for one (a stall) when there is none;
    /// `None` once the thread has ended.
    fn take_free(&self) -> Option<Vec<u8>> {
        let s = &self.shared;
        let mut free = s.free.lock().ok()?;
        let mut stalled = false;
        loop {
            if let Some(b) = free.pop() {
                return Some(b);
            }
            if s.done.load(Ordering::Acquire) {
                return None;
            }
            if !stalled {
                stalled = true;
                s.stalls.fetch_add(1, Ordering::Relaxed);
            }
            free = s.returned.wait(free).ok()?;
        }
    }

    /// End the stream and wait for the thread.
    pub(super) fn close(&mut self, path: &Path) -> Result<()> {
        drop(self.tx.take());
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            return Err(Error::file("write", path, io::Error::other("the compressing thread panicked")));
        }
        self.check(path)
    }
}

impl Drop for Compressor {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The file under the encoder: counts what reached it, and after a failed
/// write refuses every later one (so no encoder writes past the cut).
struct Out {
    file: File,
    pos: u64,
    failed: bool,
}

impl Write for Out {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("an earlier write failed"));
        }
        match self.file.write(b) {
            Ok(n) => {
                self.pos += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Encoder {
    Gzip(flate2::write::GzEncoder<Out>),
    Zstd(zstd::stream::write::Encoder<'static, Out>),
}

impl Encoder {
    fn new(kind: Compression, out: Out) -> io::Result<Self> {
        Ok(match kind {
            Compression::Zstd => Self::Zstd(zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?),
            _ => Self::Gzip(flate2::write::GzEncoder::new(out, flate2::Compression::fast())),
        })
    }

    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Self::Gzip(e) => e.write_all(b),
            Self::Zstd(e) => e.write_all(b),
        }
    }

    /// End the member / frame; the file.
    fn finish(self) -> io::Result<Out> {
        match self {
            Self::Gzip(e) => e.finish(),
            Self::Zstd(e) => e.finish(),
        }
    }

    fn out(&mut self) -> &mut Out {
        match self {
            Self::Gzip(e) => e.get_mut(),
            Self::Zstd(e) => e.get_mut(),
        }
    }
}

/// The writer thread: compress chunks, end a frame every second or
/// [`FRAME_BYTES`], count what is complete on disk.
fn compress(file: File, path: &Path, kind: Compression, every: Duration, rx: &Receiver<Chunk>, s: &Shared) {
    // A second handle, to cut the file back whatever state the encoder is in.
    let cut = file.try_clone().ok();
    let fail = |e: io::Error| fail(s, path, cut.as_ref(), e);
    let mut enc = match Encoder::new(kind, Out { file, pos: 0, failed: false }) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let mut pending = 0u64;
    let mut frame = 0u64;
    let mut since = Instant::now();
    loop {
        let (chunk, last) = match rx.recv_timeout(every) {
            Ok(c) => (Some(c), false),
            Err(RecvTimeoutError::Timeout) => (None, false),
            Err(RecvTimeoutError::Disconnected) => (None, true),
        };
        let end = chunk.as_ref().is_some_and(|c| c.end);
        if let Some(mut c) = chunk {
            s.queued.fetch_sub(1, Ordering::Relaxed);
            if let Err(e) = enc.write_all(&c.bytes) {
                // Nothing more reaches the file, not even from the encoder's drop.
                enc.out().failed = true;
                return fail(e);
            }
            pending += c.records;
            frame += c.bytes.len() as u64;
            c.bytes.clear();
            if let Ok(mut free) = s.free.lock() {
                free.push(c.bytes);
                s.returned.notify_one();
            }
        }
        if frame > 0 && (last || end || since.elapsed() >= every || frame >= FRAME_BYTES) {
            let out = match enc.finish() {
                Ok(out) => out,
                Err(e) => return fail(e),
            };
            s.written.fetch_add(pending, Ordering::AcqRel);
            s.on_disk.store(out.pos, Ordering::Release);
            (pending, frame, since) = (0, 0, Instant::now());
            if last {
                return;
            }
            enc = match Encoder::new(kind, out) {
                Ok(e) => e,
                Err(e) => return fail(e),
            };
        } else if last {
            // Nothing since the last frame: end without another.
            enc.out().failed = true;
            return;
        }
    }
}

/// Record the thread's error; cut the file back to its last complete
/// frame.
fn fail(s: &Shared, path: &Path, file: Option<&File>, e: io::Error) {
    if let Some(f) = file
        && let Err(t) = f.set_len(s.on_disk.load(Ordering::Acquire))
    {
        tracing::warn!(path = %path.display(), error = %t, "could not cut the file back to its last complete frame");
    }
    if let Ok(mut g) = s.error.lock() {
        *g = Some(e);
    }
    s.failed.store(true, Ordering::Release);
}

/// A capture file opened for reading: plain, gzip or zstd, told by the
/// first bytes (not the name). Concatenated gzip members and zstd frames
/// read as one stream.
pub struct FileInput(Input);

enum Input {
    Plain(BufReader<File>),
    Gzip(flate2::bufread::MultiGzDecoder<BufReader<File>>),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<File>>),
}

impl std::fmt::Debug for FileInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Input::Plain(_) => "FileInput::Plain",
            Input::Gzip(_) => "FileInput::Gzip",
            Input::Zstd(_) => "FileInput::Zstd",
        })
    }
}

impl FileInput {
    /// Open `path` and look at its first bytes.
    ///
    /// # Errors
    /// [`Error::File`]: the file cannot be opened or read.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::file("open", path, e))?;
        let mut r = BufReader::with_capacity(1 << 16, file);
        let head = r.fill_buf().map_err(|e| Error::file("read", path, e))?;
        Ok(Self(match head {
            [0x1f, 0x8b, ..] => Input::Gzip(flate2::bufread::MultiGzDecoder::new(r)),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => {
                Input::Zstd(zstd::stream::read::Decoder::with_buffer(r).map_err(|e| Error::file("read", path, e))?)
            }
            _ => Input::Plain(r),
        }))
    }

    /// How the file is compressed.
    pub fn compression(&self) -> Compression {
        match self.0 {
            Input::Plain(_) => Compression::None,
            Input::Gzip(_) => Compression::Gzip,
            Input::Zstd(_) => Compression::Zstd,
        }
    }
}

impl Read for FileInput {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            Input::Plain(r) => r.read(b),
            Input::Gzip(r) => r.read(b),
            Input::Zstd(r) => r.read(b),
        }
    }
}

/// The name a path would have without its compression extension
/// (`out.pcap.zst` → `out.pcap`), for telling the capture format.
pub fn without_compression_ext(path: &Path) -> PathBuf {
    if Compression::from_path(path) == Compression::None { path.to_path_buf() } else { path.with_extension("") }
}
