//! Which clock stamps received packets: the kernel's (software) or the
//! device's (hardware), through `SO_TIMESTAMPING` and `PACKET_TIMESTAMP`.
//!
//! From `Documentation/networking/packet_mmap.rst` ("PACKET_TIMESTAMP") and
//! `timestamping.rst`:
//!
//! * The ring's per-packet stamp (`tp_sec`/`tp_nsec`) comes from the clock
//!   `PACKET_TIMESTAMP` names: `SOF_TIMESTAMPING_RAW_HARDWARE` makes the
//!   kernel use the device's stamp when the skb carries one (status bit
//!   `TP_STATUS_TS_RAW_HARDWARE`), and fall back per packet to the software
//!   stamp (`TP_STATUS_TS_SOFTWARE`) otherwise.
//! * A device only stamps packets once its driver was told to:
//!   `SIOCSHWTSTAMP` with an `rx_filter` (here `HWTSTAMP_FILTER_ALL`), which
//!   needs `CAP_NET_ADMIN` and is device-wide. `ETHTOOL_GET_TS_INFO` (what
//!   `ethtool -T` prints) says first whether the device can at all: the
//!   `SOF_TIMESTAMPING_RAW_HARDWARE` capability and a PTP hardware clock
//!   index (`phc_index` ≥ 0).
//! * `SO_TIMESTAMPING` with `SOF_TIMESTAMPING_RX_HARDWARE |
//!   SOF_TIMESTAMPING_RAW_HARDWARE` (or the `_SOFTWARE` pair) is set on the
//!   socket too, as the documentation asks, so that stamps are generated for
//!   it.
//!
//! A device without a hardware clock (veth, loopback, most virtual
//! devices) gets software stamps instead; the fallback is logged once per
//! process and reported by [`Capture::timestamping`](crate::Capture::timestamping).

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::packet::TimestampSource;
use crate::sys::{errno, ethtool, packet as pk, tpacket as tp};

/// Which clock to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Timestamping {
    /// The kernel's clock when the packet reached the socket layer
    /// (`SOF_TIMESTAMPING_RX_SOFTWARE`). The default; tcpdump's `-j host`.
    #[default]
    Software,
    /// The device's clock (`SOF_TIMESTAMPING_RAW_HARDWARE`), falling back to
    /// software stamps, logged once, on a device without one. tcpdump's
    /// `-j adapter_unsynced`. Needs `CAP_NET_ADMIN` on a device that has a
    /// clock (`SIOCSHWTSTAMP`).
    Hardware,
    /// As [`Hardware`](Self::Hardware), but a device without a hardware
    /// clock is an error ([`Error::Unsupported`]) instead of a fallback.
    HardwareOnly,
}

/// What the capture asked for and got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampInfo {
    /// What was asked for.
    pub requested: Timestamping,
    /// The clock the socket was set up for: [`TimestampSource::Hardware`] or
    /// [`TimestampSource::Software`]. Each packet still says which clock
    /// stamped it ([`PacketMeta::timestamp_source`](crate::PacketMeta::timestamp_source)):
    /// a device may leave some packets unstamped.
    pub source: TimestampSource,
    /// Why hardware stamps were not used, when they were asked for and not
    /// granted.
    pub fallback: Option<String>,
}

static FALLBACK_LOGGED: AtomicBool = AtomicBool::new(false);

/// Why `interface` cannot give hardware stamps, if it cannot; when it can,
/// its receive stamping is switched on (`SIOCSHWTSTAMP`, device-wide).
pub(crate) fn hardware_unavailable(interface: &str) -> Result<Option<String>> {
    let info = match ethtool::ts_info(interface) {
        Ok(i) => i,
        Err(Error::Io { source, .. }) if source.raw_os_error() == Some(errno::EOPNOTSUPP) => {
            return Ok(Some(format!(
                "{interface} does not report time stamping capabilities (ETHTOOL_GET_TS_INFO: EOPNOTSUPP)"
            )));
        }
        Err(e) => return Err(e),
    };
    if info.so_timestamping & tp::SOF_TIMESTAMPING_RAW_HARDWARE == 0 || info.phc_index < 0 {
        return Ok(Some(format!(
            "{interface} has no hardware clock (ETHTOOL_GET_TS_INFO: phc_index {}, capabilities {:#x} without SOF_TIMESTAMPING_RAW_HARDWARE)",
            info.phc_index, info.so_timestamping
        )));
    }
    match ethtool::enable_rx_hwtstamp(interface) {
        Ok(_) => Ok(None),
        Err(e @ Error::PermissionDenied { .. }) => Err(e),
        Err(e) => Ok(Some(format!("{interface} refused to stamp received packets ({e})"))),
    }
}

/// Set up time stamping on a capture socket bound (or about to be bound)
/// to `interface` (`None`: every interface, software only).
pub(crate) fn configure(
    sock: BorrowedFd<'_>,
    interface: Option<&str>,
    requested: Timestamping,
) -> Result<TimestampInfo> {
    let mut fallback = None;
    let hardware = match (requested, interface) {
        (Timestamping::Software, _) => false,
        (_, None) => {
            fallback = Some("hardware stamps need one interface, not all of them".to_owned());
            false
        }
        (_, Some(name)) => {
            fallback = hardware_unavailable(name)?;
            fallback.is_none()
        }
    };
    if let Some(why) = &fallback {
        if requested == Timestamping::HardwareOnly {
            return Err(Error::Unsupported { feature: "hardware time stamps", detail: why.clone() });
        }
        if !FALLBACK_LOGGED.swap(true, Ordering::Relaxed) {
            tracing::warn!("hardware time stamps unavailable, using software stamps: {why}");
        } else {
            tracing::debug!("hardware time stamps unavailable, using software stamps: {why}");
        }
    }
    let (so_flags, packet_flags) = if hardware {
        (tp::SOF_TIMESTAMPING_RX_HARDWARE | tp::SOF_TIMESTAMPING_RAW_HARDWARE, tp::SOF_TIMESTAMPING_RAW_HARDWARE)
    } else {
        (tp::SOF_TIMESTAMPING_RX_SOFTWARE | tp::SOF_TIMESTAMPING_SOFTWARE, tp::SOF_TIMESTAMPING_SOFTWARE)
    };
    pk::set_timestamping(sock, so_flags, packet_flags)?;
    let source = if hardware { TimestampSource::Hardware } else { TimestampSource::Software };
    Ok(TimestampInfo { requested, source, fallback })
}
