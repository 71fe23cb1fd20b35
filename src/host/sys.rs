//! `sys`: this machine's CPU, memory, disks, load and uptime, read from
//! /proc and statvfs(2) directly — no `top | awk`, no child processes.

use std::path::Path;

use rhai::plugin::*;
use rhai::{Dynamic, Map};

///
/// `RUNBOOK_HOST`, when set, is the name instead: a container's hostname
/// is a random id, and a fleet's history wants the name people use (web2).
pub fn hostname_string() -> String {
    if let Some(h) = std::env::var("RUNBOOK_HOST").ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty()) {
        return h;
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// (busy, iowait, total) jiffies from the first line of /proc/stat.
fn parse_proc_stat(stat: &str) -> Result<(u64, u64, u64), String> {
    let v = machine_jiffies(stat);
    if v.len() < 4 {
        return Err("unexpected /proc/stat format".into());
    }
    // guest and guest_nice are already counted in user and nice.
    let total: u64 = v.iter().take(8).sum();
    let iowait = v.get(4).copied().unwrap_or(0);
    let idle = v[3] + iowait;
    Ok((total - idle, iowait, total))
}

/// The counters of /proc/stat's first line (`cpu  user nice system idle
/// iowait …`, whole machine), in ticks; empty when it is not that line.
fn machine_jiffies(stat: &str) -> Vec<u64> {
    let line = stat.lines().next().filter(|l| l.starts_with("cpu ")).unwrap_or_default();
    line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect()
}

/// The root cpuacct cgroup (cgroup v1) counts every task's time on a CPU
/// in nanoseconds, from the scheduler's own clock. /proc/stat counts in
/// 10 ms ticks, so a short sample of it on two cores can only read 0, 50
/// or 100 %; this one is exact over a few milliseconds.
const CPUACCT_USAGE: &str = "/sys/fs/cgroup/cpuacct/cpuacct.usage";

/// Nanoseconds of CPU time the whole machine has used since boot, or None
/// where that cannot be read exactly. Inside a container the "root"
/// cpuacct group is the container's own: its usage is then a fraction of
/// the machine's busy time in /proc/stat, and /proc/stat (what `top`
/// reads, the whole machine) is used instead.
fn machine_busy_ns(stat: &str) -> Option<u64> {
    let usage: u64 = std::fs::read_to_string(CPUACCT_USAGE).ok()?.trim().parse().ok()?;
    static WHOLE_MACHINE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let whole = *WHOLE_MACHINE.get_or_init(|| covers_machine(usage, stat, clock_ticks()));
    whole.then_some(usage)
}

/// Whether `usage_ns` since boot is the machine's: at least 90 % of the
/// user, nice and system time /proc/stat has counted. On a host the two
/// agree within 1 %; a container's group sees only its own share.
fn covers_machine(usage_ns: u64, stat: &str, ticks_per_s: u64) -> bool {
    let v = machine_jiffies(stat);
    if v.len() < 3 || ticks_per_s == 0 {
        return false;
    }
    let counted_ns = v[..3].iter().sum::<u64>() as u128 * 1_000_000_000 / ticks_per_s as u128;
    usage_ns as u128 * 10 >= counted_ns * 9
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads a constant of the C library.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// The machine's CPUs, not this process's affinity: the busy time
/// divided by them is the machine's too.
fn online_cpus() -> u64 {
    // SAFETY: as above.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 {
        n as u64
    } else {
        1
    }
}

/// The shortest sample /proc/stat's ticks make sense of: 25 ticks per
/// CPU, so a reading moves in steps of 4 % or less.
const TICKED_SAMPLE_MIN: std::time::Duration = std::time::Duration::from_millis(250);

/// One reading of the CPU counters; a sample lies between two of them.
struct CpuReading {
    jiffies: (u64, u64, u64),
    busy_ns: Option<u64>,
    at: std::time::Instant,
}

impl CpuReading {
    fn now() -> Result<CpuReading, String> {
        let stat = std::fs::read_to_string("/proc/stat").map_err(|e| format!("cannot read /proc/stat: {e}"))?;
        Ok(CpuReading {
            busy_ns: machine_busy_ns(&stat),
            jiffies: parse_proc_stat(&stat)?,
            at: std::time::Instant::now(),
        })
    }

    /// (used %, iowait %) from `self` to a later reading. iowait is only
    /// in /proc/stat, so it keeps the tick's resolution.
    fn usage_until(&self, later: &CpuReading) -> (f64, f64) {
        let ((b0, w0, t0), (b1, w1, t1)) = (self.jiffies, later.jiffies);
        let share = |a: u64, b: u64| if t1 > t0 { b.saturating_sub(a) as f64 * 100.0 / (t1 - t0) as f64 } else { 0.0 };
        let capacity_ns = later.at.duration_since(self.at).as_nanos() as f64 * online_cpus() as f64;
        let used = match (self.busy_ns, later.busy_ns) {
            (Some(a), Some(b)) if capacity_ns > 0.0 => b.saturating_sub(a) as f64 * 100.0 / capacity_ns,
            _ => share(b0, b1),
        };
        (used.clamp(0.0, 100.0), share(w0, w1).clamp(0.0, 100.0))
    }
}

fn meminfo() -> Result<std::collections::HashMap<String, u64>, String> {
    let text = std::fs::read_to_string("/proc/meminfo").map_err(|e| format!("cannot read /proc/meminfo: {e}"))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let (k, rest) = l.split_once(':')?;
            let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
            Some((k.to_string(), kb * 1024))
        })
        .collect())
}

pub struct Mount {
    pub device: String,
    pub mount: String,
    pub fs_type: String,
}

fn mounts() -> Vec<Mount> {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let device = f.next()?.to_string();
            let mount = f.next()?.replace("\\040", " ");
            let fs_type = f.next()?.to_string();
            Some(Mount { device, mount, fs_type })
        })
        .collect()
}

/// Like `df`: used is blocks minus free; the percentage is of what a user
/// can use (used + available), rounded up as df rounds it.
pub fn disk_usage(path: &Path) -> Result<Map, String> {
    let canonical = path.canonicalize().map_err(|e| format!("{}: {e}", path.display()))?;
    let c_path = std::ffi::CString::new(canonical.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: statvfs is plain old data (integers), for which all-zero bytes are valid.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a valid NUL-terminated string and st a valid out-pointer.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return Err(format!("statvfs {}: {}", canonical.display(), std::io::Error::last_os_error()));
    }
    let frsize = st.f_frsize as u64;
    let total = st.f_blocks as u64 * frsize;
    let free = st.f_bfree as u64 * frsize;
    let avail = st.f_bavail as u64 * frsize;
    let used = total.saturating_sub(free);
    let pct = if used + avail == 0 { 0.0 } else { (used as f64 * 1000.0 / (used + avail) as f64).ceil() / 10.0 };
    let mount = mounts()
        .into_iter()
        .filter(|m| canonical.starts_with(&m.mount))
        .max_by_key(|m| m.mount.len())
        .unwrap_or(Mount { device: String::new(), mount: "/".into(), fs_type: String::new() });
    let mut m = Map::new();
    m.insert("path".into(), Dynamic::from(path.display().to_string()));
    m.insert("mount".into(), Dynamic::from(mount.mount));
    m.insert("device".into(), Dynamic::from(mount.device));
    m.insert("fs_type".into(), Dynamic::from(mount.fs_type));
    m.insert("total".into(), Dynamic::from_int(total as i64));
    m.insert("used".into(), Dynamic::from_int(used as i64));
    m.insert("available".into(), Dynamic::from_int(avail as i64));
    m.insert("used_pct".into(), Dynamic::from_float(pct));
    Ok(m)
}

const PSEUDO_FS: &[&str] = &[
    "proc",
    "sysfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "nsfs",
    "devtmpfs",
    "rpc_pipefs",
    "efivarfs",
    "ramfs",
];

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod sys_functions {
    use std::path::Path;

    use rhai::{Array, Dynamic, Map};

    use super::{disk_usage, meminfo, mounts, CpuReading, PSEUDO_FS, TICKED_SAMPLE_MIN};
    use crate::host::time::Span;
    use crate::host::{error, HostResult};

    /// CPU use over a 250 ms sample: `#{used_pct, iowait_pct, cores,
    /// sample_ms, exact}`; `iowait_pct` is time spent idle waiting for disk
    /// (the manual's "Disk I/O Wait").
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let c = sys::cpu();
    /// assert(c.used_pct >= 0.0 && c.used_pct <= 100.0 && c.cores >= 1, "a percentage");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn cpu() -> HostResult<Map> {
        cpu_sampled("250ms")
    }

    /// CPU use over a `Duration` (a `duration` param): as `sys::cpu("250ms")`.
    ///
    /// *read-only*
    #[rhai_fn(name = "cpu", return_raw)]
    pub fn cpu_sampled_span(sample: crate::host::time::Span) -> HostResult<Map> {
        cpu_sampled(&sample.to_string())
    }

    /// CPU use over a sample of the given length, e.g. `sys::cpu("25ms")`.
    ///
    /// Where the machine's cpuacct cgroup can be read (cgroup v1 hosts),
    /// busy time comes from the scheduler's nanosecond clock and
    /// `exact` is true: a 25 ms sample is as exact as a long one. Elsewhere
    /// it comes from /proc/stat, which counts 10 ms ticks, so a sample is
    /// made at least 250 ms long; `sample_ms` says how long it was.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let c = sys::cpu("25ms");
    /// let want = if c.exact { 25 } else { 250 };
    /// assert(c.sample_ms == want, "lengthened only where ticks are counted");
    /// ```
    #[rhai_fn(name = "cpu", return_raw)]
    pub fn cpu_sampled(sample: &str) -> HostResult<Map> {
        let asked = crate::duration::parse(sample).map_err(|e| error("sys::cpu", e))?;
        if asked.is_zero() {
            // Two readings with nothing between them measure only this call.
            return Err(error(
                "sys::cpu",
                format!("a sample of \"{sample}\" measures nothing: give a length, e.g. \"25ms\""),
            ));
        }
        let before = CpuReading::now().map_err(|e| error("sys::cpu", e))?;
        let exact = before.busy_ns.is_some();
        let d = if exact { asked } else { asked.max(TICKED_SAMPLE_MIN) };
        crate::engine::runtime::block_on(async move { tokio::time::sleep(d).await })?;
        let after = CpuReading::now().map_err(|e| error("sys::cpu", e))?;
        let (used, iowait) = before.usage_until(&after);
        let mut m = Map::new();
        m.insert("used_pct".into(), Dynamic::from_float((used * 10.0).round() / 10.0));
        m.insert("iowait_pct".into(), Dynamic::from_float((iowait * 10.0).round() / 10.0));
        m.insert(
            "cores".into(),
            Dynamic::from_int(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as i64),
        );
        m.insert("sample_ms".into(), Dynamic::from_int(d.as_millis() as i64));
        m.insert("exact".into(), Dynamic::from_bool(exact && after.busy_ns.is_some()));
        Ok(m)
    }

    /// Memory: `#{total, used, available, free, used_pct, swap_total,
    /// swap_used}` in bytes; used is total minus available, as `free` says.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let m = sys::memory();
    /// assert(m.used <= m.total && m.used_pct <= 100.0, "sane");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn memory() -> HostResult<Map> {
        let mi = meminfo().map_err(|e| error("sys::memory", e))?;
        let g = |k: &str| *mi.get(k).unwrap_or(&0) as i64;
        let total = g("MemTotal");
        let available = if mi.contains_key("MemAvailable") { g("MemAvailable") } else { g("MemFree") + g("Cached") };
        let used = total - available;
        let mut m = Map::new();
        m.insert("total".into(), Dynamic::from_int(total));
        m.insert("used".into(), Dynamic::from_int(used));
        m.insert("available".into(), Dynamic::from_int(available));
        m.insert("free".into(), Dynamic::from_int(g("MemFree")));
        let pct = if total > 0 { used as f64 * 100.0 / total as f64 } else { 0.0 };
        m.insert("used_pct".into(), Dynamic::from_float((pct * 10.0).round() / 10.0));
        m.insert("swap_total".into(), Dynamic::from_int(g("SwapTotal")));
        m.insert("swap_used".into(), Dynamic::from_int(g("SwapTotal") - g("SwapFree")));
        Ok(m)
    }

    /// Usage of the filesystem that holds `path`, like `df`:
    /// `#{path, mount, device, fs_type, total, used, available, used_pct}`.
    /// As in `df`, `used_pct` is `used / (used + available)`: the blocks
    /// reserved for root count as neither, so it is the share of what
    /// ordinary users can fill, and reaches 100 when they can write no more.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let d = sys::disk("/");
    /// assert(d.mount == "/" && d.total > 0, "root is mounted");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn disk(path: &str) -> HostResult<Map> {
        disk_usage(Path::new(path)).map_err(|e| error("sys::disk", e))
    }

    /// Every real mounted filesystem (no /proc, /sys and the like), each
    /// as `sys::disk` describes it.
    ///
    /// *read-only*
    #[rhai_fn(return_raw)]
    pub fn disks() -> HostResult<Array> {
        let mut out = Array::new();
        let mut seen = std::collections::HashSet::new();
        for m in mounts() {
            if PSEUDO_FS.contains(&m.fs_type.as_str()) || !seen.insert(m.mount.clone()) {
                continue;
            }
            if let Ok(d) = disk_usage(Path::new(&m.mount)) {
                if d.get("total").and_then(|t| t.as_int().ok()).unwrap_or(0) > 0 {
                    out.push(Dynamic::from_map(d));
                }
            }
        }
        Ok(out)
    }

    /// Load averages: `#{one, five, fifteen, cores}`.
    ///
    /// *read-only*
    #[rhai_fn(return_raw)]
    pub fn load() -> HostResult<Map> {
        let text = std::fs::read_to_string("/proc/loadavg").map_err(|e| error("sys::load", e))?;
        let v: Vec<f64> = text.split_whitespace().take(3).filter_map(|x| x.parse().ok()).collect();
        if v.len() < 3 {
            return Err(error("sys::load", "unexpected /proc/loadavg format"));
        }
        let mut m = Map::new();
        m.insert("one".into(), Dynamic::from_float(v[0]));
        m.insert("five".into(), Dynamic::from_float(v[1]));
        m.insert("fifteen".into(), Dynamic::from_float(v[2]));
        m.insert(
            "cores".into(),
            Dynamic::from_int(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as i64),
        );
        Ok(m)
    }

    /// How long the machine has been up.
    ///
    /// *read-only*
    #[rhai_fn(return_raw)]
    pub fn uptime() -> HostResult<Span> {
        let text = std::fs::read_to_string("/proc/uptime").map_err(|e| error("sys::uptime", e))?;
        let secs: f64 = text.split_whitespace().next().and_then(|x| x.parse().ok()).unwrap_or(0.0);
        Ok(Span::from_micros((secs * 1e6) as i64))
    }

    /// This machine's host name.
    ///
    /// *read-only*
    pub fn hostname() -> String {
        super::hostname_string()
    }
}

#[cfg(test)]
mod tests {
    use super::{covers_machine, parse_proc_stat};

    // Read off this project's CI machine: cpuacct.usage 1158036511583 ns
    // against 104505 + 0 + 10577 ticks of user, nice and system.
    const STAT: &str = "cpu  104505 0 10577 70674 746 0 224 403 0 0\ncpu0 52000 0 5000 35000 300 0 100 200 0 0\n";

    #[test]
    fn proc_stat_busy_is_everything_but_idle_and_iowait() {
        assert_eq!(
            parse_proc_stat(STAT),
            Ok((104505 + 10577 + 224 + 403, 746, 104505 + 10577 + 70674 + 746 + 224 + 403))
        );
        assert!(parse_proc_stat("intr 1 2 3\n").is_err());
    }

    #[test]
    fn cpuacct_is_the_machines_only_when_it_saw_what_proc_stat_counted() {
        assert!(covers_machine(1_158_036_511_583, STAT, 100));
        // A container's group: a tenth of the machine's time.
        assert!(!covers_machine(115_803_651_158, STAT, 100));
        assert!(!covers_machine(1_158_036_511_583, "garbage", 100));
    }
}
