//! Waiting for a condition the test can observe, with a deadline: never a fixed sleep standing
//! in for one.

use std::future::Future;
use std::time::Duration;

use tokio::time::{sleep, Instant};

/// How often a condition is looked at again.
const POLL: Duration = Duration::from_millis(20);

/// Polls `check` until it returns `Some`, failing with `what` after `limit`.
pub async fn wait_until<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        sleep(POLL).await;
    }
}

/// [`wait_until`] for a condition that is true or false.
pub async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    wait_until(what, limit, || done().then_some(())).await
}

/// [`wait_until`] for an async check.
pub async fn wait_until_async<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        sleep(POLL).await;
    }
}
