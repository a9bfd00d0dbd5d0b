//! Without the feature `compress`: no compressing thread. A compressed
//! file is refused when it is created, naming the feature.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use super::compress::Compression;
use crate::error::{Error, Result};

/// Never built: compressed files need the feature `compress`.
#[derive(Debug)]
pub(super) enum Compressor {}

impl Compressor {
    /// Refuses: this build has no compression.
    pub(super) fn start(_: File, _: &Path, kind: Compression, _: usize, _: Duration) -> Result<Self> {
        Err(Error::config("compression", format!("{kind:?}"), "needs netring built with the cargo feature `compress`"))
    }

    pub(super) fn written(&self) -> u64 {
        match *self {}
    }

    pub(super) fn on_disk(&self) -> u64 {
        match *self {}
    }

    pub(super) fn stalls(&self) -> u64 {
        match *self {}
    }

    pub(super) fn queue_depth(&self) -> u64 {
        match *self {}
    }

    pub(super) fn check(&self, _: &Path) -> Result<()> {
        match *self {}
    }

    pub(super) fn send(&mut self, _: &mut Vec<u8>, _: usize, _: u64, _: bool, _: &Path) -> Result<()> {
        match *self {}
    }

    pub(super) fn close(&mut self, _: &Path) -> Result<()> {
        match *self {}
    }
}
