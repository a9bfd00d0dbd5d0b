//! SIGINT / SIGTERM: turn them into a clean stop of the running verb.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use netring::Error;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Set when SIGINT or SIGTERM arrived; `on_signal` runs once, on a helper
/// thread, for the first one.
///
/// # Errors
///
/// [`Error::Io`] naming the signal handler if the handler cannot be
/// registered or its thread cannot start.
pub fn on_stop(on_signal: impl FnOnce() + Send + 'static) -> Result<Arc<AtomicBool>, Error> {
    let io = |source| Error::Io { call: "signal handler", source };
    let flag = Arc::new(AtomicBool::new(false));
    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(io)?;
    let f = Arc::clone(&flag);
    std::thread::Builder::new()
        .name("netring-signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                f.store(true, Ordering::Release);
                on_signal();
            }
        })
        .map_err(io)?;
    Ok(flag)
}
