//! What new partitions cost the broker's process and file system, checked before any is
//! created: an open file handle each (its active segment), and four inodes (a folder and three
//! files). A creation that cannot fit is refused whole instead of failing part way through.
//! Kafka has no such check; it has a fixed cap per request, which weir applies as well
//! (`MAX_PARTITIONS_PER_REQUEST`).

use std::path::Path;

use super::MetadataError;

/// Kafka's limit on partitions created or added by one request (its controller's
/// `MAX_PARTITIONS_PER_BATCH`).
pub const MAX_PARTITIONS_PER_REQUEST: i64 = 10_000;

/// File handles kept free for new connections and passing files: at least this many...
const MIN_HANDLE_RESERVE: u64 = 64;
/// ...or this fraction (1/n) of the limit.
const HANDLE_RESERVE_DIVISOR: u64 = 64;
/// Inodes per partition: its folder, `.log`, `.index` and `.timeindex`.
const INODES_PER_PARTITION: u64 = 4;
/// Inodes kept free for other files.
const INODE_RESERVE: u64 = 128;

/// Refuses `partitions` new partitions under `dir` if they do not fit what is left.
pub fn check(dir: &Path, partitions: i64) -> Result<(), MetadataError> {
    let partitions = u64::try_from(partitions).unwrap_or(0);
    if let (Some(limit), Some(open)) = (handle_limit(), open_handles()) {
        handles_fit(partitions, open, limit)?;
    }
    if let Some((free, total)) = free_inodes(dir) {
        inodes_fit(partitions, free, total)?;
    }
    Ok(())
}

fn handles_fit(partitions: u64, open: u64, limit: u64) -> Result<(), MetadataError> {
    let reserve = MIN_HANDLE_RESERVE.max(limit / HANDLE_RESERVE_DIVISOR);
    let free = limit.saturating_sub(open).saturating_sub(reserve);
    if partitions > free {
        return Err(MetadataError::PolicyViolation(format!(
            "{partitions} new partitions need {partitions} open files; the broker has {open} \
             of its limit of {limit} (ulimit -n) open and keeps {reserve} free for connections"
        )));
    }
    Ok(())
}

fn inodes_fit(partitions: u64, free: u64, total: u64) -> Result<(), MetadataError> {
    let needed = partitions.saturating_mul(INODES_PER_PARTITION);
    // File systems without an inode limit report none at all.
    if total > 0 && needed.saturating_add(INODE_RESERVE) > free {
        return Err(MetadataError::PolicyViolation(format!(
            "{partitions} new partitions need {needed} inodes; the data folder's file system \
             has {free} free"
        )));
    }
    Ok(())
}

fn handle_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (rc == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

fn open_handles() -> Option<u64> {
    // The listing's own handle is counted too; one more in the reserve does no harm.
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|entries| entries.count() as u64)
}

/// (free inodes for unprivileged use, total inodes) of the file system holding `dir`.
fn free_inodes(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain old data; zeroed is a valid value for it.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `stat` a struct statvfs fills in.
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut stat) };
    (rc == 0).then_some((stat.f_favail, stat.f_files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_and_inodes_are_a_budget() {
        assert!(handles_fit(100, 50, 1024).is_ok());
        // 1024 - 961 open - 64 kept = nothing left.
        assert!(handles_fit(1, 961, 1024).is_err());
        // 20,000 - 19,016 open (connections) - 312 kept: 672 left.
        assert!(handles_fit(672, 19_016, 20_000).is_ok());
        assert!(handles_fit(673, 19_016, 20_000).is_err());
        assert!(handles_fit(10_000, 30, 1_048_576).is_ok());
        assert!(inodes_fit(1000, 10_000, 100_000).is_ok());
        assert!(inodes_fit(1000, 3_000, 100_000).is_err());
        assert!(inodes_fit(1000, 0, 0).is_ok(), "no inode limit");
        // The process running this test has some room.
        assert!(check(Path::new("."), 1).is_ok());
    }
}
