//! `-Z USER`: give up root once the sockets are open, as tcpdump does.

use netring::Error;

/// Switch to `user` with no capabilities left, and say so on stderr.
pub fn drop_to(user: Option<&str>) -> Result<(), Error> {
    let Some(user) = user else { return Ok(()) };
    let u = netring::privilege::drop_to(user)?;
    tracing::info!(user = %u.name, uid = u.uid, gid = u.gid, "dropped privileges");
    Ok(())
}
