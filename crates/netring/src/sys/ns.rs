//! Network namespace system calls: `unshare`, `setns`, bind mounts.

use std::ffi::CString;
use std::os::fd::BorrowedFd;
use std::path::Path;

use super::cvt;
use crate::error::{Error, Result};

fn cpath(p: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::config("path", p.display(), "must not contain NUL"))
}

/// Move the calling thread into a new, empty network namespace.
pub fn unshare_net() -> Result<()> {
    // SAFETY: unshare(2) takes a flag word; CLONE_NEWNET affects only this thread.
    cvt(unsafe { libc::unshare(libc::CLONE_NEWNET) }).map(drop).map_err(|e| Error::from_io("unshare(CLONE_NEWNET)", e))
}

/// Move the calling thread into the network namespace `fd` refers to.
pub fn setns_net(fd: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: no pointer is passed; affects only this thread.
    unsafe { super::syscall(super::Syscall::SetNs { fd }) }
        .map(drop)
        .map_err(|e| Error::from_io("setns(CLONE_NEWNET)", e))
}

/// Bind-mount `src` onto `dst` (as `ip netns add` pins a namespace).
pub fn bind_mount(src: &Path, dst: &Path) -> Result<()> {
    let (s, d) = (cpath(src)?, cpath(dst)?);
    // SAFETY: both strings are NUL-terminated and outlive the call; fstype and
    // data may be null for a bind mount.
    cvt(unsafe { libc::mount(s.as_ptr(), d.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()) })
        .map(drop)
        .map_err(|e| Error::from_io("mount(MS_BIND)", e))
}

/// Lazily unmount `path` (`MNT_DETACH`).
pub fn unmount(path: &Path) -> Result<()> {
    let p = cpath(path)?;
    // SAFETY: `p` is NUL-terminated and outlives the call.
    cvt(unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH) }).map(drop).map_err(|e| Error::from_io("umount2", e))
}
