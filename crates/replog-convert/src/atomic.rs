//! Output files that appear under their final name only when complete.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// What a staging file's name holds between the final name and the id of
/// the process writing it: `.OUT.tmp-PID`.
const TMP_INFIX: &str = ".tmp-";

/// Prefix of the staging directories of conversions that write a directory
/// (`.replog-convert-PID-XXXXXX`): see [`staging_prefix`].
pub const STAGING_DIR_PREFIX: &str = ".replog-convert-";

/// The prefix of a staging directory or file made by this process in an
/// output's directory: [`remove_debris`] recognises it by the process id.
pub fn staging_prefix() -> String {
    format!("{STAGING_DIR_PREFIX}{}-", std::process::id())
}

/// Whether the process `pid` is running. Only answered where `/proc`
/// lists processes (Linux); elsewhere every process counts as running, so
/// nothing of another run is removed.
fn running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// The process id in a staging name made by [`AtomicFile::create`]
/// (`.OUT.tmp-PID`) or with [`staging_prefix`] (`.replog-convert-PID-…`).
fn staging_pid(name: &str) -> Option<u32> {
    if let Some(rest) = name.strip_prefix(STAGING_DIR_PREFIX) {
        return rest.split_once('-')?.0.parse().ok();
    }
    let (_, pid) = name.strip_prefix('.')?.rsplit_once(TMP_INFIX)?;
    pid.parse().ok()
}

/// Removes from `dir` the staging files and directories that interrupted
/// runs left (killed, or stopped by a signal: a partial output is never
/// renamed into place, but its staging copy stayed): those whose process is
/// no longer running. Called before every new output is staged; errors are
/// ignored (what cannot be removed stays, as before).
///
/// `dir` is remembered as a place where this process stages: on a signal,
/// [`remove_own_staging`] looks there.
pub fn remove_debris(dir: &Path) {
    if let Ok(mut dirs) = STAGING_DIRS.lock()
        && !dirs.iter().any(|d| d == dir)
    {
        dirs.push(dir.to_path_buf());
    }
    remove_staging(dir, |pid| pid != std::process::id() && !running(pid));
}

/// A new staging directory in `parent` (which must exist), named with
/// [`staging_prefix`], once the debris of interrupted runs is removed
/// ([`remove_debris`]): an output directory is built in it and renamed
/// into place when complete.
pub fn staging_dir(parent: &Path) -> std::io::Result<tempfile::TempDir> {
    remove_debris(parent);
    tempfile::Builder::new()
        .prefix(&staging_prefix())
        .tempdir_in(parent)
}

/// Directories in which this process stages outputs (see [`remove_debris`]).
static STAGING_DIRS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes the staging files and directories of this process, in every
/// directory where it staged an output: what a command stopped by SIGINT or
/// SIGTERM calls before it exits, so that no `.OUT.tmp-PID` or
/// `.replog-convert-PID-…` is left behind. Errors are ignored.
pub fn remove_own_staging() {
    let dirs = match STAGING_DIRS.lock() {
        Ok(d) => d.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    let me = std::process::id();
    for dir in &dirs {
        remove_staging(dir, |pid| pid == me);
    }
}

/// Removes the staging entries of `dir` whose process `doomed` selects.
fn remove_staging(dir: &Path, doomed: impl Fn(u32) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(staging_pid) else {
            continue;
        };
        if !doomed(pid) {
            continue;
        }
        let path = e.path();
        let _ = match e.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(_) => continue,
        };
    }
}

/// A file written under a temporary name in the directory of its final
/// name, renamed into place by [`AtomicFile::commit`]. Dropped without a
/// commit (an error, a panic), the temporary file is removed: a failed
/// conversion never leaves half an output under the final name.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: PathBuf,
    target: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temporary file for `target`.
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .ok_or_else(|| {
                Error::new(
                    crate::ErrorKind::Io,
                    format!("{}: not a file name", target.display()),
                )
            })?
            .to_string_lossy()
            .into_owned();
        remove_debris(&dir);
        let tmp = dir.join(format!(".{name}{TMP_INFIX}{}", std::process::id()));
        let file = File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| Error::io(e, format!("creating {}", tmp.display())))?;
        Ok(AtomicFile {
            tmp,
            target: target.to_path_buf(),
            file: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// The temporary path being written.
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// Flushes, syncs and renames the file to its final name.
    pub fn commit(mut self) -> Result<()> {
        if let Some(w) = self.file.take() {
            let f = w.into_inner().map_err(|e| {
                Error::io(e.into_error(), format!("writing {}", self.tmp.display()))
            })?;
            f.sync_all()
                .map_err(|e| Error::io(e, format!("syncing {}", self.tmp.display())))?;
        }
        std::fs::rename(&self.tmp, &self.target).map_err(|e| {
            Error::io(
                e,
                format!(
                    "renaming {} to {}",
                    self.tmp.display(),
                    self.target.display()
                ),
            )
        })?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("output already committed")),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(buf),
            None => Err(std::io::Error::other("output already committed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_names_give_their_process() {
        assert_eq!(staging_pid(".out.sql.tmp-4242"), Some(4242));
        assert_eq!(staging_pid(".replog-convert-77-AbC123"), Some(77));
        assert_eq!(staging_pid("out.sql"), None);
        assert_eq!(staging_pid(".hidden"), None);
        assert_eq!(staging_pid(".x.tmp-notapid"), None);
    }

    #[test]
    fn debris_of_dead_processes_is_removed_and_live_staging_kept() {
        let tmp = tempfile::tempdir().unwrap();
        // No process has an id this large (Linux caps ids at 2^22).
        let dead = 999_999_999u32;
        let mine = std::process::id();
        let stale_file = tmp.path().join(format!(".out.sql.tmp-{dead}"));
        let stale_dir = tmp.path().join(format!(".replog-convert-{dead}-x1"));
        let live_file = tmp.path().join(format!(".other.sql.tmp-{mine}"));
        let unrelated = tmp.path().join(".config");
        std::fs::write(&stale_file, b"partial").unwrap();
        std::fs::create_dir_all(stale_dir.join("wal")).unwrap();
        std::fs::write(stale_dir.join("wal/0.replog"), b"partial").unwrap();
        std::fs::write(&live_file, b"being written").unwrap();
        std::fs::write(&unrelated, b"kept").unwrap();
        let mut f = AtomicFile::create(&tmp.path().join("out.sql")).unwrap();
        f.write_all(b"done").unwrap();
        f.commit().unwrap();
        if Path::new("/proc/self").exists() {
            assert!(!stale_file.exists());
            assert!(!stale_dir.exists());
        }
        assert!(live_file.exists());
        assert!(unrelated.exists());
        assert_eq!(std::fs::read(tmp.path().join("out.sql")).unwrap(), b"done");
    }

    #[test]
    fn own_staging_is_removed_on_request_and_others_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let staged = AtomicFile::create(&tmp.path().join("out.sql")).unwrap();
        let own_dir = tmp.path().join(format!("{}abc", staging_prefix()));
        std::fs::create_dir_all(own_dir.join("wal")).unwrap();
        let other = tmp.path().join(".x.sql.tmp-1");
        std::fs::write(&other, b"another process").unwrap();
        assert!(staged.temp_path().exists());
        // As remove_own_staging does, in this test's directory only (other
        // tests of this process stage meanwhile).
        assert!(STAGING_DIRS.lock().unwrap().iter().any(|d| d == tmp.path()));
        let me = std::process::id();
        remove_staging(tmp.path(), |pid| pid == me);
        assert!(!staged.temp_path().exists());
        assert!(!own_dir.exists());
        assert!(other.exists());
    }
}
