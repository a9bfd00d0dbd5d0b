//! [`RotatingWriter`]: a recorder that moves on to a new file by size,
//! by time, or both, or when asked ([`RotatingWriter::rotate_now`], what
//! `SIGHUP` does in the CLI), and keeps a bounded set of files — tcpdump's
//! `-C`, `-G` and `-W`, and a retention budget by total size and by age.
//! Every file is complete on its own (its own header, and for pcapng its
//! own section and interface descriptions).
//!
//! Retention only ever deletes files this writer created (the names it
//! opened, in the order it opened them), never the file being written, and
//! never anything else in the directory.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::ng::{InterfaceNamer, IsbCounts};
use super::strftime::strftime_local;
use super::{CaptureWriter, Compression, FileFormat};
use crate::error::{Error, Result};
use crate::packet::{LinkType, Packet, Timestamp};

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
/// * `max_total` (`--max-total`): the files of this writer take at most
///   this many bytes together, the one being written included: whenever
///   they would take more (checked as each packet is written), the oldest
///   closed files are deleted. The file being written is never deleted, so
///   it alone may exceed the budget.
/// * `max_age` (`--max-age`): a closed file is deleted once it has been
///   closed this long (checked at each rotation and each
///   [`RotatingWriter::expire`]).
///
/// Names, as tcpdump's: with `file_size`, a counter is appended to the
/// (expanded) pattern — none on the first file without `max_files`, then
/// 1, 2, …; with `max_files`, on every file, zero-padded to the digits of
/// `max_files − 1`. The counter restarts with each `interval`. A rotation
/// asked for ([`RotatingWriter::rotate_now`]) moves the counter on too, so
/// without `file_size` the files are `NAME`, `NAME1`, `NAME2`, …
///
/// With an `interval`, the pattern is expanded with our own `strftime`
/// ([`strftime`](super::strftime)) in the local time zone, as tcpdump does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Start a new file when the current one exceeds this many bytes.
    pub file_size: Option<u64>,
    /// Start a new file when the current one is this old.
    pub interval: Option<Duration>,
    /// Keep at most this many files.
    pub max_files: Option<u32>,
    /// Keep the files at most this many bytes together.
    pub max_total: Option<u64>,
    /// Delete a closed file once it has been closed this long.
    pub max_age: Option<Duration>,
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
        if self.max_total == Some(0) {
            return Err(Error::config("max_total", 0, "must be at least 1 byte"));
        }
        if self.max_age.is_some_and(|a| a.is_zero()) {
            return Err(Error::config("max_age", "0 s", "must be positive"));
        }
        if let Some(t) = self.max_total.filter(|_| !self.is_active()) {
            return Err(Error::config("max_total", t, "needs a file size or an interval (one file is never deleted)"));
        }
        if let Some(a) = self.max_age.filter(|_| !self.is_active()) {
            return Err(Error::config(
                "max_age",
                format!("{} s", a.as_secs_f64()),
                "needs a file size or an interval (one file is never deleted)",
            ));
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
            (_, _) if counter > 0 => format!("{base}{counter}"),
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
    /// More interfaces after the first (pcapng), described in every file.
    extra_interfaces: Vec<Option<String>>,
    current: Option<CaptureWriter>,
    opened: Instant,
    slice: i64,
    counter: u64,
    /// Files written and still on disk, oldest first (the current one last).
    files: VecDeque<Kept>,
    /// Bytes of the closed files in `files`, as they are on disk.
    kept_bytes: u64,
    packets: u64,
    /// Records in the files already closed.
    closed: u64,
    /// Bytes of the files already closed (deleted ones too).
    closed_bytes: u64,
    /// Files opened.
    opened_files: u64,
    /// Files retention deleted.
    deleted: u64,
    /// Files retention failed to delete.
    errors: u64,
    /// Compressor stalls of the files already closed.
    stalls: u64,
}

/// A file of the set: where, how big once closed, and since when.
#[derive(Debug, Clone)]
struct Kept {
    path: PathBuf,
    bytes: u64,
    closed: Option<Instant>,
}

impl std::fmt::Debug for RotatingWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatingWriter")
            .field("pattern", &self.pattern)
            .field("rotation", &self.rotation)
            .field("files", &self.files)
            .field("packets", &self.packets)
            .field("deleted", &self.deleted)
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
            extra_interfaces: Vec::new(),
            current: None,
            opened: Instant::now(),
            slice: Timestamp::now().secs() as i64,
            counter: 0,
            files: VecDeque::new(),
            kept_bytes: 0,
            packets: 0,
            closed: 0,
            closed_bytes: 0,
            opened_files: 0,
            deleted: 0,
            errors: 0,
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

    /// Describe one more interface (pcapng files, Ethernet frames), in this
    /// file and every later one; its interface id is returned (the first
    /// interface, given to [`create`](Self::create), has id 0). Packets go
    /// to it with [`write_packet_on`](Self::write_packet_on).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a pcap file (one interface per file) or
    /// a cooked capture; writing the description failed.
    pub fn add_interface(&mut self, name: Option<&str>) -> Result<u32> {
        if let Some(w) = &mut self.current {
            w.add_interface(name)?;
        }
        self.extra_interfaces.push(name.map(str::to_owned));
        Ok(self.extra_interfaces.len() as u32)
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
        for name in &self.extra_interfaces {
            w.add_interface(name.as_deref())?;
        }
        tracing::debug!(path = %path.display(), "capture file opened");
        self.current = Some(w);
        self.opened = Instant::now();
        self.opened_files += 1;
        // A name used again (-C with -W) is the same file, overwritten.
        if let Some(i) = self.files.iter().position(|k| k.path == path) {
            let old = self.files.remove(i).expect("found");
            self.kept_bytes -= old.bytes;
        }
        self.files.push_back(Kept { path, bytes: 0, closed: None });
        if let Some(max) = self.rotation.max_files {
            while self.files.len() > max as usize && self.delete_oldest() {}
        }
        self.expire();
        self.enforce_total();
        Ok(())
    }

    /// Delete the oldest closed file of the set; `false` if there is none.
    fn delete_oldest(&mut self) -> bool {
        if self.files.len() < 2 {
            return false; // only the file being written
        }
        let Some(old) = self.files.pop_front() else { return false };
        self.kept_bytes -= old.bytes;
        match std::fs::remove_file(&old.path) {
            Ok(()) => {
                tracing::debug!(path = %old.path.display(), "capture file deleted (retention)");
                self.deleted += 1;
            }
            // Someone else removed it: it takes no room either way.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %old.path.display(), error = %e, "cannot delete an old capture file");
                self.errors += 1;
            }
        }
        true
    }

    /// Delete the oldest closed files while the set is over `max_total`.
    fn enforce_total(&mut self) {
        if let Some(max) = self.rotation.max_total {
            let current = self.current.as_ref().map_or(0, CaptureWriter::bytes);
            while self.kept_bytes + current > max && self.delete_oldest() {}
        }
    }

    /// Delete the closed files that have been closed `max_age` or longer
    /// (nothing without a `max_age`). Call it now and then while no
    /// packets come (a capture loop's idle wake-up): rotation and writing
    /// check sizes, only this and a rotation check ages.
    pub fn expire(&mut self) {
        let Some(age) = self.rotation.max_age else { return };
        while self.files.front().is_some_and(|k| k.closed.is_some_and(|c| c.elapsed() >= age)) {
            self.delete_oldest();
        }
    }

    /// Close the current file and open the next one now, whatever the
    /// size and time limits say (what `SIGHUP` does to a capture). The
    /// next name moves the counter on (`NAME1`, `NAME2`, … without `-C`).
    ///
    /// # Errors
    /// Closing or opening a file failed.
    pub fn rotate_now(&mut self) -> Result<()> {
        self.rotate()
    }

    /// Close the current file and open the next one.
    fn rotate(&mut self) -> Result<()> {
        if let Some(w) = self.current.take() {
            let bytes = w.bytes();
            self.stalls += w.stalls();
            let (n, r) = w.finish_counted(None);
            self.closed += n;
            self.closed_bytes += bytes;
            if let Some(k) = self.files.back_mut() {
                // What the disk holds (a compressed file is smaller than its records).
                k.bytes = std::fs::metadata(&k.path).map_or(bytes, |m| m.len());
                k.closed = Some(Instant::now());
                self.kept_bytes += k.bytes;
            }
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
        self.write_packet_on(0, packet)
    }

    /// Append a packet of interface `interface_id` (0, or an id from
    /// [`add_interface`](Self::add_interface)), to a new file first if one
    /// is due.
    ///
    /// # Errors
    /// An unknown interface id; writing, closing or opening a file failed.
    pub fn write_packet_on(&mut self, interface_id: u32, packet: &Packet<'_>) -> Result<()> {
        if self.current.as_ref().is_some_and(|w| self.due(w)) {
            self.rotate()?;
        }
        let w = self.current.as_mut().ok_or_else(|| Error::config("capture file", &self.pattern, "is closed"))?;
        if interface_id == 0 {
            w.write_packet(packet)?;
        } else {
            w.write_packet_on(interface_id, packet)?;
        }
        self.packets += 1;
        if let Some(max) = self.rotation.max_total
            && self.kept_bytes + w.bytes() > max
        {
            self.enforce_total();
        }
        Ok(())
    }

    /// Write every complete record of the current file to it now.
    ///
    /// # Errors
    /// Writing failed, now or earlier.
    pub fn flush(&mut self) -> Result<()> {
        self.current.as_mut().map_or(Ok(()), CaptureWriter::flush)
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
            if let Some(max) = self.rotation.max_total
                && self.kept_bytes + w.bytes() > max
            {
                self.enforce_total();
            }
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
        self.files.iter().map(|k| k.path.as_path())
    }

    /// Bytes written so far over every file, headers included (files
    /// retention deleted too).
    pub fn bytes(&self) -> u64 {
        self.closed_bytes + self.current.as_ref().map_or(0, CaptureWriter::bytes)
    }

    /// Files opened so far (the current one included).
    pub fn files_opened(&self) -> u64 {
        self.opened_files
    }

    /// Files retention deleted so far.
    pub fn files_deleted(&self) -> u64 {
        self.deleted
    }

    /// Old files retention could not delete (each one logged as a warning).
    pub fn delete_errors(&self) -> u64 {
        self.errors
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
    pub fn finish_counted(self, counts: Option<IsbCounts>) -> (u64, Result<()>) {
        self.finish_counted_each(counts.as_slice())
    }

    /// [`finish_counted`](Self::finish_counted) with statistics for each
    /// interface of a pcapng file (`counts[i]` for interface id `i`).
    pub fn finish_counted_each(mut self, counts: &[IsbCounts]) -> (u64, Result<()>) {
        match self.current.take() {
            Some(w) => {
                let (n, r) = w.finish_counted_each(counts);
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

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("netring-rotate-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn pkt(i: u32) -> crate::OwnedPacket {
        let meta =
            crate::PacketMeta { timestamp: Timestamp::new(u64::from(i), 0), original_len: 300, ..Default::default() };
        crate::OwnedPacket { data: vec![i as u8; 300], meta }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    #[cfg_attr(miri, ignore = "writes files")]
    fn a_total_budget_deletes_the_oldest_files_of_the_set_only() {
        let dir = scratch("total");
        std::fs::write(dir.join("r.pcap.other"), b"not ours").unwrap();
        // Records of 316 bytes, a new file past 1000 bytes: 4 records a file
        // (24 + 4 x 316 = 1288 bytes). 3000 bytes hold two closed files and
        // the one being written while it is below 712 bytes.
        let rot = Rotation { file_size: Some(1000), max_total: Some(3000), ..Default::default() };
        let mut w = RotatingWriter::create(&dir.join("r.pcap"), FileFormat::Pcap, 65535, LinkType::Ethernet, None, rot)
            .unwrap();
        for i in 0..22 {
            w.write_packet(&pkt(i).as_packet()).unwrap();
            let on_disk: u64 = w.files().map(|f| std::fs::metadata(f).unwrap().len()).sum();
            assert!(on_disk <= 3000 + 1288, "after {i}: {on_disk}");
        }
        assert_eq!((w.files_opened(), w.files_deleted(), w.delete_errors()), (6, 4, 0));
        w.finish(None).unwrap();
        // Files r.pcap, r.pcap1 … r.pcap5; the sixth holds 2 records (656
        // bytes), so 1288 + 1288 + 656 > 3000: only r.pcap4 and r.pcap5 stay.
        assert_eq!(names(&dir), ["r.pcap.other", "r.pcap4", "r.pcap5"]);
        let first = |f: &str| crate::pcap::Reader::open(dir.join(f)).unwrap().next_record().unwrap().unwrap().data[0];
        assert_eq!((first("r.pcap4"), first("r.pcap5")), (16, 20));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "writes files")]
    fn an_age_limit_deletes_files_closed_that_long_ago() {
        let dir = scratch("age");
        let rot = Rotation { file_size: Some(1000), max_age: Some(Duration::from_millis(300)), ..Default::default() };
        let mut w = RotatingWriter::create(&dir.join("a.pcap"), FileFormat::Pcap, 65535, LinkType::Ethernet, None, rot)
            .unwrap();
        for i in 0..9 {
            w.write_packet(&pkt(i).as_packet()).unwrap(); // a.pcap, a.pcap1 closed; a.pcap2 open
        }
        w.expire();
        assert_eq!(names(&dir), ["a.pcap", "a.pcap1", "a.pcap2"], "nothing is that old yet");
        std::thread::sleep(Duration::from_millis(350));
        w.expire();
        assert_eq!(names(&dir), ["a.pcap2"], "closed 350 ms ago: deleted; the open file stays");
        w.rotate_now().unwrap();
        assert_eq!(names(&dir), ["a.pcap2", "a.pcap3"], "just closed");
        std::thread::sleep(Duration::from_millis(350));
        w.expire();
        assert_eq!(names(&dir), ["a.pcap3"]);
        w.finish(None).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "writes files")]
    fn asked_rotations_move_the_counter_on() {
        let dir = scratch("hup");
        let rot = Rotation { interval: Some(Duration::from_secs(3600)), ..Default::default() };
        let pattern = dir.join("h-%Y.pcapng");
        let mut w =
            RotatingWriter::create(&pattern, FileFormat::PcapNg, 65535, LinkType::Ethernet, Some("a"), rot).unwrap();
        assert_eq!(w.add_interface(Some("b")).unwrap(), 1);
        w.write_packet_on(1, &pkt(1).as_packet()).unwrap();
        w.rotate_now().unwrap();
        w.write_packet_on(0, &pkt(2).as_packet()).unwrap();
        w.rotate_now().unwrap();
        assert!(w.write_packet_on(2, &pkt(3).as_packet()).is_err(), "interface 2 was never described");
        w.finish(None).unwrap();
        let y = crate::pcap::strftime::strftime_local("%Y", Timestamp::now().secs() as i64).unwrap();
        assert_eq!(names(&dir), [format!("h-{y}.pcapng"), format!("h-{y}.pcapng1"), format!("h-{y}.pcapng2")]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn retention_needs_rotation() {
        let total = Rotation { max_total: Some(5), ..Default::default() };
        assert!(total.validate().unwrap_err().to_string().contains("needs a file size or an interval"));
        let age = Rotation { max_age: Some(Duration::from_secs(1)), ..Default::default() };
        assert!(age.validate().is_err());
        assert!(Rotation { file_size: Some(1), max_total: Some(0), ..Default::default() }.validate().is_err());
        assert!(Rotation { file_size: Some(1), max_total: Some(1), ..Default::default() }.validate().is_ok());
    }
}
