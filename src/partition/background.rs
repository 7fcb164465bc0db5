//! Work the broker does for itself rather than for a client (cleaning a compacted log) runs on
//! an OS thread of its own at the lowest CPU priority. On a busy machine the threads that answer
//! clients then run first and the cleaner takes the CPU time they leave; on an idle one it runs
//! at full speed. `log.cleaner.io.max.bytes.per.second` still caps it outright.

use std::io;

use tokio::sync::oneshot;

/// The nice value of a background thread: the lowest priority Linux has.
const LOWEST_PRIORITY: libc::c_int = 19;

/// Runs `work` on a new thread named `name` at the lowest CPU priority; its result once done.
/// An error if the thread could not be started or `work` panicked.
pub async fn run<T, F>(name: &str, work: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, result) = oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            lower_priority();
            let _ = done.send(work());
        })?;
    result
        .await
        .map_err(|_| io::Error::other("the background thread ended without a result"))
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux the nice value belongs to the thread, so this leaves the broker's other threads
    // as they are.
    // SAFETY: gettid has no preconditions; setpriority only reads its integer arguments.
    let rc = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, LOWEST_PRIORITY)
    };
    if rc != 0 {
        tracing::debug!(
            error = %io::Error::last_os_error(),
            "could not lower the priority of a background thread; it runs at normal priority"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_at_the_lowest_priority_and_returns_its_result() {
        let nice = run("weir-test-bg", || {
            // SAFETY: as above.
            unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
        })
        .await
        .expect("thread");
        assert_eq!(nice, LOWEST_PRIORITY);
    }

    #[tokio::test]
    async fn a_panic_in_the_work_is_an_error() {
        let result = run("weir-test-bg", || -> u32 { panic!("boom") }).await;
        assert!(result.is_err());
    }
}
