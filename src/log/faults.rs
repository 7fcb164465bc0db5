//! Injected I/O failures, for crash and failure tests.
//!
//! The file operations that decide what survives a failure (creating a segment or an index,
//! writing, fsyncing a file or a folder, renaming, removing) call [`check`] with a named
//! [`Point`] and the path they act on, just before acting. Normally no rule is armed and the
//! check is one atomic load. A test arms a [`Rule`]; every matching operation is counted and
//! the chosen ones fail with an I/O error instead of running, exactly where a full disk, a
//! missing file handle or a failing device would make them fail.
//!
//! Rules match by point and by a fragment of the path, so tests running in parallel in one
//! process each arm rules for their own folder. [`arm`] returns a guard that disarms the rule
//! when dropped and reports how many operations it saw. A `weir serve` process arms rules
//! from a spec given on its command line (see [`arm_spec`]), so a test can kill a broker hard
//! while operations fail under it. Other stores (the group log, the topic registry) call the
//! same points, so one campaign drives failures everywhere data is written.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Where an operation can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// Creating (or truncating) a segment's `.log` file.
    SegmentCreate,
    /// Creating an `.index` or `.timeindex` file.
    IndexCreate,
    /// Creating a partition folder.
    DirCreate,
    /// fsync of a folder (makes creations, renames and removals durable).
    DirSync,
    /// Renaming a file or folder.
    Rename,
    /// Writing data to a file.
    Write,
    /// fsync of a file.
    Fsync,
    /// Removing a file or a folder.
    Remove,
}

const POINTS: &[(&str, Point)] = &[
    ("segment-create", Point::SegmentCreate),
    ("index-create", Point::IndexCreate),
    ("dir-create", Point::DirCreate),
    ("dir-sync", Point::DirSync),
    ("rename", Point::Rename),
    ("write", Point::Write),
    ("fsync", Point::Fsync),
    ("remove", Point::Remove),
];

impl Point {
    /// The point's name in a spec (`segment-create`, `dir-sync`, ...).
    pub fn name(self) -> &'static str {
        POINTS
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("?", |(n, _)| n)
    }

    fn parse(name: &str) -> Option<Point> {
        POINTS.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
    }
}

/// Which operations fail: of those at `point` on a path containing `path`, the first `skip`
/// run, then every `every`-th one fails, at most `times` times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub point: Point,
    /// A fragment of the path (usually a test's own folder); empty matches every path.
    pub path: String,
    pub skip: u64,
    /// 1 fails every matching operation after the skipped ones.
    pub every: u64,
    /// `u64::MAX`: no limit; 0 fails nothing (the rule only counts).
    pub times: u64,
    /// Instead of failing, the selected operation blocks its thread for good (after logging
    /// `injected I/O stall`): a process test kills the broker there, so the crash happens at
    /// exactly that operation.
    pub stall: bool,
}

impl Rule {
    /// Fails the next matching operation, once.
    pub fn once(point: Point, under: &Path) -> Rule {
        Rule {
            point,
            path: under.to_string_lossy().into_owned(),
            skip: 0,
            every: 1,
            times: 1,
            stall: false,
        }
    }

    /// Fails every matching operation until disarmed.
    pub fn always(point: Point, under: &Path) -> Rule {
        Rule {
            times: u64::MAX,
            ..Rule::once(point, under)
        }
    }

    /// Fails nothing; only counts the matching operations.
    pub fn count(point: Point, under: &Path) -> Rule {
        Rule {
            times: 0,
            ..Rule::once(point, under)
        }
    }

    pub fn skip(mut self, n: u64) -> Rule {
        self.skip = n;
        self
    }

    pub fn every(mut self, n: u64) -> Rule {
        self.every = n.max(1);
        self
    }

    pub fn times(mut self, n: u64) -> Rule {
        self.times = n;
        self
    }
}

struct Armed {
    id: u64,
    rule: Rule,
    seen: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

/// Number of armed rules: the fast path when it is 0.
static ARMED: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static RULES: Mutex<Vec<Armed>> = Mutex::new(Vec::new());

fn rules() -> MutexGuard<'static, Vec<Armed>> {
    RULES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Fails with an injected error if an armed rule selects this operation.
pub fn check(point: Point, path: &Path) -> io::Result<()> {
    if ARMED.load(Ordering::Acquire) == 0 {
        return Ok(());
    }
    let path = path.to_string_lossy();
    let mut fail = false;
    let mut stall = false;
    for armed in rules().iter() {
        let rule = &armed.rule;
        if rule.point != point || !path.contains(rule.path.as_str()) {
            continue;
        }
        let n = armed.seen.fetch_add(1, Ordering::AcqRel) + 1;
        let selected = n > rule.skip && (n - rule.skip - 1) % rule.every.max(1) == 0;
        if selected && armed.failed.load(Ordering::Acquire) < rule.times {
            armed.failed.fetch_add(1, Ordering::AcqRel);
            if rule.stall {
                stall = true;
            } else {
                fail = true;
            }
        }
    }
    if stall {
        tracing::warn!(point = point.name(), %path, "injected I/O stall");
        loop {
            std::thread::park();
        }
    }
    if fail {
        tracing::warn!(point = point.name(), %path, "injected I/O failure");
        return Err(io::Error::other(format!(
            "injected failure at {} of {path}",
            point.name()
        )));
    }
    Ok(())
}

/// An armed rule; dropping it disarms the rule.
#[must_use = "the rule is disarmed when this guard is dropped"]
pub struct Guard {
    id: u64,
    seen: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl Guard {
    /// Matching operations seen so far (failed or not).
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::Acquire)
    }

    /// Operations failed so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Acquire)
    }

    /// Keeps the rule armed for the life of the process.
    pub fn forever(self) {
        std::mem::forget(self);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut all = rules();
        let before = all.len();
        all.retain(|a| a.id != self.id);
        ARMED.fetch_sub(before - all.len(), Ordering::AcqRel);
    }
}

/// Arms `rule` until the returned guard is dropped.
pub fn arm(rule: Rule) -> Guard {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let seen = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    rules().push(Armed {
        id,
        rule,
        seen: seen.clone(),
        failed: failed.clone(),
    });
    ARMED.fetch_add(1, Ordering::AcqRel);
    Guard { id, seen, failed }
}

/// Parses rules written `point[:in=FRAGMENT][:skip=N][:every=N][:times=N][:stall]`, separated
/// by commas, e.g. `segment-create:in=orders-:skip=3:every=4,dir-sync:in=__groups:every=2`.
/// Without `every` and `times` a rule fails every matching operation; with `stall` the
/// selected operation blocks instead of failing.
pub fn parse_spec(spec: &str) -> Result<Vec<Rule>, String> {
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut parts = item.split(':');
        let name = parts.next().unwrap_or_default();
        let point = Point::parse(name).ok_or_else(|| {
            let known: Vec<&str> = POINTS.iter().map(|(n, _)| *n).collect();
            format!("unknown fault point {name:?} (known: {})", known.join(", "))
        })?;
        let mut rule = Rule {
            point,
            path: String::new(),
            skip: 0,
            every: 1,
            times: u64::MAX,
            stall: false,
        };
        for part in parts {
            if part == "stall" {
                rule.stall = true;
                continue;
            }
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{item:?}: expected key=value, got {part:?}"))?;
            if key == "in" {
                rule.path = value.to_string();
                continue;
            }
            let n: u64 = value
                .parse()
                .map_err(|_| format!("{item:?}: {key} must be a whole number"))?;
            match key {
                "skip" => rule.skip = n,
                "every" if n > 0 => rule.every = n,
                "times" => rule.times = n,
                _ => return Err(format!("{item:?}: unknown or invalid setting {part:?}")),
            }
        }
        out.push(rule);
    }
    Ok(out)
}

/// Arms the rules of `spec` (see [`parse_spec`]) for the life of the process.
pub fn arm_spec(spec: &str) -> Result<usize, String> {
    let rules = parse_spec(spec)?;
    let n = rules.len();
    for rule in rules {
        tracing::warn!(?rule, "I/O fault injection armed");
        arm(rule).forever();
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_select_by_point_path_skip_every_and_times() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().join("a.log");
        let elsewhere = Path::new("/somewhere/else.log");
        let guard = arm(Rule::once(Point::Write, dir.path())
            .skip(1)
            .every(2)
            .times(2));
        let outcomes: Vec<bool> = (0..8)
            .map(|_| check(Point::Write, &here).is_err())
            .collect();
        assert_eq!(
            outcomes,
            [false, true, false, true, false, false, false, false]
        );
        assert!(check(Point::Fsync, &here).is_ok());
        assert!(check(Point::Write, elsewhere).is_ok());
        assert_eq!((guard.seen(), guard.failed()), (8, 2));
        drop(guard);
        assert!(check(Point::Write, &here).is_ok());
    }

    #[test]
    fn specs_parse_and_refuse_nonsense() {
        let rules = parse_spec("segment-create:in=t-:skip=3:every=4, dir-sync:times=1").unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].point, Point::SegmentCreate);
        assert_eq!(
            (rules[0].path.as_str(), rules[0].skip, rules[0].every),
            ("t-", 3, 4)
        );
        assert_eq!((rules[1].point, rules[1].times), (Point::DirSync, 1));
        for bad in [
            "nope",
            "write:every=0",
            "write:skip=x",
            "write:colour=red",
            "write:3",
        ] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
    }
}
