//! Writing a stream to a file the safe way: into a temporary file beside
//! the target, in its folder opened beneath the `[fs]` root (so a folder
//! swapped for a link while a long dump runs moves nothing), compressed (optionally) and hashed in a thread of its own
//! so the reader never waits on gzip, and renamed into place only when
//! the producer says it succeeded. A failed or dropped sink leaves
//! nothing behind, so a half-written backup can never pass for a good one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use sha2::Digest;

/// A writer that hashes what passes through and counts it.
struct Hashing<W: Write> {
    inner: W,
    hash: sha2::Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What landed on disk.
pub struct Written {
    pub bytes: u64,
    pub sha256: String,
}

pub struct FileSink {
    dest: PathBuf,
    /// The file's name in the opened folder the temporary file is in.
    name: PathBuf,
    /// Removed when dropped, unless committed.
    tmp: Option<crate::host::fs::TempIn>,
    tx: Option<SyncSender<Vec<u8>>>,
    writer: Option<JoinHandle<std::io::Result<Written>>>,
}

impl FileSink {
    /// Start writing towards `dest`, a path [`crate::host::fs::confine`]
    /// returned (nothing appears there until [`FileSink::commit`]).
    pub fn create(dest: &Path, gzip: bool) -> Result<FileSink, String> {
        let cannot = |e| format!("cannot create a temporary file beside {}: {e}", dest.display());
        let (dir, name) = crate::host::fs::folder_beneath(dest).map_err(cannot)?;
        // Backups hold every password hash: the owner's alone.
        let (file, tmp) =
            crate::host::fs::TempIn::create(dir, &name, ".partial", crate::output::mode::PRIVATE).map_err(cannot)?;
        let (tx, rx) = sync_channel::<Vec<u8>>(16);
        let writer = std::thread::spawn(move || -> std::io::Result<Written> {
            let mut out = Hashing {
                inner: std::io::BufWriter::with_capacity(1 << 20, file),
                hash: sha2::Sha256::new(),
                bytes: 0,
            };
            if gzip {
                let mut gz = flate2::write::GzEncoder::new(&mut out, flate2::Compression::default());
                for chunk in rx {
                    gz.write_all(&chunk)?;
                }
                gz.finish()?;
            } else {
                for chunk in rx {
                    out.write_all(&chunk)?;
                }
            }
            out.flush()?;
            let file = out.inner.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            Ok(Written { bytes: out.bytes, sha256: format!("{:x}", out.hash.finalize()) })
        });
        Ok(FileSink { dest: dest.to_path_buf(), name, tmp: Some(tmp), tx: Some(tx), writer: Some(writer) })
    }

    /// Hand a chunk to the writer; an error means the writer gave up
    /// (disk full…), and [`FileSink::commit`] will say why.
    pub fn send(&self, chunk: Vec<u8>) -> Result<(), ()> {
        self.tx.as_ref().ok_or(())?.send(chunk).map_err(|_| ())
    }

    /// Why the writer stopped, once [`FileSink::send`] failed: its own
    /// error, e.g. "No space left on device", with the path.
    pub fn why_stopped(&mut self) -> String {
        match self.finish() {
            Err(e) => e,
            Ok(_) => format!("the writer of {} stopped", self.dest.display()),
        }
    }

    fn finish(&mut self) -> Result<Written, String> {
        drop(self.tx.take());
        let w = self.writer.take().ok_or("already finished")?;
        w.join()
            .map_err(|_| "the file writer panicked".to_string())?
            .map_err(|e| format!("writing {}: {e}", self.dest.display()))
    }

    /// The producer succeeded: finish writing and move the file into place.
    pub fn commit(mut self) -> Result<Written, String> {
        let written = self.finish()?;
        let tmp = self.tmp.take().ok_or("already committed")?;
        tmp.persist(&self.name)
            .map_err(|e| format!("cannot move the file into place at {}: {e}", self.dest.display()))?;
        Ok(written)
    }
}

impl Drop for FileSink {
    /// Not committed (failure, error, interruption): nothing is left.
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.finish();
        }
        // The TempIn removes the unfinished file.
        drop(self.tmp.take());
    }
}
