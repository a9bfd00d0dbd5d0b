//! Where `replay` takes its frames from: the whole file read once into
//! memory ([`Preloaded`], when it fits the `--preload` budget), or the file
//! read record by record on every pass ([`Streamed`]). Either way a frame
//! is a borrowed slice copied straight into a TX slot or UMEM frame:
//! nothing is allocated per frame.

use std::path::{Path, PathBuf};

use netring::Error;
use netring::pcap::Reader;

/// One frame to send: its capture time (ns since the epoch) and bytes.
pub type Frame<'a> = (u64, &'a [u8]);

/// A file's frames, pass after pass.
pub trait Frames {
    /// The next frame of this pass; `Ok(None)` at its end.
    ///
    /// # Errors
    /// A corrupt or truncated record (after every record before it), or a
    /// read error.
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, Error>;

    /// Start the next pass from the first record.
    ///
    /// # Errors
    /// The file cannot be opened again.
    fn rewind(&mut self) -> Result<(), Error>;
}

/// Where one record lives in [`Preloaded`]'s buffer.
#[derive(Debug, Clone, Copy)]
struct Entry {
    ts: u64,
    at: usize,
    len: u32,
}

/// Every record of a file in one buffer, with an index.
#[derive(Debug)]
pub struct Preloaded {
    data: Vec<u8>,
    index: Vec<Entry>,
    next: usize,
    /// What ended the load early (a corrupt record): reported once, at the
    /// end of the first pass, after the records before it were sent — as a
    /// streamed file would.
    error: Option<Error>,
}

/// Per record in memory besides its bytes: one [`Entry`].
const ENTRY: u64 = std::mem::size_of::<Entry>() as u64;

impl Preloaded {
    /// Read every record of `first` (a reader of a file whose size is
    /// `file_len`) if they take at most `budget` bytes of memory; `None`
    /// (and nothing kept) as soon as they would not.
    ///
    /// # Errors
    /// A read error. A corrupt record ends the load and is returned by
    /// [`next_frame`](Frames::next_frame) at the end of the first pass.
    pub fn load<R: std::io::Read>(mut first: Reader<R>, file_len: u64, budget: u64) -> Result<Option<Self>, Error> {
        let mut p = Self { data: Vec::new(), index: Vec::new(), next: 0, error: None };
        if file_len <= budget {
            // Records take at most the file's bytes (less for pcapng's
            // blocks): one allocation for all, except for a compressed file.
            p.data.reserve_exact(usize::try_from(file_len).unwrap_or(usize::MAX));
        }
        loop {
            let rec = match first.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e @ Error::CorruptFile { .. }) => {
                    p.error = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            };
            let need = (p.data.len() + rec.data.len()) as u64 + (p.index.len() as u64 + 1) * ENTRY;
            if need > budget {
                return Ok(None);
            }
            // Records are at most 16 MiB (the reader's limit).
            let len = u32::try_from(rec.data.len()).expect("record within the reader's limit");
            p.index.push(Entry { ts: rec.timestamp.as_nanos(), at: p.data.len(), len });
            p.data.extend_from_slice(rec.data);
        }
        p.data.shrink_to_fit();
        p.index.shrink_to_fit();
        Ok(Some(p))
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Bytes held (records and index).
    pub fn memory(&self) -> u64 {
        self.data.len() as u64 + self.index.len() as u64 * ENTRY
    }
}

impl Frames for Preloaded {
    #[inline]
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, Error> {
        match self.index.get(self.next) {
            Some(e) => {
                self.next += 1;
                Ok(Some((e.ts, &self.data[e.at..e.at + e.len as usize])))
            }
            None => self.error.take().map_or(Ok(None), Err),
        }
    }

    fn rewind(&mut self) -> Result<(), Error> {
        self.next = 0;
        Ok(())
    }
}

/// The file read record by record, reopened for every pass.
#[derive(Debug)]
pub struct Streamed {
    path: PathBuf,
    reader: Reader<netring::pcap::FileInput>,
}

impl Streamed {
    /// Stream from `first`, the open reader of `path`.
    pub fn new(path: &Path, first: Reader<netring::pcap::FileInput>) -> Self {
        Self { path: path.to_owned(), reader: first }
    }
}

impl Frames for Streamed {
    #[inline]
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, Error> {
        Ok(self.reader.next_record()?.map(|r| (r.timestamp.as_nanos(), r.data)))
    }

    fn rewind(&mut self) -> Result<(), Error> {
        self.reader = Reader::open(&self.path)?;
        Ok(())
    }
}

/// The memory the kernel could give now (`MemAvailable`), if
/// `/proc/meminfo` can be read.
pub fn mem_available() -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| parse_mem_available(&s))
}

/// `MemAvailable` of `/proc/meminfo`'s text, in bytes.
fn parse_mem_available(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let kib: u64 = l.strip_prefix("MemAvailable:")?.trim().trim_end_matches("kB").trim().parse().ok()?;
        kib.checked_mul(1024)
    })
}

#[cfg(test)]
mod tests {
    use netring::Timestamp;
    use netring::pcap::PcapWriter;

    use super::*;

    fn file(name: &str, n: u64, cut: usize) -> PathBuf {
        let p = std::env::temp_dir().join(format!("netring-source-{}-{name}", std::process::id()));
        let mut w = PcapWriter::create(&p, 65535).unwrap();
        for i in 0..n {
            w.write(Timestamp::from_nanos(1_000 * i), 60 + i as u32, &vec![i as u8; 60 + i as usize]).unwrap();
        }
        w.into_inner().unwrap();
        if cut > 0 {
            let b = std::fs::read(&p).unwrap();
            std::fs::write(&p, &b[..b.len() - cut]).unwrap();
        }
        p
    }

    fn drain(f: &mut dyn Frames) -> (Vec<(u64, usize, u8)>, Option<Error>) {
        let mut got = Vec::new();
        loop {
            match f.next_frame() {
                Ok(Some((ts, d))) => got.push((ts, d.len(), d[0])),
                Ok(None) => return (got, None),
                Err(e) => return (got, Some(e)),
            }
        }
    }

    #[test]
    fn preloaded_and_streamed_give_the_same_frames_every_pass() {
        let p = file("same.pcap", 5, 0);
        let len = std::fs::metadata(&p).unwrap().len();
        let mut pre = Preloaded::load(Reader::open(&p).unwrap(), len, 1 << 20).unwrap().unwrap();
        assert_eq!((pre.len(), pre.memory()), (5, (60 + 61 + 62 + 63 + 64) + 5 * ENTRY));
        let mut st = Streamed::new(&p, Reader::open(&p).unwrap());
        let want: Vec<_> = (0..5u64).map(|i| (1_000 * i, 60 + i as usize, i as u8)).collect();
        for _ in 0..2 {
            assert_eq!(drain(&mut pre).0, want);
            assert_eq!(drain(&mut st).0, want);
            pre.rewind().unwrap();
            st.rewind().unwrap();
        }
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn over_budget_is_none_and_a_corrupt_record_ends_the_first_pass() {
        let p = file("budget.pcap", 5, 0);
        let len = std::fs::metadata(&p).unwrap().len();
        let need = (60 + 61 + 62 + 63 + 64) + 5 * ENTRY;
        assert!(Preloaded::load(Reader::open(&p).unwrap(), len, need - 1).unwrap().is_none());
        assert!(Preloaded::load(Reader::open(&p).unwrap(), len, need).unwrap().is_some());
        std::fs::remove_file(p).unwrap();

        let p = file("cut.pcap", 5, 10);
        let mut pre = Preloaded::load(Reader::open(&p).unwrap(), 0, 1 << 20).unwrap().unwrap();
        let (got, err) = drain(&mut pre);
        assert_eq!(got.len(), 4);
        let err = err.expect("the cut record").to_string();
        assert!(err.contains("truncated record: header says 64 bytes, 54 left"), "{err}");
        pre.rewind().unwrap();
        assert_eq!(drain(&mut pre).0.len(), 4, "later passes: the valid records, no error");
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn mem_available_in_bytes() {
        assert_eq!(parse_mem_available("MemTotal: 8 kB\nMemAvailable:    4000 kB\n"), Some(4_096_000));
        assert_eq!(parse_mem_available("MemTotal: 8 kB\n"), None);
        assert!(mem_available().is_some_and(|b| b > 0), "this machine's /proc/meminfo");
    }
}
