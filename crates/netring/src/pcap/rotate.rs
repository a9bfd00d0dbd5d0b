//! [`RotatingWriter`]: a recorder that moves on to a new file by size,
//! by time, or both, and keeps a ring of files — tcpdump's `-C`, `-G` and
//! `-W`. Every file is complete on its own (its own header, and for pcapng
//! its own section and interface descriptions).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::ng::{InterfaceNamer, IsbCounts};
use super::{CaptureWriter, Compression, FileFormat};
use crate::error::{Error, Result};
use crate::packet::{LinkType, Packet, Timestamp};
use crate::sys::time::strftime_local;

/// When to start a new file and how many to keep.
///
/// * `file_size` (`-C`): before writing a packet, if the current file is
///   larger than this many bytes, close it and open the next. tcpdump
///   counts `-C` in units of 1,000,000 bytes.
/// * `interval` (`-G`): before writing a packet, if the current file was
///   opened this long ago, close it and open a new one; the name pattern is
///   then expanded with `strftime(3)` in local time, at each opening.
/// * `max_files` (`-W`): keep at most this many files. With `file_size`
///   the counter in the names wraps (files are overwritten in turn, as
///   tcpdump does); otherwise the oldest file is deleted when a new one
///   would exceed the count (tcpdump exits instead when `-W` is given with
///   `-G` alone).
///
/// Names, as tcpdump's: with `file_size`, a counter is appended to the
/// (expanded) pattern — none on the first file without `max_files`, then
/// 1, 2, …; with `max_files`, on every file, zero-padded to the digits of
/// `max_files − 1`. The counter restarts with each `interval`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Start a new file when the current one exceeds this many bytes.
    pub file_size: Option<u64>,
    /// Start a new file when the current one is this old.
    pub interval: Option<Duration>,
    /// Keep at most this many files.
    pub max_files: Option<u32>,
}

impl Rotation {
    /// Whether any rotation is asked for.
    pub fn is_active(&self) -> bool {
        self.file_size.is_some() || self.interval.is_some()
    }

    fn validate(&self) -> Result<()> {
        if self.file_size == Some(0) {
            return Err(Error::config("file_size", 0, "must be at least 1 byte"));
        }
        if self.interval.is_some_and(|i| i.is_zero()) {
            return Err(Error::config("interval", "0 s", "must be positive"));
        }
        if self.max_files == Some(0) {
            return Err(Error::config("max_files", 0, "must be at least 1"));
        }
        if self.max_files.is_some() && !self.is_active() {
            return Err(Error::config("max_files", self.max_files.unwrap_or(0), "needs a file size or an interval"));
        }
        Ok(())
    }

    /// The name of file `counter` of the slice that started at `slice`
    /// (seconds since the epoch), from `pattern`.
    ///
    /// # Errors
    /// The pattern cannot be expanded (see `strftime(3)`).
    pub fn file_name(&self, pattern: &str, slice: i64, counter: u64) -> Result<PathBuf> {
        let base = if self.interval.is_some() { strftime_local(pattern, slice)? } else { pattern.to_owned() };
        Ok(PathBuf::from(match (self.file_size, self.max_files) {
            (Some(_), Some(w)) => {
                let width = (w.saturating_sub(1)).max(1).ilog10() as usize + 1;
                format!("{base}{counter:0width$}")
            }
            (Some(_), None) if counter > 0 => format!("{base}{counter}"),
            _ => base,
        }))
    }
}

/// A capture file writer that rotates by [`Rotation`].
pub struct RotatingWriter {
    pattern: String,
    format: FileFormat,
    compression: Compression,
    snaplen: u32,
    link: LinkType,
    interface: Option<String>,
    rotation: Rotation,
    namer: Option<std::sync::Arc<dyn Fn(u32) -> Option<String> + Send + Sync>>,
    current: Option<CaptureWriter>,
    opened: Instant,
    slice: i64,
    counter: u64,
    /// Files written, oldest first (the current one last).
    files: VecDeque<PathBuf>,
    packets: u64,
    /// Records in the files already closed.
    closed: u64,
    /// Compressor stalls of the files already closed.
    stalls: u64,
}

impl std::fmt::Debug for RotatingWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatingWriter")
            .field("pattern", &self.pattern)
            .field("rotation", &self.rotation)
            .field("files", &self.files)
            .field("packets", &self.packets)
            .finish()
    }
}

impl RotatingWriter {
    /// Open the first file of `pattern` (a path; with an `interval`, a
    /// `strftime` pattern such as `/var/cap/%Y%m%d-%H%M%S.pcap`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero size, interval or count, or a
    /// pattern that does not expand; the file cannot be created.
    pub fn create(
        pattern: &Path,
        format: FileFormat,
        snaplen: u32,
        link: LinkType,
        interface: Option<&str>,
        rotation: Rotation,
    ) -> Result<Self> {
        Self::create_compressed(pattern, format, Compression::from_path(pattern), snaplen, link, interface, rotation)
    }

    /// [`create`](Self::create), every file compressed with `compression`
    /// (`create` goes by the pattern's extension: `.gz`, `.zst`). Each
    /// file is a complete compressed stream.
    ///
    /// # Errors
    /// As [`create`](Self::create).
    pub fn create_compressed(
        pattern: &Path,
        format: FileFormat,
        compression: Compression,
        snaplen: u32,
        link: LinkType,
        interface: Option<&str>,
        rotation: Rotation,
    ) -> Result<Self> {
        rotation.validate()?;
        let pattern =
            pattern.to_str().ok_or_else(|| Error::config("file name", pattern.display(), "must be UTF-8"))?.to_owned();
        let mut w = Self {
            pattern,
            format,
            compression,
            snaplen,
            link,
            interface: interface.map(str::to_owned),
            rotation,
            namer: None,
            current: None,
            opened: Instant::now(),
            slice: Timestamp::now().secs() as i64,
            counter: 0,
            files: VecDeque::new(),
            packets: 0,
            closed: 0,
            stalls: 0,
        };
        w.open()?;
        Ok(w)
    }

    /// Name pcapng interface descriptions (cooked captures) with `namer`,
    /// in this file and every later one.
    pub fn set_interface_namer(&mut self, namer: std::sync::Arc<dyn Fn(u32) -> Option<String> + Send + Sync>) {
        if let Some(w) = &mut self.current {
            w.set_interface_namer(boxed(&namer));
        }
        self.namer = Some(namer);
    }

    fn open(&mut self) -> Result<()> {
        let path = self.rotation.file_name(&self.pattern, self.slice, self.counter)?;
        let mut w = CaptureWriter::create_compressed(
            &path,
            self.format,
            self.compression,
            self.snaplen,
            self.link,
            self.interface.as_deref(),
        )?;
        if let Some(n) = &self.namer {
            w.set_interface_namer(boxed(n));
        }
        tracing::debug!(path = %path.display(), "capture file opened");
        self.current = Some(w);
        self.opened = Instant::now();
        self.files.retain(|p| *p != path);
        self.files.push_back(path);
        if let Some(max) = self.rotation.max_files {
            while self.files.len() > max as usize {
                if let Some(old) = self.files.pop_front() {
                    std::fs::remove_file(&old).map_err(|e| Error::file("remove", old.clone(), e))?;
                }
            }
        }
        Ok(())
    }

    /// Close the current file and open the next one.
    fn rotate(&mut self) -> Result<()> {
        if let Some(w) = self.current.take() {
            self.stalls += w.stalls();
            let (n, r) = w.finish_counted(None);
            self.closed += n;
            r?;
        }
        if self.rotation.interval.is_some_and(|i| self.opened.elapsed() >= i) {
            self.slice = Timestamp::now().secs() as i64;
            self.counter = 0;
        } else {
            self.counter += 1;
            if let Some(max) = self.rotation.max_files.filter(|_| self.rotation.file_size.is_some()) {
                self.counter %= u64::from(max);
            }
        }
        self.open()
    }

    /// Whether the next packet goes to a new file.
    fn due(&self, current: &CaptureWriter) -> bool {
        self.rotation.interval.is_some_and(|i| self.opened.elapsed() >= i)
            || self.rotation.file_size.is_some_and(|s| current.bytes() > s)
    }

    /// Append a packet, to a new file first if one is due.
    ///
    /// # Errors
    /// Writing, closing or opening a file failed.
    pub fn write_packet(&mut self, packet: &Packet<'_>) -> Result<()> {
        if self.current.as_ref().is_some_and(|w| self.due(w)) {
            self.rotate()?;
        }
        let w = self.current.as_mut().ok_or_else(|| Error::config("capture file", &self.pattern, "is closed"))?;
        w.write_packet(packet)?;
        self.packets += 1;
        Ok(())
    }

    /// Append a batch of packets (see
    /// [`PcapWriter::write_batch`](super::PcapWriter::write_batch)),
    /// moving to a new file where one is due, as
    /// [`write_packet`](Self::write_packet) does; the number written.
    ///
    /// # Errors
    /// Writing, closing or opening a file failed.
    pub fn write_batch<'a>(&mut self, packets: impl IntoIterator<Item = Packet<'a>>) -> Result<u64> {
        let mut it = packets.into_iter().peekable();
        let mut n = 0;
        while it.peek().is_some() {
            if self.current.as_ref().is_some_and(|w| self.due(w)) {
                self.rotate()?;
            }
            let limit = self.rotation.file_size.unwrap_or(u64::MAX);
            let w = self.current.as_mut().ok_or_else(|| Error::config("capture file", &self.pattern, "is closed"))?;
            let k = w.write_batch_until(&mut it, limit)?;
            self.packets += k;
            n += k;
        }
        Ok(n)
    }

    /// Write buffered records that waited [`FLUSH_EVERY`](super::FLUSH_EVERY)
    /// (call when the capture is idle).
    ///
    /// # Errors
    /// Writing failed, now or earlier.
    pub fn flush_stale(&mut self) -> Result<()> {
        self.current.as_mut().map_or(Ok(()), CaptureWriter::flush_stale)
    }

    /// Times the capture waited for a compressing thread, over every file.
    pub fn stalls(&self) -> u64 {
        self.stalls + self.current.as_ref().map_or(0, CaptureWriter::stalls)
    }

    /// Buffers waiting for the current file's compressing thread.
    pub fn queue_depth(&self) -> u64 {
        self.current.as_ref().map_or(0, CaptureWriter::queue_depth)
    }

    /// Packets written, over every file.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Records in the files (written, not merely buffered), over every file.
    pub fn written(&self) -> u64 {
        self.closed + self.current.as_ref().map_or(0, CaptureWriter::written)
    }

    /// The files written and still on disk, oldest first.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(PathBuf::as_path)
    }

    /// Flush and close the current file; pcapng gets an Interface
    /// Statistics Block with `counts`.
    ///
    /// # Errors
    /// Writing failed.
    pub fn finish(self, counts: Option<IsbCounts>) -> Result<()> {
        self.finish_counted(counts).1
    }

    /// [`finish`](Self::finish), and the records the files hold after it,
    /// over every file (all of them, or those before a failed write).
    pub fn finish_counted(mut self, counts: Option<IsbCounts>) -> (u64, Result<()>) {
        match self.current.take() {
            Some(w) => {
                let (n, r) = w.finish_counted(counts);
                (self.closed + n, r)
            }
            None => (self.closed, Ok(())),
        }
    }
}

fn boxed(f: &std::sync::Arc<dyn Fn(u32) -> Option<String> + Send + Sync>) -> InterfaceNamer {
    let f = std::sync::Arc::clone(f);
    Box::new(move |i| f(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "strftime")]
    fn names_follow_tcpdump() {
        let size = Rotation { file_size: Some(1000), ..Default::default() };
        assert_eq!(size.file_name("cap.pcap", 0, 0).unwrap(), PathBuf::from("cap.pcap"));
        assert_eq!(size.file_name("cap.pcap", 0, 3).unwrap(), PathBuf::from("cap.pcap3"));
        let ring = Rotation { file_size: Some(1000), max_files: Some(10), ..Default::default() };
        assert_eq!(ring.file_name("c", 0, 0).unwrap(), PathBuf::from("c0"));
        let ring = Rotation { max_files: Some(11), ..ring };
        assert_eq!(ring.file_name("c", 0, 7).unwrap(), PathBuf::from("c07"));
        let time = Rotation { interval: Some(Duration::from_secs(60)), ..Default::default() };
        assert_eq!(time.file_name("c-%s.pcap", 1_700_000_000, 0).unwrap(), PathBuf::from("c-1700000000.pcap"));
        assert!(Rotation { max_files: Some(2), ..Default::default() }.validate().is_err());
        assert!(Rotation { file_size: Some(0), ..Default::default() }.validate().is_err());
    }

    #[test]
    #[cfg_attr(miri, ignore = "writes files")]
    fn size_ring_wraps_and_every_file_reads_back() {
        let dir = std::env::temp_dir().join(format!("netring-rotate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pattern = dir.join("r.pcap");
        let rot = Rotation { file_size: Some(1000), max_files: Some(3), ..Default::default() };
        let mut w = RotatingWriter::create(&pattern, FileFormat::Pcap, 65535, LinkType::Ethernet, None, rot).unwrap();
        let data = [7u8; 300];
        for i in 0..20u32 {
            let meta = crate::PacketMeta {
                timestamp: Timestamp::new(u64::from(i), 0),
                original_len: 300,
                ..Default::default()
            };
            w.write_packet(&Packet::new(&data, meta)).unwrap();
        }
        let files: Vec<PathBuf> = w.files().map(Path::to_path_buf).collect();
        w.finish(None).unwrap();
        assert_eq!(files.len(), 3, "{files:?}");
        // 24 + 4 × 316 = 1288 bytes: a new file after every fourth record.
        let mut total = 0;
        for f in &files {
            let mut r = crate::pcap::Reader::open(f).unwrap();
            while r.next_record().unwrap().is_some() {
                total += 1;
            }
        }
        assert_eq!(total, 20 - 4 * 2, "five files of 4 were written; the two oldest were overwritten");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
