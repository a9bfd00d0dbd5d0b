//! Compressed capture files: [`Compression`] (gzip or zstd, by file name
//! or by choice), the writer thread behind a compressed
//! [`RecordFile`](super::RecordFile), and [`FileInput`], which reads
//! plain, gzip and zstd files alike (told apart by their magic bytes).
//!
//! The capture thread fills a buffer with whole records and hands it to
//! the writer thread through a bounded queue of reusable buffers
//! ([`QUEUE`](super::compressor::QUEUE) of about a mebibyte); the writer thread
//! compresses and writes. When every buffer waits for the compressor, the
//! capture waits too (counted as a *stall*): it stops taking blocks from
//! the ring, so what the compressor cannot keep up with shows as the
//! kernel's ring drops, never as packets lost without a count.
//!
//! The compressed stream is ended (a complete gzip member or zstd frame)
//! at least every [`FLUSH_EVERY`](super::FLUSH_EVERY) and every
//! [`FRAME_BYTES`](super::compressor::FRAME_BYTES) of input, and
//! [`written`](super::RecordFile::written) counts the records in complete
//! frames: a recorder killed with `SIGKILL` leaves a file that decoders
//! read up to its last complete frame (about the last second or two of
//! traffic may be lost), and a write error (a full disk) cuts the file back
//! to the end of its last complete frame. Concatenated members and frames
//! are one stream to gzip, zstd, Wireshark and [`Reader`](super::Reader).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

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

/// A capture file opened for reading: plain, gzip or zstd (feature
/// `compress`), told by the first bytes (not the name). Concatenated gzip members and zstd frames
/// read as one stream.
pub struct FileInput(Input);

enum Input {
    Plain(BufReader<File>),
    #[cfg(feature = "compress")]
    Gzip(flate2::bufread::MultiGzDecoder<BufReader<File>>),
    #[cfg(feature = "compress")]
    Zstd(zstd::stream::read::Decoder<'static, BufReader<File>>),
}

impl std::fmt::Debug for FileInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Input::Plain(_) => "FileInput::Plain",
            #[cfg(feature = "compress")]
            Input::Gzip(_) => "FileInput::Gzip",
            #[cfg(feature = "compress")]
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
            #[cfg(feature = "compress")]
            [0x1f, 0x8b, ..] => Input::Gzip(flate2::bufread::MultiGzDecoder::new(r)),
            #[cfg(feature = "compress")]
            [0x28, 0xb5, 0x2f, 0xfd, ..] => {
                Input::Zstd(zstd::stream::read::Decoder::with_buffer(r).map_err(|e| Error::file("read", path, e))?)
            }
            #[cfg(not(feature = "compress"))]
            [0x1f, 0x8b, ..] | [0x28, 0xb5, 0x2f, 0xfd, ..] => {
                let what = if head[0] == 0x1f { "gzip" } else { "zstd" };
                return Err(Error::config(
                    "file",
                    path.display(),
                    format!("is {what}-compressed: reading it needs netring built with the cargo feature `compress`"),
                ));
            }
            _ => Input::Plain(r),
        }))
    }

    /// How the file is compressed.
    pub fn compression(&self) -> Compression {
        match self.0 {
            Input::Plain(_) => Compression::None,
            #[cfg(feature = "compress")]
            Input::Gzip(_) => Compression::Gzip,
            #[cfg(feature = "compress")]
            Input::Zstd(_) => Compression::Zstd,
        }
    }
}

impl Read for FileInput {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            Input::Plain(r) => r.read(b),
            #[cfg(feature = "compress")]
            Input::Gzip(r) => r.read(b),
            #[cfg(feature = "compress")]
            Input::Zstd(r) => r.read(b),
        }
    }
}

/// The name a path would have without its compression extension
/// (`out.pcap.zst` → `out.pcap`), for telling the capture format.
pub fn without_compression_ext(path: &Path) -> PathBuf {
    if Compression::from_path(path) == Compression::None { path.to_path_buf() } else { path.with_extension("") }
}
