//! Privileges: what the verbs that build their own veth links need, and
//! `-Z USER` (give up root once the sockets are open, as tcpdump does).

use netring::Error;
use netring::testkit::{Capability, VETH_CAPABILITIES, missing_capabilities};

/// Switch to `user` with no capabilities left, and say so on stderr.
pub fn drop_to(user: Option<&str>) -> Result<(), Error> {
    let Some(user) = user else { return Ok(()) };
    let u = netring::privilege::drop_to(user)?;
    tracing::info!(user = %u.name, uid = u.uid, gid = u.gid, "dropped privileges");
    Ok(())
}

/// Fail naming the missing capabilities unless `verb` (`"netring
/// selftest"`, …) can create network namespaces and veth links;
/// `it_does` says what it builds ("builds a private veth link …").
pub fn require_veth_privileges(verb: &'static str, it_does: &str) -> Result<(), Error> {
    let missing: Vec<&str> = missing_capabilities(&VETH_CAPABILITIES).into_iter().map(Capability::name).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Unsupported {
        feature: verb,
        detail: format!("it {it_does} and needs {}; run it as root", missing.join(", ")),
    })
}
