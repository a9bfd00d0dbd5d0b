//! [`CapturePackets`]: a [`Capture`]'s packets one at a time, batch after
//! batch.

use std::time::Duration;

use super::block::{BlockHeader, BlockPackets};
use super::capture::Capture;
use super::ring::BlockToken;
use crate::error::Result;
use crate::filter::FilterMeta;
use crate::packet::Packet;

impl Capture {
    /// A flat, lending iterator over packets across batches.
    pub fn packets(&mut self) -> CapturePackets<'_> {
        CapturePackets { cap: self, held: None }
    }
}

/// Flat iteration over a [`Capture`]'s packets, batch after batch.
///
/// A lending iterator: each packet borrows the iterator, so take the next
/// one only after you are done with the last (copy it out with
/// [`Packet::to_owned`] to keep it). Blocks go back to the kernel as soon as
/// their last packet has been taken, and when the iterator drops.
///
/// ```no_run
/// # let mut cap = netring::Capture::open("eth0")?;
/// let mut packets = cap.packets();
/// while let Some(pkt) = packets.next_packet_blocking(None)? {
///     println!("{} bytes", pkt.len());
/// }
/// # Ok::<(), netring::Error>(())
/// ```
#[derive(Debug)]
pub struct CapturePackets<'c> {
    cap: &'c mut Capture,
    held: Option<Held>,
}

#[derive(Debug)]
struct Held {
    token: BlockToken,
    cursor: (usize, u32),
    malformed: bool,
    recheck: bool,
}

impl CapturePackets<'_> {
    /// The next packet if one is ready; never blocks.
    ///
    /// After a malformed block (never produced by a sane kernel) this returns
    /// `None` once even if more blocks are ready.
    pub fn next_packet(&mut self) -> Option<Packet<'_>> {
        loop {
            if !self.advance() {
                return None;
            }
            let held = self.held.as_mut().expect("advance holds a block");
            if !held.recheck {
                break;
            }
            // Blocks from before a filter change: skip what the new filter
            // rejects (the packet itself is taken again below).
            let program = self.cap.recheck.as_ref().map(|r| &r.program);
            let bytes = self.cap.ring.bytes(&held.token);
            let flag = std::cell::Cell::new(false);
            let mut walk = BlockPackets::resume(bytes, held.cursor, Some(&flag));
            let found = loop {
                let before = walk.cursor();
                match walk.next() {
                    None => break None,
                    Some(p) if program.is_some_and(|f| f.run(p.data(), &FilterMeta::from_packet(&p)) == 0) => {}
                    Some(_) => break Some(before),
                }
            };
            held.malformed |= flag.get();
            match found {
                Some(at) => {
                    held.cursor = at;
                    let program = self.cap.recheck.as_ref().map(|r| &r.program);
                    let held = self.held.as_mut().expect("held");
                    let bytes = self.cap.ring.bytes(&held.token);
                    let vlan = self.cap.vlan.as_deref();
                    let mut walk = BlockPackets::resume(bytes, held.cursor, None).recheck(program).vlan(vlan);
                    let pkt = walk.next();
                    held.cursor = walk.cursor();
                    return pkt;
                }
                None => {
                    held.cursor = walk.cursor();
                    held.cursor.1 = 0;
                }
            }
        }
        let held = self.held.as_mut().expect("advance holds a block");
        let bytes = self.cap.ring.bytes(&held.token);
        let mut walk = BlockPackets::resume(bytes, held.cursor, None).vlan(self.cap.vlan.as_deref());
        let pkt = walk.next();
        held.cursor = walk.cursor();
        // `advance` left packets to walk: no packet means a malformed block.
        held.malformed |= pkt.is_none();
        pkt
    }

    /// The next packet, waiting up to `timeout` for a block (`None`: no
    /// limit); `Ok(None)` when the time runs out.
    ///
    /// # Errors
    /// As [`Capture::next_batch_blocking`].
    pub fn next_packet_blocking(&mut self, timeout: Option<Duration>) -> Result<Option<Packet<'_>>> {
        if !self.advance() && !self.cap.wait_ready(timeout)? {
            return Ok(None);
        }
        Ok(self.next_packet())
    }

    /// Make sure a block with packets left is held; `false` if none is ready.
    fn advance(&mut self) -> bool {
        loop {
            match &self.held {
                Some(h) if h.cursor.1 > 0 => return true,
                Some(_) => self.release_held(),
                None => {}
            }
            let Some(token) = self.cap.ring.take() else {
                return false;
            };
            let recheck = self.cap.recheck_next_block();
            let bytes = self.cap.ring.bytes(&token);
            if let Some(v) = &mut self.cap.vlan {
                v.fill(bytes, self.cap.snaplen);
            }
            let (cursor, malformed) = match BlockHeader::parse(bytes) {
                Some(h) => {
                    let flag = std::cell::Cell::new(false);
                    (BlockPackets::new(bytes, &h, Some(&flag)).cursor(), flag.get())
                }
                None => ((0, 0), true),
            };
            self.held = Some(Held { token, cursor, malformed, recheck });
        }
    }

    fn release_held(&mut self) {
        if let Some(h) = self.held.take() {
            if h.malformed {
                self.cap.ring.note_malformed();
            }
            self.cap.ring.release(h.token);
        }
    }
}

impl Drop for CapturePackets<'_> {
    fn drop(&mut self) {
        self.release_held();
    }
}
