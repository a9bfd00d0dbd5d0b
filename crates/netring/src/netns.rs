//! Network namespaces: open sockets inside a named namespace, and build
//! private veth links between two new namespaces (for tests, `netring
//! selftest` and `netring bench`).
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
//! namespace and `CAP_NET_ADMIN` for links.

use std::fs::{self, File};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};
use crate::sys::netlink::{self, Netlink, Request};
use crate::sys::{iface, ns};

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

    /// Open the existing namespace `name` (from `/run/netns`, or an absolute
    /// path such as `/proc/PID/ns/net`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if it does not exist.
    pub fn open(name: &str) -> Result<Self> {
        let path = if name.starts_with('/') { PathBuf::from(name) } else { Path::new(NETNS_RUN_DIR).join(name) };
        let file = File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::config("netns", name, "no such network namespace"),
            _ => Error::from_io("open netns", e),
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
                ns::setns_net(self.file.as_fd())?;
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

/// Settings for a [`VethLink`].
#[derive(Debug, Clone)]
#[must_use]
pub struct VethConfig {
    prefix: String,
    mtu: Option<u32>,
    queues: Option<u32>,
    disable_ipv6: bool,
}

impl Default for VethConfig {
    fn default() -> Self {
        Self { prefix: "nrt".into(), mtu: None, queues: None, disable_ipv6: true }
    }
}

impl VethConfig {
    /// Name prefix for namespaces and interfaces (≤ 4 bytes are kept for
    /// interface names). Default `nrt`.
    pub fn prefix(mut self, p: &str) -> Self {
        self.prefix = p.to_owned();
        self
    }

    /// MTU on both ends.
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// RX and TX queue count on both ends.
    pub fn queues(mut self, n: u32) -> Self {
        self.queues = Some(n);
        self
    }

    /// Turn IPv6 off inside both namespaces before the link exists, so it
    /// carries no DAD/MLD/RS chatter. Default on.
    pub fn disable_ipv6(mut self, on: bool) -> Self {
        self.disable_ipv6 = on;
        self
    }

    /// Create the namespaces and the link, both ends up.
    ///
    /// # Errors
    /// Namespace or link creation failed (needs `CAP_SYS_ADMIN` and
    /// `CAP_NET_ADMIN`).
    pub fn create(self) -> Result<VethLink> {
        let (pid, n) = next_id();
        let ns_a = NetNs::create(&format!("{}-{pid}-{n}-a", self.prefix))?;
        let ns_b = NetNs::create(&format!("{}-{pid}-{n}-b", self.prefix))?;
        self.link(ns_a, ns_b, pid, n)
    }

    /// Create a link between two namespaces that already exist (for
    /// topologies of more than two namespaces, e.g. `ns1:x — ns2:(y, z) —
    /// ns3:w`), both ends up. The returned [`VethLink`] holds the namespaces
    /// open but does not own them: the link goes away when either namespace
    /// is removed (or with [`End::delete`]).
    ///
    /// # Errors
    /// As [`create`](Self::create).
    pub fn create_between(self, a: &NetNs, b: &NetNs) -> Result<VethLink> {
        let (pid, n) = next_id();
        let reopen = |ns: &NetNs| match ns.path().to_str() {
            Some(p) => NetNs::open(p),
            None => Err(Error::config("netns path", ns.path().display(), "must be UTF-8")),
        };
        self.link(reopen(a)?, reopen(b)?, pid, n)
    }

    fn link(self, ns_a: NetNs, ns_b: NetNs, pid: u32, n: u32) -> Result<VethLink> {
        let short: String = self.prefix.chars().take(4).collect();
        let tag = format!("{pid:x}x{n:x}");
        let (name_a, name_b) = (format!("{short}{tag}a"), format!("{short}{tag}b"));
        iface::validate_name(&name_a)?;
        if self.disable_ipv6 {
            for ns in [&ns_a, &ns_b] {
                ns.sysctl("net/ipv6/conf/all/disable_ipv6", "1")?;
                ns.sysctl("net/ipv6/conf/default/disable_ipv6", "1")?;
            }
        }
        let nl_a = ns_a.run(Netlink::open)??;
        let nl_b = ns_b.run(Netlink::open)??;

        let mut req = Request::link(netlink::RTM_NEWLINK, true, 0, 0, 0);
        req.attr_str(netlink::IFLA_IFNAME, &name_a);
        self.common_attrs(&mut req);
        req.begin_nest(netlink::IFLA_LINKINFO)
            .attr_str(netlink::IFLA_INFO_KIND, "veth")
            .begin_nest(netlink::IFLA_INFO_DATA)
            .begin_nest(netlink::VETH_INFO_PEER)
            .ifinfomsg(0, 0, 0)
            .attr_str(netlink::IFLA_IFNAME, &name_b)
            .attr_u32(netlink::IFLA_NET_NS_FD, std::os::fd::AsRawFd::as_raw_fd(&ns_b.file) as u32);
        self.common_attrs(&mut req);
        req.end_nest().end_nest().end_nest();
        nl_a.request(&mut req, "netlink(RTM_NEWLINK veth)")?;

        let index_a = ns_a.run(|| iface::index(&name_a))??;
        let index_b = ns_b.run(|| iface::index(&name_b))??;
        set_up(&nl_a, index_a)?;
        set_up(&nl_b, index_b)?;
        wait_active(&nl_a, index_a)?;
        wait_active(&nl_b, index_b)?;
        Ok(VethLink {
            a: End { ns: ns_a, name: name_a, ifindex: index_a },
            b: End { ns: ns_b, name: name_b, ifindex: index_b },
        })
    }

    fn common_attrs(&self, req: &mut Request) {
        if let Some(mtu) = self.mtu {
            req.attr_u32(netlink::IFLA_MTU, mtu);
        }
        if let Some(q) = self.queues {
            req.attr_u32(netlink::IFLA_NUM_TX_QUEUES, q);
            req.attr_u32(netlink::IFLA_NUM_RX_QUEUES, q);
        }
    }
}

/// This process's id and a fresh counter value, for unique names.
fn next_id() -> (u32, u32) {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    (std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A namespace name no other [`VethConfig`] or call of this function in
/// this process uses: `PREFIX-PID-N-c`.
pub fn unique_name(prefix: &str) -> String {
    let (pid, n) = next_id();
    format!("{prefix}-{pid}-{n}-c")
}

fn set_up(nl: &Netlink, index: u32) -> Result<()> {
    let flag = crate::sys::iface::IFF_UP;
    nl.request(&mut Request::link(netlink::RTM_NEWLINK, false, index as i32, flag, flag), "netlink(RTM_NEWLINK up)")
}

/// Wait until the kernel has activated an interface that was just set up.
///
/// Until the link-watch work queue runs `linkwatch_do_dev()` — rate-limited
/// to once a second, later on a loaded machine — the device's qdisc is
/// `noop`, which drops every frame while a TX ring still reports it sent. The
/// same step sets the operational state, so both are checked.
fn wait_active(nl: &Netlink, index: u32) -> Result<()> {
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(10);
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let l = nl.get_link(index)?;
        if l.operstate == 6 && !l.qdisc.is_empty() && l.qdisc != "noop" {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(Error::Io {
                call: "waiting for the veth link to become active",
                source: std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("ifindex {index}: operstate {}, qdisc {:?} after {LIMIT:?}", l.operstate, l.qdisc),
                ),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn set_down(nl: &Netlink, index: u32) -> Result<()> {
    let flag = crate::sys::iface::IFF_UP;
    nl.request(&mut Request::link(netlink::RTM_NEWLINK, false, index as i32, 0, flag), "netlink(RTM_NEWLINK down)")
}

/// One end of a [`VethLink`]: its namespace, interface name and index.
#[derive(Debug)]
pub struct End {
    /// The namespace this end lives in.
    pub ns: NetNs,
    /// Interface name inside `ns`.
    pub name: String,
    /// Interface index inside `ns`.
    pub ifindex: u32,
}

impl End {
    /// Run `f` inside this end's namespace (see [`NetNs::run`]).
    ///
    /// # Errors
    /// Entering the namespace failed.
    pub fn run<T: Send>(&self, f: impl FnOnce(&str) -> T + Send) -> Result<T> {
        self.ns.run(|| f(&self.name))
    }

    /// Set the interface administratively down.
    ///
    /// # Errors
    /// The netlink request failed.
    pub fn set_down(&self) -> Result<()> {
        set_down(&self.ns.run(Netlink::open)??, self.ifindex)
    }

    /// Set the interface administratively up.
    ///
    /// # Errors
    /// The netlink request failed.
    pub fn set_up(&self) -> Result<()> {
        set_up(&self.ns.run(Netlink::open)??, self.ifindex)
    }

    /// Delete the interface (and with it, the peer).
    ///
    /// # Errors
    /// The netlink request failed.
    pub fn delete(&self) -> Result<()> {
        let nl = self.ns.run(Netlink::open)??;
        nl.request(&mut Request::link(netlink::RTM_DELLINK, false, self.ifindex as i32, 0, 0), "netlink(RTM_DELLINK)")
    }
}

/// A veth pair between two private namespaces, both ends up, removed on
/// drop with its namespaces.
///
/// ```no_run
/// let link = netring::netns::VethConfig::default().create()?;
/// let mut cap = link.b.run(|name| netring::Capture::open(name))??;
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug)]
pub struct VethLink {
    /// End "a".
    pub a: End,
    /// End "b".
    pub b: End,
}

impl VethLink {
    /// A link with default settings (IPv6 off).
    ///
    /// # Errors
    /// As [`VethConfig::create`].
    pub fn new() -> Result<Self> {
        VethConfig::default().create()
    }
}
