//! `-w` and its companions (`-F`, `-C`, `-G`, `-W`, `--max-total`,
//! `--max-age`, `--split`, several `-i`): what file a capture writes,
//! opened only after `-Z` has dropped privileges.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use netring::pcap::{Compression, FileFormat, RotatingWriter, Rotation};
use netring::{Error, LinkType};

use super::args::Args;

/// What -w and its companions ask for.
#[derive(Clone)]
pub struct FileSpec {
    /// The path or pattern.
    pub path: PathBuf,
    /// pcap or pcapng.
    pub format: FileFormat,
    /// gzip, zstd or none.
    pub compression: Compression,
    /// Snap length recorded in the file.
    pub snaplen: u32,
    /// What the packets start with.
    pub link: LinkType,
    /// Interface name for pcapng.
    pub interface: String,
    /// More interfaces (several `-i`): interface ids 1, 2, … of the pcapng file.
    pub more_interfaces: Vec<String>,
    /// When to start a new file.
    pub rotation: Rotation,
    /// Interface names by index, for pcapng files of an `any` capture.
    pub names: Option<Arc<dyn Fn(u32) -> Option<String> + Send + Sync>>,
}

impl std::fmt::Debug for FileSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSpec").field("path", &self.path).field("rotation", &self.rotation).finish_non_exhaustive()
    }
}

impl FileSpec {
    /// Open the (first) file, for thread `member` of a split fanout.
    pub fn open(&self, member: Option<usize>) -> Result<RotatingWriter, Error> {
        let path = match member {
            Some(k) => member_path(&self.path, k),
            None => self.path.clone(),
        };
        let mut w = RotatingWriter::create_compressed(
            &path,
            self.format,
            self.compression,
            self.snaplen,
            self.link,
            Some(&self.interface),
            self.rotation,
        )?;
        if let Some(n) = &self.names {
            w.set_interface_namer(Arc::clone(n));
        }
        for name in &self.more_interfaces {
            w.add_interface(Some(name))?;
        }
        Ok(w)
    }
}

/// `out.pcap` → `out.K.pcap` (`out` → `out.K`, `out.pcap.zst` →
/// `out.K.pcap.zst`).
pub fn member_path(p: &Path, k: usize) -> PathBuf {
    let bare = netring::pcap::without_compression_ext(p);
    if bare != p
        && let Some(ext) = p.extension()
    {
        let mut m = member_path(&bare, k).into_os_string();
        m.push(".");
        m.push(ext);
        return m.into();
    }
    match (p.file_stem(), p.extension()) {
        (Some(stem), Some(ext)) => {
            p.with_file_name(format!("{}.{k}.{}", stem.to_string_lossy(), ext.to_string_lossy()))
        }
        _ => PathBuf::from(format!("{}.{k}", p.display())),
    }
}

/// What `-w` asks for (no file is opened yet: that happens after `-Z`).
pub(super) fn file_spec(a: &Args, link: LinkType) -> Result<Option<FileSpec>, Error> {
    let mut rotation = a.more.rotation();
    let Some(path) = a.write.clone() else {
        if rotation.is_active()
            || rotation.max_files.is_some()
            || rotation.max_total.is_some()
            || rotation.max_age.is_some()
        {
            return Err(Error::InvalidConfig {
                name: "-C/-G/-W/--max-total/--max-age",
                value: "without -w".into(),
                rule: "file rotation needs a file (-w)".into(),
            });
        }
        if a.interfaces.len() > 1 {
            return Err(Error::InvalidConfig {
                name: "-i",
                value: a.interfaces.join(" -i "),
                rule: "several interfaces are captured into one pcapng file: give -w FILE.pcapng".into(),
            });
        }
        if a.more.split {
            return Err(Error::InvalidConfig {
                name: "--split",
                value: "without -w".into(),
                rule: "per-thread files need a file name (-w)".into(),
            });
        }
        return Ok(None);
    };
    if let Some(interval) = rotation.interval {
        check_names_change(&path, &rotation, interval)?;
    }
    if (rotation.max_total.is_some() || rotation.max_age.is_some()) && !rotation.is_active() {
        return Err(Error::InvalidConfig {
            name: "--max-total/--max-age",
            value: path.display().to_string(),
            rule: "retention needs -C or -G: a run that writes one file never deletes it".into(),
        });
    }
    let format = a.format.or_else(|| FileFormat::from_path(&path)).unwrap_or_default();
    if a.interfaces.len() > 1 && format != FileFormat::PcapNg {
        return Err(Error::InvalidConfig {
            name: "-i",
            value: a.interfaces.join(" -i "),
            rule: format!(
                "several interfaces need a pcapng file (one interface description each); {} is pcap: name it \
                 .pcapng or add -F pcapng",
                path.display()
            ),
        });
    }
    if a.more.split && a.more.fanout > 1 {
        // N threads' sets share the budget.
        rotation.max_total = rotation.max_total.map(|t| (t / a.more.fanout as u64).max(1));
    }
    let compression = a.compress.unwrap_or_else(|| Compression::from_path(&path));
    // A cooked capture's pcapng file names each interface it saw: read the
    // names now, in the capture's namespace, while privileges allow it.
    let names = if link == LinkType::LinuxSll2 && format == FileFormat::PcapNg {
        let map: std::collections::HashMap<u32, String> =
            a.more.ns.run(netring::interface::list)?.into_iter().map(|l| (l.index, l.name)).collect();
        Some(std::sync::Arc::new(move |i: u32| map.get(&i).cloned())
            as std::sync::Arc<dyn Fn(u32) -> Option<String> + Send + Sync>)
    } else {
        None
    };
    Ok(Some(FileSpec {
        path,
        format,
        compression,
        snaplen: a.snaplen(),
        link,
        interface: a.interface().to_owned(),
        more_interfaces: a.interfaces.get(1..).unwrap_or_default().to_vec(),
        rotation,
        names,
    }))
}

/// With `-G`, each interval's file must get a new name, or it overwrites
/// the last one (tcpdump does that without a word when the name has no
/// `strftime(3)` conversion): refuse a name that two consecutive intervals
/// expand alike.
fn check_names_change(path: &Path, rotation: &Rotation, interval: std::time::Duration) -> Result<(), Error> {
    let Some(pattern) = path.to_str() else { return Ok(()) }; // RotatingWriter names non-UTF-8
    let now = netring::Timestamp::now().secs() as i64;
    let next = now + interval.as_secs_f64().ceil().max(1.0) as i64;
    if rotation.file_name(pattern, now, 0)? == rotation.file_name(pattern, next, 0)? {
        return Err(Error::InvalidConfig {
            name: "-w",
            value: pattern.into(),
            rule: format!(
                "with -G {} every new file would get the same name and overwrite the last one: put a strftime(3) \
                 time in the name, e.g. -w 'cap-%Y%m%d-%H%M%S.pcap'",
                interval.as_secs_f64()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths() {
        assert_eq!(member_path(Path::new("/tmp/a.pcap"), 2), PathBuf::from("/tmp/a.2.pcap"));
        assert_eq!(member_path(Path::new("cap"), 0), PathBuf::from("cap.0"));
        assert_eq!(member_path(Path::new("/t/c.pcapng.zst"), 1), PathBuf::from("/t/c.1.pcapng.zst"));
        assert_eq!(member_path(Path::new("c.gz"), 3), PathBuf::from("c.3.gz"));
    }

    #[test]
    fn rotation_by_time_needs_names_that_change() {
        let g = |secs: u64| Rotation { interval: Some(std::time::Duration::from_secs(secs)), ..Default::default() };
        let d = |r: &Rotation| r.interval.unwrap();
        let e = check_names_change(Path::new("fixed.pcap"), &g(1), d(&g(1))).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid -w = fixed.pcap: with -G 1 every new file would get the same name and overwrite the last one: \
             put a strftime(3) time in the name, e.g. -w 'cap-%Y%m%d-%H%M%S.pcap'"
        );
        assert!(check_names_change(Path::new("c-%Y.pcap"), &g(60), d(&g(60))).is_err(), "a year-long name");
        assert!(check_names_change(Path::new("c-%s.pcap"), &g(1), d(&g(1))).is_ok());
        assert!(check_names_change(Path::new("c-%H%M.pcap"), &g(60), d(&g(60))).is_ok());
    }
}
