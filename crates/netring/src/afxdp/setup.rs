//! Building [`XdpSocket`]s: the UMEM, the socket and its rings, the bind
//! (with its retry and errors), the built-in program over the sockets of
//! each interface.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::Duration;

use super::config::{BindMode, ETH_HLEN, XdpMode, XdpSocketBuilder};
use super::program::BuiltIn;
use super::rx::Receiver;
use super::socket::XdpSocket;
use super::tx::Transmitter;
use super::umem::Umem;
use crate::StopHandle;
use crate::error::{Error, Result};
use crate::ring::{Consumer, Layout, Producer};
use crate::sys::xdp::{self as sx, BindError, xdp_desc, xdp_ring_offset};
use crate::sys::{Mmap, iface};

/// How long a bind retries a queue that reports busy (see `build`).
const BUSY_RETRY: Duration = Duration::from_millis(500);

impl XdpSocketBuilder {
    /// Create the socket: UMEM, rings, bind, and (for receive) the built-in
    /// XDP program, attached to the interface.
    ///
    /// The socket is created in the builder's [network namespace](Self::netns),
    /// or the calling thread's when none is set.
    /// **Receiving takes every frame of the queue away from the kernel's
    /// network stack** for as long as the socket lives (see the
    /// [module docs](crate::afxdp)).
    ///
    /// Needs `CAP_NET_RAW` (socket), `CAP_NET_ADMIN` and `CAP_BPF` (program),
    /// and `CAP_IPC_LOCK` or enough `RLIMIT_MEMLOCK` for the UMEM.
    /// Linux 5.9+ (BPF links for XDP); need-wakeup 5.4; statistics 5.9.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a value that breaks a rule (nothing is
    /// created); [`Error::InterfaceNotFound`]; [`Error::MemoryLock`] when the
    /// UMEM cannot be locked; [`Error::QueueBusy`] when another socket owns
    /// the queue; [`Error::Unsupported`] for zero-copy on a driver without
    /// it, or multi-buffer on a kernel or device without it;
    /// [`Error::XdpBusy`] / [`Error::XdpAttach`] / [`Error::BpfLoad`] from
    /// the program; [`Error::PermissionDenied`] naming the capability;
    /// [`Error::InvalidExpression`] for a [`filter`](Self::filter) that does
    /// not compile, [`Error::InvalidFilter`] for one XDP cannot run.
    pub fn build(self) -> Result<XdpSocket> {
        self.in_netns(|b| {
            let iface = b.validate()?.to_owned();
            let umem = Umem::new(b.frame_size, b.frame_count, b.huge_pages)?;
            let mut sock = b.open(&iface, b.queue, umem, None)?;
            b.attach_program(std::slice::from_mut(&mut sock))?;
            Ok(sock)
        })
    }

    /// Run `f` with this builder inside the builder's network namespace
    /// ([`netns`](Self::netns)), on a thread of its own, or right here when
    /// none is set. Every build path goes through this, so the interface
    /// names, the queue counts and the sockets all belong to that namespace.
    fn in_netns<T: Send>(mut self, f: impl FnOnce(Self) -> Result<T> + Send) -> Result<T> {
        match self.netns.take() {
            Some(ns) => crate::netns::NetNs::open(&ns)?.run(move || f(self))?,
            None => f(self),
        }
    }

    /// One socket on each of `queues` of the interface, sharing one UMEM
    /// (`XDP_SHARED_UMEM`) and one built-in program: see
    /// [`build_shared`](Self::build_shared).
    ///
    /// # Errors
    /// As [`build_shared`](Self::build_shared).
    pub fn build_queues(self, queues: &[u32]) -> Result<Vec<XdpSocket>> {
        self.in_netns(|b| {
            let iface = b.validate()?.to_owned();
            b.shared_here(queues.iter().map(|&q| (iface.clone(), q)).collect())
        })
    }

    /// One socket on every queue of the interface ([`build_queues`](Self::build_queues)
    /// with `0..n`): `n` is the interface's RX queue count for
    /// [`XdpMode::Rx`], its TX queue count for [`XdpMode::Tx`], the smaller
    /// of the two otherwise. The counts are the queues **in use**, as
    /// `ethtool -l` shows them (`ETHTOOL_GCHANNELS`; a default veth uses 1
    /// of the 2 it has), or, where the driver does not report channels,
    /// those the device was created with (`RTM_GETLINK`).
    ///
    /// # Errors
    /// As [`build_shared`](Self::build_shared).
    pub fn build_all_queues(self) -> Result<Vec<XdpSocket>> {
        self.in_netns(|b| {
            let iface = b.validate()?.to_owned();
            let q = crate::interface::queues_in_use(&iface)?;
            let n = match b.mode {
                XdpMode::Rx => q.rx,
                XdpMode::Tx => q.tx,
                _ => q.rx.min(q.tx),
            }
            .max(1);
            b.shared_here((0..n).map(|q| (iface.clone(), q)).collect())
        })
    }

    /// Sockets on several (interface, queue) pairs over **one UMEM**
    /// (`XDP_SHARED_UMEM`), in the order given. The UMEM holds
    /// `frame_count` frames for each socket and is split into disjoint
    /// partitions, one per socket: each socket only ever gives the kernel,
    /// accepts back, reads or writes frames of its own partition (a
    /// descriptor naming another partition's frame is refused and counted
    /// like any corrupt one), so the sockets can live on different threads
    /// without sharing any frame.
    ///
    /// The first socket registers the UMEM; the others bind with
    /// `XDP_SHARED_UMEM` and the first one's descriptor. Each socket gets its
    /// own fill and completion rings, as the kernel requires for sockets on
    /// other queues or devices than the UMEM's first socket. Bind flags
    /// (copy / zero-copy, need-wakeup) are the first socket's: the kernel
    /// takes them from the UMEM for the others. Each interface gets one
    /// built-in program (one XSKMAP with every socket of that interface at
    /// its queue, one BPF link), held by all its sockets and detached when
    /// the last of them drops.
    ///
    /// Every interface must be in the builder's [network namespace](Self::netns)
    /// (the calling thread's when none is set).
    /// The builder's own `interface` and `queue` are not used.
    ///
    /// Two sockets on the same queue of the same device would have to share
    /// one fill ring and one completion ring (the kernel's other
    /// `XDP_SHARED_UMEM` mode), so frames would move between their
    /// partitions: that is refused.
    ///
    /// Capabilities and kernel versions as [`build`](Self::build); sharing
    /// across queues and devices needs Linux 5.10.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for no target, a target given twice, or a
    /// value that breaks a rule; then as [`build`](Self::build), naming the
    /// failing socket's interface and queue.
    pub fn build_shared<S: Into<String>>(self, targets: impl IntoIterator<Item = (S, u32)>) -> Result<Vec<XdpSocket>> {
        let targets: Vec<(String, u32)> = targets.into_iter().map(|(i, q)| (i.into(), q)).collect();
        self.in_netns(|b| b.shared_here(targets))
    }

    /// [`build_shared`](Self::build_shared) in the calling thread's namespace.
    fn shared_here(mut self, targets: Vec<(String, u32)>) -> Result<Vec<XdpSocket>> {
        let Some((first_if, _)) = targets.first() else {
            return Err(Error::config("queues", "none", "give at least one (interface, queue)"));
        };
        self.interface = Some(first_if.clone());
        self.validate()?;
        for (i, (iface, q)) in targets.iter().enumerate() {
            iface::validate_name(iface)?;
            if targets[..i].iter().any(|(o, oq)| o == iface && oq == q) {
                return Err(Error::config(
                    "queue",
                    format!("{iface}:{q} twice"),
                    "sockets sharing a UMEM on one queue would share one fill ring; give each queue once",
                ));
            }
        }
        let n = u32::try_from(targets.len()).map_err(|_| Error::config("queues", targets.len(), "too many"))?;
        if u64::from(self.frame_size) * u64::from(self.frame_count) * u64::from(n) > 1 << 36 {
            return Err(Error::config(
                "frame_count",
                self.frame_count,
                "times the socket count makes the UMEM larger than 64 GiB",
            ));
        }
        let mut parts = Umem::split_new(self.frame_size, self.frame_count, n, self.huge_pages)?.into_iter();
        let (first_if, first_q) = &targets[0];
        let first = self.open(first_if, *first_q, parts.next().expect("n >= 1"), None)?;
        let mut socks = Vec::with_capacity(targets.len());
        for ((iface, q), umem) in targets[1..].iter().zip(parts) {
            socks.push(self.open(iface, *q, umem, Some(first.fd.as_fd()))?);
        }
        socks.insert(0, first);
        self.attach_program(&mut socks)?;
        Ok(socks)
    }

    /// Load and attach the built-in program for `socks` (one per interface),
    /// if this builder receives with it.
    fn attach_program(&self, socks: &mut [XdpSocket]) -> Result<()> {
        if !self.builtin_program {
            for rx in socks.iter_mut().filter_map(|s| s.rx.as_mut()) {
                rx.set_metadata(self.own_rx_metadata);
            }
        }
        if !(self.mode.rx() && self.builtin_program) {
            return Ok(());
        }
        // Compiled for frames as they arrive (tags in the bytes), accepting
        // whole frames: XDP delivers frames, not snap lengths.
        let filter = self
            .filter
            .as_deref()
            .map(|e| {
                // `ip broadcast` with the netmask of the (first) interface, as
                // libpcap's live programs use.
                let netmask = match socks.first() {
                    Some(s) if crate::filter::needs_netmask(e) => crate::filter::netmask_of(&s.interface),
                    _ => std::net::Ipv4Addr::UNSPECIFIED,
                };
                let options = crate::filter::expr::Options::default().netmask(netmask);
                crate::filter::expr::compile_opts(e, u32::MAX, options)
            })
            .transpose()?;
        let mut done: Vec<String> = Vec::new();
        for i in 0..socks.len() {
            let iface = socks[i].interface.clone();
            if done.contains(&iface) {
                continue;
            }
            let members: Vec<(u32, BorrowedFd<'_>)> =
                socks.iter().filter(|s| s.interface == iface).map(|s| (s.queue, s.fd.as_fd())).collect();
            let prog = Arc::new(BuiltIn::attach(
                &iface,
                &members,
                self.attach,
                self.multi_buffer,
                filter.as_ref(),
                self.rx_meta_ask(),
            )?);
            if prog.meta.placement == Some(crate::bpf::XdpRxMetaPlacement::Prefix)
                && let Ok(mtu) = iface::mtu(&iface)
                && mtu + 14 + 32 > self.frame_size - sx::XDP_PACKET_HEADROOM
            {
                tracing::warn!(
                    interface = %iface, mtu, frame_size = self.frame_size,
                    "frames longer than {} bytes will be dropped: the metadata prefix takes 32 bytes of each UMEM frame",
                    self.frame_size - sx::XDP_PACKET_HEADROOM - 32
                );
            }
            for s in socks.iter_mut().filter(|s| s.interface == iface) {
                if let Some(rx) = s.rx.as_mut() {
                    rx.set_metadata(prog.meta.placement);
                }
                s.program = Some(Arc::clone(&prog));
            }
            done.push(iface);
        }
        Ok(())
    }

    /// Socket, rings and bind of one socket over `umem`; with `shared`, over
    /// the UMEM registered by that socket. No program.
    fn open(&self, iface: &str, queue: u32, mut umem: Umem, shared: Option<BorrowedFd<'_>>) -> Result<XdpSocket> {
        let fd = sx::socket()?;
        let ifindex = iface::index(iface)?;
        let sock = fd.as_fd();

        // TX metadata is the UMEM's: sockets sharing it get what the first registered.
        let tx_meta = match (shared.is_none(), self.tx_metadata) {
            (true, true) => super::txmeta::register(&umem, sock)?,
            (true, false) => {
                umem.register(sock)?;
                super::txmeta::TxMeta::default()
            }
            (false, true) => super::txmeta::TxMeta::registered(),
            (false, false) => super::txmeta::TxMeta::default(),
        };

        let set = |opt, n: u32, call| sx::set_ring_size(sock, opt, n, call);
        set(sx::XDP_UMEM_FILL_RING, self.fill_size, "setsockopt(XDP_UMEM_FILL_RING)")?;
        set(sx::XDP_UMEM_COMPLETION_RING, self.comp_size, "setsockopt(XDP_UMEM_COMPLETION_RING)")?;
        if self.mode.rx() {
            set(sx::XDP_RX_RING, self.rx_size, "setsockopt(XDP_RX_RING)")?;
        }
        if self.mode.tx() {
            set(sx::XDP_TX_RING, self.tx_size, "setsockopt(XDP_TX_RING)")?;
        }
        if let Some(bp) = self.busy_poll {
            sx::set_busy_poll(sock, bp.usecs, bp.budget, bp.prefer)?;
        }
        let off = sx::mmap_offsets(sock)?;
        let mut fill: Producer<u64> = map_ring::<u64, _>(
            sock,
            &off.fr,
            self.fill_size,
            sx::XDP_UMEM_PGOFF_FILL_RING,
            "mmap(XDP fill ring)",
            Producer::new,
        )?;
        let comp: Consumer<u64> = map_ring::<u64, _>(
            sock,
            &off.cr,
            self.comp_size,
            sx::XDP_UMEM_PGOFF_COMPLETION_RING,
            "mmap(XDP completion ring)",
            Consumer::new,
        )?;
        let rx: Option<Consumer<xdp_desc>> = self
            .mode
            .rx()
            .then(|| {
                map_ring::<xdp_desc, _>(
                    sock,
                    &off.rx,
                    self.rx_size,
                    sx::XDP_PGOFF_RX_RING,
                    "mmap(XDP RX ring)",
                    Consumer::new,
                )
            })
            .transpose()?;
        let tx: Option<Producer<xdp_desc>> = self
            .mode
            .tx()
            .then(|| {
                map_ring::<xdp_desc, _>(
                    sock,
                    &off.tx,
                    self.tx_size,
                    sx::XDP_PGOFF_TX_RING,
                    "mmap(XDP TX ring)",
                    Producer::new,
                )
            })
            .transpose()?;

        // A socket over another's UMEM may pass no flag but XDP_SHARED_UMEM:
        // the kernel gives it the UMEM's mode and need-wakeup setting.
        let mut flags = match self.bind {
            BindMode::Auto => 0,
            BindMode::Copy => sx::XDP_COPY,
            BindMode::ZeroCopy => sx::XDP_ZEROCOPY,
        };
        if self.need_wakeup {
            flags |= sx::XDP_USE_NEED_WAKEUP;
        }
        if self.multi_buffer {
            flags |= sx::XDP_USE_SG;
        }
        if shared.is_some() {
            flags = 0;
        }
        sx::bind(sock, ifindex, queue, flags, shared, BUSY_RETRY)
            .map_err(|e| self.bind_error(iface, queue, &umem, e))?;
        let zero_copy = sx::zero_copy(sock)?;
        let meta_len = tx_meta.len;

        // Frames for receive go on the fill ring before any frame can arrive.
        let prefill = self.prefill();
        let r = fill.reserve(prefill);
        for i in 0..r.len() {
            fill.write(&r, i, umem.take_for_fill().expect("validated: prefill <= frame_count"));
        }
        fill.submit(r);

        if let Ok(mtu) = iface::mtu(iface)
            && self.mode.rx()
            && !self.multi_buffer
            && mtu + 14 > self.frame_size - sx::XDP_PACKET_HEADROOM
        {
            tracing::warn!(
                interface = %iface, mtu, frame_size = self.frame_size,
                "frames longer than {} bytes will be dropped: UMEM frame too small for the MTU (see multi_buffer)",
                self.frame_size - sx::XDP_PACKET_HEADROOM
            );
        }
        tracing::debug!(interface = %iface, queue, zero_copy, mode = ?self.mode, shared = shared.is_some(), "AF_XDP socket ready");
        Ok(XdpSocket {
            program: None,
            rx: rx.map(|r| Receiver::new(r, self.batch_size)),
            tx: {
                let mut t = Transmitter::new(tx, comp, zero_copy, self.need_wakeup);
                t.meta = tx_meta;
                t
            },
            fill,
            fd,
            umem,
            interface: iface.to_owned(),
            ifindex,
            queue,
            need_wakeup: self.need_wakeup,
            busy_poll: self.busy_poll,
            multi_buffer: self.multi_buffer,
            max_tx_len: {
                let room = (self.frame_size - meta_len) as usize;
                iface::mtu(iface).map_or(room, |m| (m as usize + ETH_HLEN).min(room))
            },
            batch_size: self.batch_size,
            stop: StopHandle::new()?,
            link: super::link::LinkWatch::new(),
        })
    }

    fn bind_error(&self, iface: &str, queue: u32, umem: &Umem, e: BindError) -> Error {
        // xsk_bind() refuses a queue beyond the active ones: the larger count
        // (Linux 6.x), or the count of each ring's direction (earlier).
        let inactive = || {
            crate::interface::queues_in_use(iface).ok().filter(|q| {
                queue >= q.rx.max(q.tx) || (self.mode.rx() && queue >= q.rx) || (self.mode.tx() && queue >= q.tx)
            })
        };
        match e {
            BindError::Busy => Error::QueueBusy { interface: iface.to_owned(), queue },
            BindError::NotSupported(_) if self.bind == BindMode::ZeroCopy => Error::Unsupported {
                feature: "AF_XDP zero-copy",
                detail: format!("the driver of {iface:?} does not support it; use BindMode::Copy or Auto"),
            },
            BindError::NoDevice => Error::InterfaceNotFound { name: iface.to_owned() },
            BindError::NoMemory(source) => {
                Error::MemoryLock { bytes: umem.len() as u64, limit: sx::memlock_limit(), source }
            }
            BindError::Invalid(_) if let Some(q) = inactive() => {
                Error::config("queue", queue, format!("is not active: {iface:?} {}", describe_queues(q)))
            }
            BindError::Invalid(e) | BindError::NotSupported(e) if self.multi_buffer => Error::Unsupported {
                feature: "AF_XDP multi-buffer (XDP_USE_SG)",
                detail: format!(
                    "bind of {iface:?} queue {queue} with XDP_USE_SG failed ({e}): needs Linux 6.6, and in zero-copy mode a driver with multi-buffer support; use BindMode::Copy or a UMEM frame as large as the MTU"
                ),
            },
            BindError::Invalid(e) => Error::Unsupported {
                feature: "AF_XDP bind",
                detail: format!(
                    "bind of {iface:?} queue {queue} refused ({e}): the kernel rejects the bind flags or the UMEM \
                     (need-wakeup needs Linux 5.4, a UMEM shared across queues or devices 5.10); try \
                     need_wakeup(false) or one socket per UMEM"
                ),
            },
            BindError::NotSupported(e) | BindError::Other(e) => Error::from_io("bind(AF_XDP)", e),
        }
    }
}

/// "has 1 active queue (queue 0; 2 possible: ethtool -L raises the count)".
fn describe_queues(q: crate::interface::QueuesInUse) -> String {
    let n = q.rx.max(q.tx);
    let active = if q.rx == q.tx {
        format!("{n} active queue{}", if n == 1 { "" } else { "s" })
    } else {
        format!("{} active RX and {} TX queues", q.rx, q.tx)
    };
    let ids = match n {
        0 => "none".to_owned(),
        1 => "queue 0".to_owned(),
        _ => format!("queues 0..={}", n - 1),
    };
    let more = match q.possible {
        Some(p) if p > n => format!("; {p} possible: ethtool -L raises the count"),
        _ => String::new(),
    };
    format!("has {active} ({ids}{more})")
}

/// mmap one ring of the socket (descriptors of type `T`) and wrap it.
fn map_ring<T, R>(
    sock: BorrowedFd<'_>,
    off: &xdp_ring_offset,
    size: u32,
    pgoff: i64,
    call: &'static str,
    wrap: impl FnOnce(Mmap, Layout, u32) -> Result<R>,
) -> Result<R> {
    let layout = Layout { producer: off.producer, consumer: off.consumer, flags: off.flags, desc: off.desc };
    let mmap = Mmap::shared(sock, layout.map_len::<T>(size), pgoff, true, call)?;
    wrap(mmap, layout, size)
}

/// The setup and error paths of `build` on the fake kernel of
/// `sys::call::fake`: no privileges needed, nothing reaches the kernel.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::call::{Syscall, fake};
    use crate::sys::xdp::{XDP_RX_RING, XDP_TX_RING, XDP_UMEM_COMPLETION_RING, XDP_UMEM_FILL_RING, XDP_UMEM_REG};

    fn builder() -> XdpSocketBuilder {
        // Small, so the heap stand-ins stay small (Miri).
        XdpSocket::builder()
            .interface("fake0")
            .frame_count(64)
            .fill_ring_size(64)
            .rx_ring_size(32)
            .tx_ring_size(16)
            .completion_ring_size(8)
            .batch_size(8)
    }

    fn build_err(b: XdpSocketBuilder) -> Error {
        match b.build() {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_build_sets_the_rings_in_order_binds_and_attaches_the_program() {
        let _k = fake::install_default();
        let sock = builder().build().unwrap();
        let calls = fake::calls();
        let sockopts: Vec<(i64, i64, Vec<u8>)> = calls
            .iter()
            .filter(|c| c.call == "setsockopt")
            .map(|c| (c.level, c.name, if c.name == i64::from(XDP_UMEM_REG) { Vec::new() } else { c.bytes.clone() }))
            .collect();
        let xdp = i64::from(sx::SOL_XDP);
        assert_eq!(
            sockopts,
            vec![
                (xdp, i64::from(XDP_UMEM_REG), vec![]),
                (xdp, i64::from(XDP_UMEM_FILL_RING), 64u32.to_ne_bytes().to_vec()),
                (xdp, i64::from(XDP_UMEM_COMPLETION_RING), 8u32.to_ne_bytes().to_vec()),
                (xdp, i64::from(XDP_RX_RING), 32u32.to_ne_bytes().to_vec()),
                (xdp, i64::from(XDP_TX_RING), 16u32.to_ne_bytes().to_vec()),
            ]
        );
        // The UMEM registered: 64 frames of 2048 bytes.
        let reg = &calls.iter().find(|c| c.name == i64::from(XDP_UMEM_REG)).unwrap().bytes;
        assert_eq!(u64::from_ne_bytes(reg[8..16].try_into().unwrap()), 64 * 2048);
        assert_eq!(u32::from_ne_bytes(reg[16..20].try_into().unwrap()), 2048);
        // One bind: AF_XDP, need-wakeup, the fake's ifindex, queue 0.
        let binds: Vec<_> = calls.iter().filter(|c| c.call == "bind").collect();
        assert_eq!(binds.len(), 1);
        let a = &binds[0].bytes;
        assert_eq!(u16::from_ne_bytes([a[0], a[1]]), sx::AF_XDP as u16);
        assert_eq!(u16::from_ne_bytes([a[2], a[3]]), sx::XDP_USE_NEED_WAKEUP);
        assert_eq!(u32::from_ne_bytes(a[4..8].try_into().unwrap()), fake::IFINDEX as u32);
        assert_eq!(u32::from_ne_bytes(a[8..12].try_into().unwrap()), 0);
        // The UMEM (anonymous, offset 0), then the four rings at their page
        // offsets; then the program: map, entry, program, link.
        let mmaps: Vec<(i64, i64)> = calls.iter().filter(|c| c.call == "mmap").map(|c| (c.name, c.len)).collect();
        assert_eq!(
            mmaps.iter().map(|m| m.0).collect::<Vec<_>>(),
            [
                0,
                sx::XDP_UMEM_PGOFF_FILL_RING,
                sx::XDP_UMEM_PGOFF_COMPLETION_RING,
                sx::XDP_PGOFF_RX_RING,
                sx::XDP_PGOFF_TX_RING
            ]
        );
        assert_eq!(mmaps[0].1, 64 * 2048, "the UMEM");
        assert_eq!(mmaps[1].1, 320 + 64 * 8, "fill ring: descriptors after the fake's offsets");
        assert_eq!(mmaps[3].1, 320 + 32 * 16, "RX ring: 32 xdp_desc");
        let bpf: Vec<i64> = calls.iter().filter(|c| c.call == "bpf").map(|c| c.name).collect();
        use crate::sys::bpf as b;
        for cmd in [b::BPF_MAP_CREATE, b::BPF_MAP_UPDATE_ELEM, b::BPF_PROG_LOAD, b::BPF_LINK_CREATE] {
            assert!(bpf.contains(&i64::from(cmd)), "bpf command {cmd} in {bpf:?}");
        }
        // RxTx: half the frames went on the fill ring, the rest are free.
        assert_eq!(sock.free_frames(), 32);
        assert_eq!((sock.interface(), sock.queue(), sock.ifindex()), ("fake0", 0, fake::IFINDEX as u32));
        assert!(!sock.zero_copy());
    }

    #[test]
    fn socket_eperm_names_cap_net_raw() {
        let _k = fake::install(|c| {
            matches!(c, Syscall::Socket { domain: sx::AF_XDP, .. }).then(|| fake::errno(fake::EPERM)).flatten()
        });
        match build_err(builder()) {
            Error::PermissionDenied { capability, call, .. } => {
                assert_eq!((capability, call), ("CAP_NET_RAW", "socket(AF_XDP)"));
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn program_load_eperm_names_cap_bpf() {
        let _k = fake::install(|c| match c {
            Syscall::Bpf { cmd: crate::sys::bpf::BPF_PROG_LOAD, .. } => fake::errno(fake::EPERM),
            _ => None,
        });
        match build_err(builder().mode(XdpMode::Rx)) {
            Error::PermissionDenied { capability, .. } => {
                assert_eq!(capability, "CAP_BPF (with CAP_NET_ADMIN to attach)")
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn a_busy_queue_is_retried_then_named() {
        let _k = fake::install(|c| matches!(c, Syscall::Bind { .. }).then(|| fake::errno(fake::EBUSY)).flatten());
        match build_err(builder().queue(3)) {
            Error::QueueBusy { interface, queue } => assert_eq!((interface.as_str(), queue), ("fake0", 3)),
            e => panic!("{e:?}"),
        }
        let binds = fake::calls().iter().filter(|c| c.call == "bind").count();
        assert!(binds > 1, "EBUSY is retried before the queue counts as taken ({binds} binds)");
    }

    #[test]
    fn a_bind_busy_for_a_moment_succeeds() {
        let mut busy = 3;
        let _k = fake::install(move |c| match c {
            Syscall::Bind { .. } if busy > 0 => {
                busy -= 1;
                fake::errno(fake::EBUSY)
            }
            _ => None,
        });
        builder().build().unwrap();
        assert_eq!(fake::calls().iter().filter(|c| c.call == "bind").count(), 4);
    }

    #[test]
    fn a_missing_interface_is_named() {
        let _k = fake::install(|c| match c {
            Syscall::Ioctl { request: fake::SIOCGIFINDEX, .. } => fake::errno(fake::ENODEV),
            _ => None,
        });
        match build_err(builder().interface("gone0")) {
            Error::InterfaceNotFound { name } => assert_eq!(name, "gone0"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn a_kernel_without_an_xdp_ring_option_is_unsupported_naming_it() {
        let _k = fake::install(|c| match c {
            Syscall::SetSockOpt { level: sx::SOL_XDP, name: XDP_TX_RING, .. } => fake::errno(fake::ENOPROTOOPT),
            _ => None,
        });
        match build_err(builder()) {
            Error::Unsupported { feature, .. } => assert!(feature.contains("XDP_TX_RING"), "{feature}"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn an_einval_bind_is_unsupported_naming_the_bind() {
        let _k = fake::install(|c| matches!(c, Syscall::Bind { .. }).then(|| fake::errno(fake::EINVAL)).flatten());
        match build_err(builder()) {
            Error::Unsupported { feature, detail } => {
                assert_eq!(feature, "AF_XDP bind");
                assert!(detail.contains("\"fake0\" queue 0"), "{detail}");
            }
            e => panic!("{e:?}"),
        }
    }

    /// A bind refused with `EINVAL` on a queue beyond the active ones names
    /// the active count, not the count the device was created with.
    #[test]
    #[cfg_attr(miri, ignore = "the fake answers ethtool through the address in ifr_data, an integer-to-pointer cast")]
    fn a_queue_beyond_the_active_ones_is_named_with_the_active_count() {
        use crate::sys::ethtool::{ethtool_channels, fake::channels_reply};
        // A default veth: 1 queue each way in use, 2 possible.
        let veth = ethtool_channels { rx_count: 1, tx_count: 1, max_rx: 2, max_tx: 2, ..Default::default() };
        for q in [1, 5] {
            let _k = fake::install(move |c| match c {
                Syscall::Bind { .. } => fake::errno(fake::EINVAL),
                c => channels_reply(c, veth),
            });
            match build_err(builder().queue(q)) {
                e @ Error::InvalidConfig { .. } => assert_eq!(
                    e.to_string(),
                    format!(
                        "invalid queue = {q}: is not active: \"fake0\" has 1 active queue (queue 0; 2 possible: \
                         ethtool -L raises the count)"
                    )
                ),
                e => panic!("{e:?}"),
            }
        }
        // Combined channels count for both directions; RX and TX may differ.
        let nic = ethtool_channels { rx_count: 2, combined_count: 4, max_combined: 8, ..Default::default() };
        let _k = fake::install(move |c| match c {
            Syscall::Bind { .. } => fake::errno(fake::EINVAL),
            c => channels_reply(c, nic),
        });
        let e = build_err(builder().queue(6)).to_string();
        assert!(
            e.ends_with("has 6 active RX and 4 TX queues (queues 0..=5; 8 possible: ethtool -L raises the count)"),
            "{e}"
        );
    }

    #[test]
    fn umem_registration_enomem_is_a_memory_lock_error() {
        let _k = fake::install(|c| match c {
            Syscall::SetSockOpt { level: sx::SOL_XDP, name: XDP_UMEM_REG, .. } => fake::errno(fake::ENOMEM),
            _ => None,
        });
        match build_err(builder()) {
            Error::MemoryLock { bytes, source, limit } => {
                assert_eq!((bytes, limit), (64 * 2048, Some(fake::MEMLOCK)));
                assert_eq!(source.raw_os_error(), Some(fake::ENOMEM));
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn a_zero_copy_bind_the_driver_refuses_is_unsupported() {
        let _k = fake::install(|c| matches!(c, Syscall::Bind { .. }).then(|| fake::errno(fake::EOPNOTSUPP)).flatten());
        match build_err(builder().bind_mode(BindMode::ZeroCopy)) {
            Error::Unsupported { feature, .. } => assert_eq!(feature, "AF_XDP zero-copy"),
            e => panic!("{e:?}"),
        }
    }
}
