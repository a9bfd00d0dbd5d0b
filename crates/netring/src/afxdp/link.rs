//! [`LinkWatch`]: noticing that an AF_XDP socket's interface went down or
//! was deleted, which the kernel never reports as an event.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::sys::xdp::{self as sx, LinkState};

/// How often a receive wait with nothing to read looks at the interface.
/// AF_PACKET's wait re-checks a downed interface at the same pace.
pub(crate) const LINK_CHECK: Duration = Duration::from_millis(100);

/// The interface's state as a socket last saw it. `poll(2)` on an AF_XDP
/// socket reports neither the interface going down nor its deletion
/// ([`sx::link_state`] says why), so a wait that finds nothing to read
/// looks by itself, at most every [`LINK_CHECK`].
#[derive(Debug)]
pub(crate) struct LinkWatch {
    /// Reported down; not again until it was seen up.
    down: bool,
    /// Deleted: every later look says so at once.
    gone: bool,
    /// When the interface was last looked at.
    checked: Instant,
}

impl LinkWatch {
    pub(crate) fn new() -> Self {
        Self { down: false, gone: false, checked: Instant::now() }
    }

    /// Look at the interface if [`LINK_CHECK`] passed since the last look
    /// (at once when it is known to be gone).
    ///
    /// # Errors
    /// [`Error::InterfaceGone`] once the socket was unbound, and on every
    /// later call; [`Error::InterfaceDown`] once when the interface goes
    /// down (later calls wait as usual, and look again, until it is up).
    pub(crate) fn check(&mut self, fd: BorrowedFd<'_>, interface: &str) -> Result<()> {
        if self.gone {
            return Err(Error::InterfaceGone { name: interface.to_owned() });
        }
        if self.checked.elapsed() < LINK_CHECK {
            return Ok(());
        }
        self.checked = Instant::now();
        match sx::link_state(fd) {
            LinkState::Up => {
                self.down = false;
                Ok(())
            }
            LinkState::Down if self.down => Ok(()),
            LinkState::Down => {
                self.down = true;
                Err(Error::InterfaceDown { name: interface.to_owned() })
            }
            LinkState::Gone => {
                self.gone = true;
                Err(Error::InterfaceGone { name: interface.to_owned() })
            }
        }
    }

    /// Take over what another socket on the same interface just reported
    /// (`err`), so that a set of sockets reports it once.
    pub(crate) fn learn(&mut self, err: &Error) {
        match err {
            Error::InterfaceDown { .. } => self.down = true,
            Error::InterfaceGone { .. } => self.gone = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_sibling_socket_reported_is_taken_over_and_gone_is_sticky() {
        let mut w = LinkWatch::new();
        w.learn(&Error::InterfaceDown { name: "x0".into() });
        assert!(w.down && !w.gone);
        w.learn(&Error::Stopped);
        assert!(w.down && !w.gone, "other errors say nothing about the link");
        w.learn(&Error::InterfaceGone { name: "x0".into() });
        // Known gone: said at once, without looking (no system call).
        let fd = crate::sys::EventFd::new().unwrap();
        for _ in 0..2 {
            match w.check(fd.as_fd(), "x0") {
                Err(Error::InterfaceGone { name }) => assert_eq!(name, "x0"),
                r => panic!("{r:?}"),
            }
        }
    }
}
