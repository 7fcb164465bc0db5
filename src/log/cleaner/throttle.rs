//! `log.cleaner.io.max.bytes.per.second`: the bytes all cleaner threads read and write, kept
//! under a rate measured in real elapsed time (not the broker clock: it limits real I/O).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::monotonic::Stopwatch;

/// Shared by the cleaner threads.
/// Also the way a pass learns that the broker is stopping: every read and write goes through
/// [`Throttle::consume`], which fails once [`Throttle::cancel`] was called.
pub struct Throttle {
    bytes_per_second: f64,
    state: Mutex<Window>,
    cancelled: AtomicBool,
}

struct Window {
    started: Stopwatch,
    bytes: f64,
}

/// Checks are made after this much I/O, so small reads cost nothing.
const CHECK_EVERY: f64 = 64.0 * 1024.0;
/// The window restarts after this long, so an idle spell earns no burst.
const WINDOW: Duration = Duration::from_secs(1);

impl Throttle {
    pub fn new(bytes_per_second: f64) -> Throttle {
        Throttle {
            bytes_per_second,
            state: Mutex::new(Window {
                started: Stopwatch::start(),
                bytes: 0.0,
            }),
            cancelled: AtomicBool::new(false),
        }
    }

    /// Makes passes under way stop at their next read or write (and drop their files).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Counts `bytes` of I/O and sleeps the calling (blocking) thread as long as needed to
    /// stay under the rate.
    pub fn consume(&self, bytes: u64) -> io::Result<()> {
        if self.cancelled.load(Ordering::Acquire) {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the cleaner is stopping",
            ));
        }
        if !self.bytes_per_second.is_finite() || self.bytes_per_second >= f64::MAX / 2.0 {
            return Ok(());
        }
        let pause = {
            let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
            w.bytes += bytes as f64;
            if w.bytes < CHECK_EVERY {
                return Ok(());
            }
            let elapsed = w.started.elapsed();
            let due = Duration::from_secs_f64(w.bytes / self.bytes_per_second);
            let pause = due.saturating_sub(elapsed);
            if elapsed + pause >= WINDOW {
                w.started = Stopwatch::start();
                w.bytes = 0.0;
            }
            pause
        };
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_is_held_to_the_rate() {
        let throttle = Throttle::new(1_000_000.0);
        let watch = Stopwatch::start();
        for _ in 0..30 {
            throttle.consume(10_000).unwrap();
        }
        // 300 kB at 1 MB/s: at least 0.3 s minus the first check's slack.
        assert!(
            watch.elapsed() >= Duration::from_millis(200),
            "{:?}",
            watch.elapsed()
        );
        let free = Throttle::new(f64::MAX);
        let watch = Stopwatch::start();
        free.consume(u64::MAX / 2).unwrap();
        assert!(watch.elapsed() < Duration::from_millis(100));
        free.cancel();
        assert!(free.consume(1).is_err());
    }
}
