//! Network namespaces: open sockets inside a named namespace.
//!
//! A socket belongs to the namespace of the thread that created it, and
//! stays there wherever it is used afterwards. [`NetNs::run`] runs a closure
//! on a short-lived thread that has entered the namespace, so
//!
//! ```no_run
//! use netring::netns::NetNs;
//! let ns = NetNs::open("container1")?;
//! let mut cap = ns.run(|| netring::Capture::open("eth0"))??;
//! // `cap` captures inside container1, used from this thread.
//! # Ok::<(), netring::Error>(())
//! ```
//!
//! Namespaces are named as `ip netns` names them: a bind mount of the
//! namespace at `/run/netns/NAME`, so `ip netns exec NAME …` works on the
//! ones created here too. Needs `CAP_SYS_ADMIN` to create or enter a
//! namespace.

use std::fs::{self, File};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sys::errno::EINVAL;
use crate::sys::ns;

/// Where named namespaces live (as iproute2).
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// A network namespace, held open by a descriptor.
///
/// One made by [`NetNs::create`] is removed when dropped (its interfaces go
/// with it once no socket holds it any more); one opened with
/// [`NetNs::open`] is left alone.
#[derive(Debug)]
pub struct NetNs {
    name: String,
    path: PathBuf,
    file: File,
    owned: bool,
}

impl NetNs {
    /// Create a new, empty namespace named `name` (like `ip netns add`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if the name exists or is not a plain file
    /// name; [`Error::PermissionDenied`] without `CAP_SYS_ADMIN`.
    pub fn create(name: &str) -> Result<Self> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(Error::config("netns name", format!("{name:?}"), "must be a plain file name"));
        }
        fs::create_dir_all(NETNS_RUN_DIR).map_err(|e| Error::from_io("mkdir /run/netns", e))?;
        let path = Path::new(NETNS_RUN_DIR).join(name);
        match File::options().write(true).create_new(true).open(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::config("netns name", name, "already exists"));
            }
            Err(e) => return Err(Error::from_io("create /run/netns/NAME", e)),
        }
        let mount_path = path.clone();
        let pinned = std::thread::spawn(move || -> Result<()> {
            ns::unshare_net()?;
            ns::bind_mount(Path::new("/proc/thread-self/ns/net"), &mount_path)
        })
        .join()
        .unwrap_or_else(|_| Err(Error::config("netns", "thread", "panicked")));
        if let Err(e) = pinned {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        let file = File::open(&path).map_err(|e| Error::from_io("open /run/netns/NAME", e))?;
        Ok(Self { name: name.to_owned(), path, file, owned: true })
    }

    /// Open the existing namespace `name`: a name from `/run/netns`, or
    /// (any name with a `/`) a path such as `/proc/PID/ns/net` or
    /// `./ns-file`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the path if it does not exist;
    /// [`Error::File`] naming the path if it cannot be opened.
    pub fn open(name: &str) -> Result<Self> {
        let path = if name.contains('/') { PathBuf::from(name) } else { Path::new(NETNS_RUN_DIR).join(name) };
        let file = File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Error::config("netns", name, format!("no such network namespace ({} does not exist)", path.display()))
            }
            _ => Error::file("open network namespace", &path, e),
        })?;
        Ok(Self { name: name.to_owned(), path, file, owned: false })
    }

    /// Run `f` on a thread inside this namespace and return its result.
    /// Sockets `f` creates belong to the namespace for their whole life.
    ///
    /// # Errors
    /// Entering the namespace failed (`setns`); `f`'s own result is the `T`.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        std::thread::scope(|s| {
            s.spawn(|| -> Result<T> {
                ns::setns_net(self.file.as_fd()).map_err(|e| match e.raw_os_error() {
                    Some(EINVAL) => Error::config(
                        "netns",
                        &self.name,
                        format!("{} is not a network namespace (setns refused it: EINVAL)", self.path.display()),
                    ),
                    _ => e,
                })?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    /// Write a sysctl under `/proc/sys/` as seen inside this namespace,
    /// e.g. `("net/ipv6/conf/all/disable_ipv6", "1")`. A missing key (IPv6
    /// compiled out) is not an error.
    ///
    /// # Errors
    /// The write failed.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = Path::new("/proc/sys").join(key);
        self.run(|| match fs::write(&path, value) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other.map_err(|e| Error::from_io("write /proc/sys", e)),
        })?
    }

    /// The name given at creation or opening.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Path of the namespace file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if self.owned {
            let _ = ns::unmount(&self.path);
            let _ = fs::remove_file(&self.path);
        }
    }
}
