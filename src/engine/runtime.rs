//! The one tokio runtime, and the bridge from synchronous Rhai host
//! functions to async clients.
//!
//! Rhai cannot interrupt a host call from its progress hook, so every
//! future a host function waits on is raced against the time the run has
//! left and against cancellation (the REPL's Ctrl-C). Losing that race
//! ends the run with `ErrorTerminated`, which scripts cannot catch.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use rhai::{Dynamic, EvalAltResult, Position};

use super::context::{ctx, CANCELLED, TOKEN_INTERRUPTED, TOKEN_TIMEOUT};

/// Created on first use, so a script that never waits on I/O never pays
/// for it. A current-thread runtime: the script thread drives the I/O
/// itself inside `block_on`, so a query costs no hand-off between threads
/// (a multi-thread runtime adds a wake-up per call, which a loop of short
/// queries feels).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    #[allow(
        clippy::expect_used,
        reason = "no host function works without the runtime; the OS refusing an epoll fd is fatal"
    )]
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("cannot start the I/O runtime")
    })
}

/// Resolves when the run is cancelled. The waiter is registered before
/// the flag is read, so a cancel between the two is not lost; `cancel`
/// wakes every waiter (`fleet::each` has several host calls waiting at
/// once), and leaves a permit for one that is not waiting yet.
async fn cancelled() {
    loop {
        let woken = CANCELLED.notified();
        if ctx().cancelled() {
            return;
        }
        woken.await;
    }
}

/// Clean-ups owed by work that was dropped unfinished (see [`OnAbandon`]),
/// each with the thread that dropped it: `fleet::each` waits on several
/// threads at once, and one thread's call ending well must not forget
/// another's clean-up.
static ABANDONED: std::sync::Mutex<Vec<Owed>> = std::sync::Mutex::new(Vec::new());

struct Owed {
    /// The thread that dropped the work.
    by: std::thread::ThreadId,
    /// Owed on every drop ([`OnAbandon::always`]): a spawned task is dropped
    /// on whichever thread drives the runtime, so its thread says nothing.
    always: bool,
    clean_up: CleanUp,
}

type CleanUp = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// How long the clean-ups of abandoned work may take: a cancel request to
/// a database, a kill of a command in a container.
const CLEAN_UP_WITHIN: Duration = Duration::from_secs(5);

/// A clean-up that runs if the work it guards is dropped before it calls
/// [`OnAbandon::done`]: the run's deadline, Ctrl-C or SIGTERM dropped the
/// future of a host call, and what that call started elsewhere (a statement
/// on the server, a command in a container) must not go on without us.
pub struct OnAbandon {
    clean_up: Option<CleanUp>,
    /// Owed however the work was dropped, not only when the run stopped.
    always: bool,
}

impl OnAbandon {
    pub fn new(clean_up: impl Future<Output = ()> + Send + 'static) -> OnAbandon {
        OnAbandon { clean_up: Some(Box::pin(clean_up)), always: false }
    }
    /// For work that nobody waits for once its handle is gone (a background
    /// command whose script ended): the clean-up is owed on every drop.
    pub fn always(clean_up: impl Future<Output = ()> + Send + 'static) -> OnAbandon {
        OnAbandon { clean_up: Some(Box::pin(clean_up)), always: true }
    }
    /// The work finished: nothing to clean up.
    pub fn done(mut self) {
        self.clean_up = None;
    }
}

impl Drop for OnAbandon {
    fn drop(&mut self) {
        // Dropped by an early return (an error) the work is not abandoned.
        if !self.always && ctx().interruption().is_none() {
            return;
        }
        if let Some(c) = self.clean_up.take() {
            let owed = Owed { by: std::thread::current().id(), always: self.always, clean_up: c };
            ABANDONED.lock().unwrap_or_else(|e| e.into_inner()).push(owed);
        }
    }
}

/// Abort a spawned task, wait until its future is dropped (so that its
/// [`OnAbandon`] guards have spoken), and run the clean-ups owed. Called
/// from a `Drop` on the script thread; inside the runtime (where blocking
/// is not allowed) the abort alone is done.
pub fn abort_and_clean_up<T>(task: &mut tokio::task::JoinHandle<T>) {
    if task.is_finished() {
        return;
    }
    task.abort();
    if tokio::runtime::Handle::try_current().is_ok() {
        return;
    }
    runtime().block_on(async {
        let _ = tokio::time::timeout(CLEAN_UP_WITHIN, task).await;
    });
    clean_up_abandoned();
}

/// Run the clean-ups owed, within [`CLEAN_UP_WITHIN`] in all.
fn clean_up_abandoned() {
    let owed: Vec<CleanUp> = std::mem::take(&mut *ABANDONED.lock().unwrap_or_else(|e| e.into_inner()))
        .into_iter()
        .map(|o| o.clean_up)
        .collect();
    if owed.is_empty() {
        return;
    }
    runtime().block_on(async {
        let _ = tokio::time::timeout(CLEAN_UP_WITHIN, futures_util::future::join_all(owed)).await;
    });
}

/// Wait for `fut` on the script thread, bounded by the run's deadline.
pub fn block_on<T>(fut: impl Future<Output = T>) -> Result<T, Box<EvalAltResult>> {
    if let Some(token) = ctx().interruption() {
        return Err(terminated(token));
    }
    let remaining = ctx().remaining();
    let result = race(fut, remaining);
    if result.is_err() {
        // The future was dropped unfinished: what it started is stopped.
        clean_up_abandoned();
    } else {
        // A guard dropped by an early return in the very poll the deadline
        // fired is not owed: it must not run later, for another call.
        let me = std::thread::current().id();
        ABANDONED.lock().unwrap_or_else(|e| e.into_inner()).retain(|o| o.always || o.by != me);
    }
    result
}

fn race<T>(fut: impl Future<Output = T>, remaining: Option<Duration>) -> Result<T, Box<EvalAltResult>> {
    runtime().block_on(async move {
        // One timer per call: a loop of short queries feels every extra one.
        let deadline = async {
            match remaining {
                Some(r) => tokio::time::sleep(r).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            biased;
            v = fut => Ok(v),
            _ = deadline => Err(terminated(TOKEN_TIMEOUT.into())),
            _ = cancelled() => Err(terminated(ctx().interruption().unwrap_or_else(|| TOKEN_INTERRUPTED.into()))),
        }
    })
}

pub fn terminated(token: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorTerminated(Dynamic::from(token), Position::NONE))
}

/// Run disk- or CPU-bound work (a log scan) on the script thread. The work
/// itself checks `ctx().interruption()` between blocks; if it stopped for
/// that reason, the run ends here, uncatchably, like a timed-out future.
pub fn run_blocking<T>(work: impl FnOnce() -> T) -> Result<T, Box<EvalAltResult>> {
    if let Some(token) = ctx().interruption() {
        return Err(terminated(token));
    }
    let v = work();
    if let Some(token) = ctx().interruption() {
        return Err(terminated(token));
    }
    Ok(v)
}

/// Kills a child process's group when the run is interrupted or out of
/// time while a host function waits on the child synchronously (reading
/// pg_dump's output, say, which blocks while pg_dump waits on a lock).
/// The child must lead its own process group (`process_group(0)`), so
/// whatever it started goes too.
pub struct Watchdog {
    pid: Option<u32>,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The process groups of children running now: a second signal, which
/// ends runbook at once, kills them first.
static GROUPS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

pub fn register_group(pid: u32) {
    GROUPS.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
}

pub fn unregister_group(pid: u32) {
    GROUPS.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| *p != pid);
}

/// Kill every child group still running (before an immediate exit).
pub fn kill_all_groups() {
    for pid in std::mem::take(&mut *GROUPS.lock().unwrap_or_else(|e| e.into_inner())) {
        kill_group(pid);
    }
}

/// A child that leads its own process group is out of reach of a signal
/// sent to runbook's group (the scheduler's SIGKILL after its grace): it
/// gets SIGKILL when the thread that started it dies. A child waited for
/// within one host call is started on the thread that waits; one that
/// outlives the call (an ssh tunnel) goes through [`spawn_lasting`].
pub fn die_with_parent(cmd: &mut std::process::Command) {
    // SAFETY: prctl(2) is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Start `cmd` from a thread that lives as long as the process, so that
/// [`die_with_parent`] ties the child to the process, not to the thread
/// that asked: a `fleet::each` worker that opened a tunnel ends long
/// before the tunnel's last use.
pub fn spawn_lasting(cmd: std::process::Command) -> std::io::Result<std::process::Child> {
    type Ask = (std::process::Command, std::sync::mpsc::Sender<std::io::Result<std::process::Child>>);
    static SPAWNER: OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Ask>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Ask>();
        let _ = std::thread::Builder::new().name("spawner".into()).spawn(move || {
            for (mut cmd, answer) in rx {
                let _ = answer.send(cmd.spawn());
            }
        });
        std::sync::Mutex::new(tx)
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let sent = spawner.lock().unwrap_or_else(|e| e.into_inner()).send((cmd, tx));
    let lost = || std::io::Error::other("the thread that starts lasting programs is gone");
    sent.map_err(|_| lost())?;
    rx.recv().map_err(|_| lost())?
}

impl Watchdog {
    pub fn new(child_pid: u32) -> Watchdog {
        register_group(child_pid);
        use std::sync::atomic::Ordering;
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if ctx().interruption().is_some() {
                    kill_group(child_pid);
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Watchdog { done, thread: Some(thread), pid: Some(child_pid) }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            unregister_group(pid);
        }
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// SIGKILL to the process group `pid` leads.
pub fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        if pid > 1 {
            // SAFETY: kill(2) on a group this process started; no memory involved.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    }
}
