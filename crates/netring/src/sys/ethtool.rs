//! The `SIOCETHTOOL` ioctl: driver name and channel (queue) counts
//! (`include/uapi/linux/ethtool.h`).

use std::os::fd::AsFd;

use super::iface::{IFNAMSIZ, validate_name};
use crate::error::{Error, Result};

/// `ETHTOOL_GDRVINFO`
const ETHTOOL_GDRVINFO: u32 = 0x0000_0003;
/// `ETHTOOL_GCHANNELS`
const ETHTOOL_GCHANNELS: u32 = 0x0000_003c;

/// `struct ethtool_drvinfo`
#[repr(C)]
#[derive(Clone, Copy)]
struct ethtool_drvinfo {
    cmd: u32,
    driver: [u8; 32],
    version: [u8; 32],
    fw_version: [u8; 32],
    bus_info: [u8; 32],
    erom_version: [u8; 32],
    reserved2: [u8; 12],
    n_priv_flags: u32,
    n_stats: u32,
    testinfo_len: u32,
    eedump_len: u32,
    regdump_len: u32,
}

/// `struct ethtool_channels`
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ethtool_channels {
    pub cmd: u32,
    pub max_rx: u32,
    pub max_tx: u32,
    pub max_other: u32,
    pub max_combined: u32,
    pub rx_count: u32,
    pub tx_count: u32,
    pub other_count: u32,
    pub combined_count: u32,
}

/// `ETHTOOL_GET_TS_INFO`
const ETHTOOL_GET_TS_INFO: u32 = 0x0000_0041;

/// `struct ethtool_ts_info`: what time stamping a device supports.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ethtool_ts_info {
    pub cmd: u32,
    /// `SOF_TIMESTAMPING_*` bits the device supports.
    pub so_timestamping: u32,
    /// Index of the device's PTP hardware clock, -1 without one.
    pub phc_index: i32,
    pub tx_types: u32,
    pub tx_reserved: [u32; 3],
    /// Bit mask of `HWTSTAMP_FILTER_*` values supported.
    pub rx_filters: u32,
    pub rx_reserved: [u32; 3],
}

/// `struct hwtstamp_config` (`SIOCSHWTSTAMP`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct hwtstamp_config {
    pub flags: i32,
    pub tx_type: i32,
    pub rx_filter: i32,
}

/// `SIOCSHWTSTAMP`
const SIOCSHWTSTAMP: libc::c_ulong = 0x89b0;
/// `HWTSTAMP_FILTER_ALL`: stamp every received packet.
pub const HWTSTAMP_FILTER_ALL: i32 = 1;

const _: () = {
    assert!(std::mem::size_of::<ethtool_ts_info>() == 44);
    assert!(std::mem::size_of::<hwtstamp_config>() == 12);
    assert!(std::mem::size_of::<ethtool_drvinfo>() == 196);
    assert!(std::mem::size_of::<ethtool_channels>() == 36);
};

/// Run one ethtool command whose struct starts with `cmd` at `buf`.
fn ethtool<T>(name: &str, buf: &mut T, call: &'static str) -> Result<()> {
    ifreq_data_ioctl(name, libc::SIOCETHTOOL, buf, call)
}

/// An ioctl that takes a `struct ifreq` whose `ifr_data` points at `buf`.
fn ifreq_data_ioctl<T>(name: &str, request: libc::c_ulong, buf: &mut T, call: &'static str) -> Result<()> {
    validate_name(name)?;
    let fd = super::socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0, "socket(AF_UNIX)")?;
    // `struct ifreq`: the name, then `ifr_data` (a pointer) in the union.
    let mut req = [0u8; 40];
    req[..name.len()].copy_from_slice(name.as_bytes());
    req[IFNAMSIZ..IFNAMSIZ + 8].copy_from_slice(&(std::ptr::from_mut(buf) as u64).to_ne_bytes());
    // SAFETY: the data pointer in `req` refers to `buf`, a writable struct of
    // the type the request (and, for SIOCETHTOOL, the command in its first
    // word) names; both outlive the call.
    let ret = unsafe { super::syscall(super::Syscall::Ioctl { fd: fd.as_fd(), request, arg: &mut req }) };
    if let Err(e) = ret {
        return Err(match e.raw_os_error() {
            Some(libc::ENODEV) => Error::InterfaceNotFound { name: name.to_owned() },
            _ => Error::from_io(call, e),
        });
    }
    Ok(())
}

fn c_str(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Driver name, version and bus address of `name` (`ETHTOOL_GDRVINFO`).
pub fn driver(name: &str) -> Result<(String, String, String)> {
    // SAFETY: an all-zero ethtool_drvinfo is valid (integers and byte arrays).
    let mut info: ethtool_drvinfo = unsafe { std::mem::zeroed() };
    info.cmd = ETHTOOL_GDRVINFO;
    ethtool(name, &mut info, "ioctl(SIOCETHTOOL, ETHTOOL_GDRVINFO)")?;
    Ok((c_str(&info.driver), c_str(&info.version), c_str(&info.bus_info)))
}

/// Channel counts of `name` (`ETHTOOL_GCHANNELS`); `EOPNOTSUPP` when the
/// driver does not report them.
pub fn channels(name: &str) -> Result<ethtool_channels> {
    let mut ch = ethtool_channels { cmd: ETHTOOL_GCHANNELS, ..Default::default() };
    ethtool(name, &mut ch, "ioctl(SIOCETHTOOL, ETHTOOL_GCHANNELS)")?;
    Ok(ch)
}

/// Time stamping capabilities of `name` (`ETHTOOL_GET_TS_INFO`, what
/// `ethtool -T` shows).
pub fn ts_info(name: &str) -> Result<ethtool_ts_info> {
    let mut info = ethtool_ts_info { cmd: ETHTOOL_GET_TS_INFO, ..Default::default() };
    ethtool(name, &mut info, "ioctl(SIOCETHTOOL, ETHTOOL_GET_TS_INFO)")?;
    Ok(info)
}

/// Turn on hardware receive time stamps for every packet on `name`
/// (`SIOCSHWTSTAMP`, `HWTSTAMP_FILTER_ALL`, transmit stamps left off).
/// Needs `CAP_NET_ADMIN`. Returns the configuration the driver applied
/// (it may widen the filter).
pub fn enable_rx_hwtstamp(name: &str) -> Result<hwtstamp_config> {
    let mut cfg = hwtstamp_config { flags: 0, tx_type: 0, rx_filter: HWTSTAMP_FILTER_ALL };
    ifreq_data_ioctl(name, SIOCSHWTSTAMP, &mut cfg, "ioctl(SIOCSHWTSTAMP)")?;
    Ok(cfg)
}

/// Replies for the fake kernel of [`sys::call::fake`](super::call::fake).
#[cfg(test)]
pub mod fake {
    use std::io;

    use super::{ETHTOOL_GCHANNELS, IFNAMSIZ, ethtool_channels};
    use crate::sys::call::Syscall;

    /// Answer an `ETHTOOL_GCHANNELS` request with `ch` (as a driver's
    /// `get_channels` would); `None` for any other call.
    pub fn channels_reply(call: &mut Syscall<'_>, ch: ethtool_channels) -> Option<io::Result<i64>> {
        let Syscall::Ioctl { request: libc::SIOCETHTOOL, arg, .. } = call else { return None };
        let at = u64::from_ne_bytes(arg[IFNAMSIZ..IFNAMSIZ + 8].try_into().ok()?) as usize;
        let ptr = at as *mut ethtool_channels;
        // SAFETY: `ifreq_data_ioctl` put the address of the caller's command
        // struct in `ifr_data`; every ethtool struct starts with its `u32`
        // command, and the struct outlives the call being answered.
        if unsafe { ptr.cast::<u32>().read() } != ETHTOOL_GCHANNELS {
            return None;
        }
        // SAFETY: the command says the struct is an `ethtool_channels`
        // (`channels()` built it), writable and alive during the call.
        unsafe { ptr.write(ethtool_channels { cmd: ETHTOOL_GCHANNELS, ..ch }) };
        Some(Ok(0))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_has_no_driver_info_or_says_so() {
        // `lo` has no get_drvinfo; the kernel fills in nothing or refuses.
        match super::driver("lo") {
            Ok((d, _, _)) => assert!(d.is_empty() || d.is_ascii()),
            Err(e) => assert!(e.to_string().contains("ETHTOOL_GDRVINFO"), "{e}"),
        }
    }
}
