//! How a fan-out paces its work, whatever the work is: a runbook process
//! per target (`run --on`, `commands/run_fanout.rs`) or a closure per
//! target on threads of this process (`fleet::each`, `host/fleet.rs`).
//! Both must start, stop and order work the same way, so the rule lives
//! once, here.

use std::collections::VecDeque;
use std::sync::Mutex;

/// How many run at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// At most N at once, the next starting as one ends.
    Forks(usize),
    /// K at once; the next K only after every one of these ended OK.
    Serial(usize),
}

/// What became of one piece of work.
pub enum Slot<T> {
    Done(T),
    /// Not started: why.
    NotRun(Skipped),
}

/// Why a piece of work was not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// `Serial`: the piece with this index did not end OK.
    AfterFailure(usize),
    /// The caller said stop (a signal, the run's deadline).
    Stopped,
}

/// What `Pace::run` needs to know of the work, besides how to start it.
pub struct Work<'a, T> {
    pub count: usize,
    /// Start piece `i` and wait for it; called on a worker thread.
    pub start: &'a (dyn Fn(usize) -> T + Sync),
    /// Whether a finished piece lets `Serial` go on.
    pub ok: &'a (dyn Fn(&T) -> bool + Sync),
    /// Asked before each start: `true` starts nothing more.
    pub stopped: &'a (dyn Fn() -> bool + Sync),
    /// The stack each worker thread gets, when the default is too small
    /// (a Rhai closure recursing as deep as the script thread lets it).
    pub stack: Option<usize>,
}

impl Pace {
    /// Run every piece at this pace; the slots in the pieces' order.
    pub fn run<T: Send>(self, w: &Work<'_, T>) -> Vec<Slot<T>> {
        let mut out: Vec<Option<Slot<T>>> = (0..w.count).map(|_| None).collect();
        let all: Vec<usize> = (0..w.count).collect();
        match self {
            Pace::Forks(n) => {
                for (i, s) in batch(&all, n, w) {
                    out[i] = Some(s);
                }
            }
            Pace::Serial(k) => {
                let mut failed: Option<usize> = None;
                for chunk in all.chunks(k.max(1)) {
                    if let Some(f) = failed {
                        for &i in chunk {
                            out[i] = Some(Slot::NotRun(Skipped::AfterFailure(f)));
                        }
                        continue;
                    }
                    for (i, s) in batch(chunk, k, w) {
                        if matches!(&s, Slot::Done(t) if !(w.ok)(t)) && failed.is_none() {
                            failed = Some(i);
                        }
                        out[i] = Some(s);
                    }
                }
            }
        }
        out.into_iter().map(|s| s.unwrap_or(Slot::NotRun(Skipped::Stopped))).collect()
    }
}

/// Run `indices`, at most `width` at once; each slot with its index.
fn batch<T: Send>(indices: &[usize], width: usize, w: &Work<'_, T>) -> Vec<(usize, Slot<T>)> {
    let queue = Mutex::new(indices.iter().copied().collect::<VecDeque<_>>());
    let done = Mutex::new(vec![]);
    let worker = || loop {
        let Some(i) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else { break };
        let s = if (w.stopped)() { Slot::NotRun(Skipped::Stopped) } else { Slot::Done((w.start)(i)) };
        done.lock().unwrap_or_else(|e| e.into_inner()).push((i, s));
    };
    std::thread::scope(|s| {
        for _ in 0..width.clamp(1, indices.len().max(1)) {
            let mut b = std::thread::Builder::new().name("fan-out".into());
            if let Some(size) = w.stack {
                b = b.stack_size(size);
            }
            // A thread the OS refuses leaves its share to the others.
            let _ = b.spawn_scoped(s, worker);
        }
    });
    // Every thread refused: what is left runs here, in order.
    worker();
    let mut v = done.into_inner().unwrap_or_else(|e| e.into_inner());
    v.sort_by_key(|(i, _)| *i);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn run(pace: Pace, n: usize, fails: &[usize]) -> Vec<String> {
        let at_once = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let start = |i: usize| {
            let now = at_once.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(20));
            at_once.fetch_sub(1, Ordering::SeqCst);
            !fails.contains(&i)
        };
        let w = Work { count: n, start: &start, ok: &|ok: &bool| *ok, stopped: &|| false, stack: None };
        let mut v: Vec<String> = pace
            .run(&w)
            .iter()
            .map(|s| match s {
                Slot::Done(true) => "ok".to_string(),
                Slot::Done(false) => "failed".to_string(),
                Slot::NotRun(Skipped::AfterFailure(f)) => format!("after {f}"),
                Slot::NotRun(Skipped::Stopped) => "stopped".to_string(),
            })
            .collect();
        v.push(format!("most {}", most.load(Ordering::SeqCst)));
        v
    }

    #[test]
    fn forks_bound_the_work_at_once_and_keep_the_order() {
        assert_eq!(run(Pace::Forks(2), 5, &[1]), ["ok", "failed", "ok", "ok", "ok", "most 2"]);
    }

    #[test]
    fn serial_stops_after_the_batch_with_a_failure() {
        assert_eq!(run(Pace::Serial(2), 6, &[3]), ["ok", "ok", "ok", "failed", "after 3", "after 3", "most 2"]);
        assert_eq!(run(Pace::Serial(1), 3, &[]), ["ok", "ok", "ok", "most 1"]);
    }

    #[test]
    fn stopped_starts_nothing_more() {
        let n = AtomicUsize::new(0);
        let start = |_| n.fetch_add(1, Ordering::SeqCst);
        let stopped = || n.load(Ordering::SeqCst) >= 2;
        let w = Work { count: 4, start: &start, ok: &|_: &usize| true, stopped: &stopped, stack: None };
        let slots = Pace::Forks(1).run(&w);
        let started: Vec<bool> = slots.iter().map(|s| matches!(s, Slot::Done(_))).collect();
        assert_eq!(started, [true, true, false, false]);
    }
}
