//! The writer thread behind a compressed [`RecordFile`](super::RecordFile)
//! (see [`compress`](super::compress) for the design): the capture's end
//! ([`Compressor`]) hands buffers of whole records over, the thread
//! compresses them into the file and ends a frame at least once per flush
//! interval and per [`FRAME_BYTES`].

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::compress::Compression;
use crate::error::{Error, Result};

/// Buffers between the capture and the compressing thread.
pub const QUEUE: usize = 8;
/// The compressed stream is ended at least once per this many bytes of
/// input (besides once per [`FLUSH_EVERY`](super::FLUSH_EVERY)).
pub const FRAME_BYTES: u64 = 16 << 20;
/// zstd's own default level.
const ZSTD_LEVEL: i32 = 3;
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
