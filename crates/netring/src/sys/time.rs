//! Local time formatting: `localtime_r(3)` + `strftime(3)`, as tcpdump
//! names its rotated files.

use std::ffi::CString;

use crate::error::{Error, Result};

/// Format `secs` (seconds since the epoch) in the local time zone with the
/// `strftime(3)` pattern `pattern` (`%Y-%m-%d_%H%M%S`, …).
///
/// # Errors
/// [`Error::InvalidConfig`] if the pattern holds a NUL byte or expands to
/// more than 4 KiB.
pub fn strftime_local(pattern: &str, secs: i64) -> Result<String> {
    if pattern.is_empty() {
        return Ok(String::new());
    }
    let c = CString::new(pattern).map_err(|_| Error::config("file name pattern", pattern, "must not contain NUL"))?;
    // SAFETY: an all-zero `struct tm` is a valid value (integers and a null
    // zone pointer); localtime_r overwrites it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: both pointers refer to live, properly aligned locals.
    if unsafe { libc::localtime_r(&raw const t, &raw mut tm) }.is_null() {
        return Err(Error::config("time", secs, "cannot be converted to local time"));
    }
    let mut buf = vec![0u8; 4096];
    // SAFETY: `buf` is writable for its length, `c` is NUL-terminated and
    // `tm` was filled by localtime_r; strftime writes at most `buf.len()`
    // bytes including the NUL.
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c.as_ptr(), &raw const tm) };
    if n == 0 {
        // Either an empty expansion (e.g. "%p" in some locales) or too long.
        return Err(Error::config("file name pattern", pattern, "expands to nothing or to more than 4 KiB"));
    }
    buf.truncate(n);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "calls into libc's time zone code")]
    fn expands_like_strftime() {
        assert_eq!(strftime_local("plain", 0).unwrap(), "plain");
        assert_eq!(strftime_local("%%s", 0).unwrap(), "%s");
        assert_eq!(strftime_local("%s", 1_700_000_000).unwrap(), "1700000000");
        let y = strftime_local("%Y", 1_700_000_000).unwrap();
        assert!(y == "2023", "{y}");
    }
}
