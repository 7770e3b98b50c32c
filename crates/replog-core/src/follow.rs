//! Following a log that is still being written (`--follow`).
//!
//! A follower reads to the end of the valid data, then waits for more
//! instead of ending. What ends it:
//!
//! - the writer moving on to a successor file (a binlog rotated, a next
//!   segment): the file is then read once more and ends there. A tail that
//!   is still incomplete when the writer has moved on is damage, reported
//!   by the reader as it would report it in any file;
//! - a stop request ([`request_stop`], from SIGINT or SIGTERM): the reader
//!   sees the end of the input where it stands, and the command ends at the
//!   last whole transaction (or event) it read, printing that position.
//!
//! [`Tail`] is the one place that waits: a `Read` over a file that polls
//! at its end. Every reader of growing files (the binlog reader and the
//! importer above it) reads through it, so no command waits on its own.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How a follower waits at the end of the valid data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Follow {
    /// Time between two looks at a file that has no new bytes.
    pub poll: Duration,
}

impl Default for Follow {
    fn default() -> Follow {
        Follow {
            poll: Duration::from_millis(50),
        }
    }
}

static FOLLOWING: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);

/// Declares that this process follows a log: from now on [`request_stop`]
/// stops the follower instead of leaving the process to end at once.
pub fn start() {
    FOLLOWING.store(true, Ordering::SeqCst);
}

/// Asks the follower to stop at the next whole transaction or event (for
/// a SIGINT or SIGTERM handler). Returns whether a follower is running and
/// will stop on its own; `false`: nothing follows, the caller ends the
/// process as it would without followers.
/// A second request (a follower that does not stop) returns `false`.
pub fn request_stop() -> bool {
    let again = STOP.swap(true, Ordering::SeqCst);
    FOLLOWING.load(Ordering::SeqCst) && !again
}

/// Whether a stop was requested.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Whether the writer has moved on from a file (its successor exists).
pub type MovedOn = Box<dyn Fn() -> bool + Send + Sync>;

/// A file read by a follower: at its end, `read` waits until the file
/// grows, the writer moves on (then the end is final) or a stop is
/// requested. Without [`Follow`] it is the file as it is.
pub struct Tail<R> {
    inner: R,
    follow: Option<(Follow, MovedOn)>,
    at: u64,
}

impl<R> std::fmt::Debug for Tail<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tail")
            .field("following", &self.follow.is_some())
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Tail<R> {
    /// The input as it is: its end is the end.
    pub fn fixed(inner: R) -> Tail<R> {
        Tail {
            inner,
            follow: None,
            at: 0,
        }
    }

    /// A growing input: its end is final once `moved_on` says the writer
    /// has moved on (checked after each fruitless read, then the input is
    /// read once more), or once a stop is requested.
    pub fn following(inner: R, follow: Follow, moved_on: MovedOn) -> Tail<R> {
        Tail {
            inner,
            follow: Some((follow, moved_on)),
            at: 0,
        }
    }

    /// Bytes read so far.
    pub fn read_so_far(&self) -> u64 {
        self.at
    }

    /// The wrapped input.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: Read> Read for Tail<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            if n > 0 || buf.is_empty() {
                self.at += n as u64;
                return Ok(n);
            }
            let Some((follow, moved_on)) = &self.follow else {
                return Ok(0);
            };
            if stop_requested() {
                return Ok(0);
            }
            if moved_on() {
                // Bytes written before the successor appeared are part of
                // this file: read once more, then this end is final.
                let n = self.inner.read(buf)?;
                self.at += n as u64;
                return Ok(n);
            }
            std::thread::sleep(follow.poll);
        }
    }
}

impl<R: std::io::Seek> std::io::Seek for Tail<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let at = self.inner.seek(pos)?;
        self.at = at;
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn waits_for_growth_and_ends_when_the_writer_moves_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.000001");
        let next = dir.path().join("log.000002");
        std::fs::write(&path, b"ab").unwrap();
        let succ = next.clone();
        let mut t = Tail::following(
            std::fs::File::open(&path).unwrap(),
            Follow {
                poll: Duration::from_millis(5),
            },
            Box::new(move || succ.exists()),
        );
        let writer = {
            let path = path.clone();
            let next = next.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(40));
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap();
                f.write_all(b"cd").unwrap();
                std::thread::sleep(Duration::from_millis(40));
                f.write_all(b"e").unwrap();
                std::fs::write(&next, b"").unwrap();
            })
        };
        let mut all = Vec::new();
        t.read_to_end(&mut all).unwrap();
        writer.join().unwrap();
        assert_eq!(all, b"abcde");
        assert_eq!(t.read_so_far(), 5);
    }

    #[test]
    fn a_fixed_input_ends_at_its_end() {
        let mut t = Tail::fixed(&b"xyz"[..]);
        let mut all = Vec::new();
        t.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"xyz");
    }
}
