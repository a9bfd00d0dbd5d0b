//! Credentials: look a user up, switch to it, clear capabilities
//! (`getpwnam_r(3)`, `setgroups(2)`, `setresgid(2)`, `setresuid(2)`,
//! `capset(2)`, `prctl(PR_CAP_AMBIENT)`).

use std::ffi::{CStr, CString};

use super::cvt;
use crate::error::{Error, Result};

/// A user's ids and home, from the passwd database (NSS included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// Look `name` up with `getpwnam_r(3)`; a decimal number is taken as a uid
/// whose primary group is the same number when the database has no entry.
///
/// # Errors
/// [`Error::InvalidConfig`] when no such user exists.
pub fn lookup_user(name: &str) -> Result<User> {
    let c = CString::new(name).map_err(|_| Error::config("user", name, "must not contain NUL"))?;
    // SAFETY: an all-zero `struct passwd` is valid (integers and null pointers).
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to a live local of the right type; `buf`
    // is writable for its length; getpwnam_r stores into `pw` and sets `out`.
    let rc = unsafe { libc::getpwnam_r(c.as_ptr(), &raw mut pw, buf.as_mut_ptr(), buf.len(), &raw mut out) };
    if rc == 0 && !out.is_null() {
        // SAFETY: on success pw_name points to a NUL-terminated string in `buf`.
        let n = unsafe { CStr::from_ptr(pw.pw_name) }.to_string_lossy().into_owned();
        return Ok(User { name: n, uid: pw.pw_uid, gid: pw.pw_gid });
    }
    match name.parse::<u32>() {
        Ok(uid) => Ok(User { name: name.to_owned(), uid, gid: uid }),
        Err(_) => Err(Error::config("user", name, "no such user in the passwd database")),
    }
}

/// `_LINUX_CAPABILITY_VERSION_3`
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Switch the whole process to `user` (supplementary groups dropped, then
/// gid, then uid — real, effective and saved), then clear every capability
/// of the calling thread (effective, permitted, inheritable, ambient).
///
/// glibc applies `setgroups`/`setresgid`/`setresuid` to every thread of the
/// process; leaving uid 0 clears the capabilities of every thread too.
/// `capset` only affects the calling thread.
///
/// # Errors
/// The call that failed, e.g. `setresuid` without `CAP_SETUID`.
pub fn switch_user(user: &User) -> Result<()> {
    let gid = user.gid as libc::gid_t;
    // SAFETY: setgroups with one gid from a live local.
    cvt(unsafe { libc::setgroups(1, &raw const gid) }).map_err(|e| Error::from_io("setgroups", e)).map(drop)?;
    // SAFETY: plain integer arguments.
    cvt(unsafe { libc::setresgid(gid, gid, gid) }).map_err(|e| Error::from_io("setresgid", e))?;
    let uid = user.uid as libc::uid_t;
    // SAFETY: plain integer arguments.
    cvt(unsafe { libc::setresuid(uid, uid, uid) }).map_err(|e| Error::from_io("setresuid", e))?;
    clear_capabilities()
}

/// Clear the calling thread's capabilities: ambient (`PR_CAP_AMBIENT_CLEAR_ALL`),
/// then effective, permitted and inheritable (`capset`).
///
/// # Errors
/// `prctl` or `capset` failed.
pub fn clear_capabilities() -> Result<()> {
    // SAFETY: prctl with integer arguments; clearing the ambient set needs no privilege.
    let r = unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        // EINVAL: a kernel without ambient capabilities (before 4.3): nothing to clear.
        if e.raw_os_error() != Some(libc::EINVAL) {
            return Err(Error::from_io("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", e));
        }
    }
    let mut header = CapHeader { version: CAPABILITY_VERSION_3, pid: 0 };
    let data = [CapData::default(); 2];
    // SAFETY: capset reads a v3 header and two data structs from live locals.
    cvt(unsafe { libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) as libc::c_int })
        .map_err(|e| Error::from_io("capset", e))
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "reads the passwd database through NSS")]
    fn root_and_numbers_resolve_and_strangers_do_not() {
        let root = lookup_user("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(lookup_user("4242").unwrap().uid, 4242);
        let e = lookup_user("nrt-no-such-user").unwrap_err();
        assert!(e.to_string().contains("no such user"), "{e}");
    }
}
