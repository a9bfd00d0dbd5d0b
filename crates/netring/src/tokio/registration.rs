//! The one call into tokio's reactor that carries a safety contract.
//!
//! Since tokio 1.53.3 (and 1.51.6 on its LTS line), registering a descriptor (`AsyncFd::register*`) is
//! `unsafe`: the descriptor must stay open, and keep naming the same open
//! file description, for as long as the registration lives. Rather than rest
//! that on the wrapped socket (whose owner could be swapped out through a
//! `&mut`), the registration owns a duplicate of the descriptor: readiness is
//! a property of the socket, which both descriptors name, and nobody but the
//! registration can close its duplicate.

#![allow(unsafe_code)]

use std::os::fd::{BorrowedFd, OwnedFd};

use ::tokio::io::Interest;
use ::tokio::io::unix::AsyncFd;

use super::reactor_error;
use crate::error::{Error, Result};

/// Register (a duplicate of) `fd` with the current runtime's reactor.
pub(crate) fn register(fd: BorrowedFd<'_>, interest: Interest) -> Result<AsyncFd<OwnedFd>> {
    let own = fd.try_clone_to_owned().map_err(|e| Error::from_io("fcntl(F_DUPFD_CLOEXEC)", e))?;
    // SAFETY: `own` is a descriptor we just duplicated, so it is open, and
    // the `AsyncFd` takes sole ownership of it: nothing can close it or make
    // it name another file until the `AsyncFd` deregisters and drops it (or
    // hands it back from `into_inner`), and `OwnedFd::as_raw_fd` always
    // returns that same number.
    unsafe { AsyncFd::register_with_interest(own, interest) }.map_err(|e| reactor_error(e.into()))
}
