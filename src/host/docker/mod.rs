//! `docker`: the Docker Engine API in compose's words. Containers are
//! named by compose service ("backend"), container name or id; the
//! project comes from `[docker] project`, else `COMPOSE_PROJECT_NAME`,
//! else `[docker] compose_file`.
//! No `docker` CLI is involved: bollard talks to the engine's socket.

pub mod address;
mod client;
pub mod compose;
mod exec;
mod exec_background;
mod logs;
mod ps;
mod resolve;
mod stats;
mod tunnel;

/// Close the ssh tunnels of ssh:// engines (at the end of a script).
pub fn close_tunnels() {
    tunnel::close_all();
}

pub use exec_background::BackgroundExec;

use rhai::plugin::*;

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod docker_functions {
    use rhai::{Array, Map, INT};

    use super::BackgroundExec;

    use crate::host::HostResult;

    /// The containers of the compose project, stopped ones included, as
    /// `docker-compose ps` shows them: maps with `id`, `name`, `project`,
    /// `service`, `image`, `state` ("running", "exited" …), `running`,
    /// `status` ("Up 2 hours (healthy)"), `health` ("healthy",
    /// "unhealthy", "starting" or ""), `started_at` (a Timestamp, `()`
    /// when never started), `exit_code` and `ports` ("0.0.0.0:8080->80/tcp").
    /// With no project configured (`[docker] project`, `compose_file` or
    /// $COMPOSE_PROJECT_NAME) it throws, saying so.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// for c in docker::ps() {
    ///     check(`${c.service} is running`, || c.running);
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ps() -> HostResult<Array> {
        super::ps::ps(Map::new())
    }

    /// `ps` with options `#{project, service, all}`: another project than
    /// the configured one (`project: ""` for every container on the
    /// engine), one service only, or running containers only (`all: false`).
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let workers = docker::ps(#{service: "worker", all: false});
    /// metric("workers running", workers.len(), #{min: 1});
    /// ```
    #[rhai_fn(name = "ps", return_raw)]
    pub fn ps_with(options: Map) -> HostResult<Array> {
        super::ps::ps(options)
    }

    /// The compose services that must have a container: those of `[docker]
    /// compose_file` that `docker compose up` starts (none behind a
    /// profile or scaled to zero), then `[docker] services`. Empty when
    /// neither is configured. A service here with no row in `ps()` was
    /// never created or has been removed.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let present = docker::ps().map(|c| c.service);
    /// for s in docker::expected_services() {
    ///     if !present.contains(s) { crit(`${s}: no container`); }
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn expected_services() -> HostResult<Array> {
        let names = super::compose::expected().map_err(|e| crate::host::error("docker::expected_services", e))?;
        Ok(names.into_iter().map(rhai::Dynamic::from).collect())
    }

    /// Everything the engine knows about one container (`docker inspect`),
    /// as a map: `State`, `Config`, `NetworkSettings` …
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let i = docker::inspect("postgres");
    /// print(i.State.Status);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn inspect(name: &str) -> HostResult<Map> {
        super::ps::inspect(name)
    }

    /// The log lines of a container, or of every container of a service,
    /// stdout and stderr together.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// for line in docker::logs("backend") { print(line); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn logs(name: &str) -> HostResult<Array> {
        super::logs::logs(name, Map::new())
    }

    /// Log lines with options `#{since, until, tail, timestamps, stream,
    /// pattern, ignore_case}`: `since`/`until` a duration ago ("1h") or a
    /// date-time, `tail` the last N lines, `timestamps: true` prefixes
    /// each line with the engine's time, `stream` "stdout", "stderr" or
    /// "both" (default); `pattern` keeps only lines matching a regular
    /// expression, as they stream in (`tail` then counts those).
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let last = docker::logs("backend", #{since: "1h", tail: 50, stream: "stderr"});
    /// let errors = docker::logs("backend", #{since: "7d", pattern: "error", ignore_case: true});
    /// ```
    #[rhai_fn(name = "logs", return_raw)]
    pub fn logs_with(name: &str, options: Map) -> HostResult<Array> {
        super::logs::logs(name, options)
    }

    /// Count log lines matching `pattern` (a regular expression) without
    /// holding them: options `#{since, until, stream, pattern,
    /// ignore_case}`. The manual's "Recent Errors (last hour)".
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let errors = docker::count_logs("backend", #{since: "1h", pattern: "ERROR"});
    /// metric("backend errors (1h)", errors, #{warn: 10, crit: 100});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn count_logs(name: &str, options: Map) -> HostResult<INT> {
        super::logs::count_logs(name, options)
    }

    /// Run `argv` in the container (`docker-compose exec -T`):
    /// `#{code, stdout, stderr, duration_ms, container}`. A non-zero exit
    /// code is returned, not thrown; a program that does not exist in the
    /// container throws. A service with several running containers is an
    /// error that lists them.
    ///
    /// *mutating* (read-only for `read_only: true` on an argv known to read)
    ///
    /// ```rhai,no_run
    /// let r = docker::exec("postgres", ["pg_isready"], #{read_only: true});
    /// check("postgres accepts connections", || r.code == 0);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn exec(name: &str, argv: Array) -> HostResult<Map> {
        super::exec::exec(name, argv, Map::new())
    }

    /// `exec` with options `#{user, env, workdir, stdin, timeout,
    /// read_only}`: `env` a map of variables, `stdin` text for the
    /// command's input, `timeout` ("30s") throws when it passes (and kills
    /// the command when the engine is on this machine), `read_only: true`
    /// asks to run it under `--dry-run` too, which is granted only for an
    /// argv known to read (`alembic current`, `pip list --outdated --format
    /// json` …, or a pattern in `[docker] read_only`): a claim on an argv
    /// someone passed in (`sh -c …`) is not enough.
    ///
    /// *mutating* (read-only for `read_only: true` on an argv known to read)
    ///
    /// ```rhai,no_run
    /// let r = docker::exec("backend", ["celery", "-A", "app.worker", "inspect", "active", "-j"],
    ///                      #{timeout: "20s", read_only: true});
    /// ```
    #[rhai_fn(name = "exec", return_raw)]
    pub fn exec_with(name: &str, argv: Array, options: Map) -> HostResult<Map> {
        super::exec::exec(name, argv, options)
    }

    /// Start `argv` in the container and go on at once; `.wait()` on
    /// what it returns gives what `docker::exec` would have (and throws
    /// what it would have thrown). Options as for `exec`. A slow command,
    /// like Celery's `inspect` that waits a second for its workers, then
    /// runs while the script checks other things: the run takes as long
    /// as its slowest step, not all of them added up.
    ///
    /// *mutating* (read-only for `read_only: true` on an argv known to read)
    ///
    /// ```rhai,no_run
    /// let celery = docker::exec_background("backend", ["celery", "-A", "app.worker", "inspect", "active", "-j"],
    ///                            #{read_only: true, timeout: "30s"});
    /// check("database", || pg::connect("main").scalar("SELECT 1") == 1);
    /// check("celery", || celery.wait().code == 0);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn exec_background(name: &str, argv: Array, options: Map) -> HostResult<BackgroundExec> {
        super::exec_background::start(name, argv, options)
    }

    /// `exec_background` with no options: a mutating command, skipped in a dry run.
    ///
    /// *mutating*
    #[rhai_fn(name = "exec_background", return_raw)]
    pub fn exec_background_plain(name: &str, argv: Array) -> HostResult<BackgroundExec> {
        super::exec_background::start(name, argv, Map::new())
    }

    /// Wait for a command `docker::exec_background` started: `#{code, stdout,
    /// stderr, duration_ms, container}` as `docker::exec` gives. Waiting
    /// again gives the same result.
    ///
    /// *read-only*
    #[rhai_fn(global, return_raw)]
    pub fn wait(running: &mut BackgroundExec) -> HostResult<Map> {
        super::exec_background::wait(running)
    }

    /// Stream the command's stdout into `path` (inside `[fs] roots`):
    /// written to a temporary file and renamed into place only when the
    /// command exits 0, so a failed run leaves no file. Returns `#{path,
    /// bytes, output_bytes, sha256, stderr, duration_ms, container}`.
    ///
    /// *mutating*
    ///
    /// ```rhai,no_run
    /// docker::exec_to_file("postgres", ["pg_dump", "-U", "civicq", "civicq"], "/backups/civicq.sql");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn exec_to_file(name: &str, argv: Array, path: &str) -> HostResult<Map> {
        super::exec::exec_to_file(name, argv, path, Map::new())
    }

    /// `exec_to_file` with options `#{gzip, user, env, workdir, timeout}`;
    /// `gzip: true` compresses on the way (the manual's `| gzip > file`).
    ///
    /// *mutating*
    ///
    /// ```rhai,no_run
    /// let b = docker::exec_to_file("postgres", ["pg_dump", "-U", "civicq", "civicq"],
    ///                              "/backups/civicq.sql.gz", #{gzip: true});
    /// print(`${b.bytes} bytes, sha256 ${b.sha256}`);
    /// ```
    #[rhai_fn(name = "exec_to_file", return_raw)]
    pub fn exec_to_file_with(name: &str, argv: Array, path: &str, options: Map) -> HostResult<Map> {
        super::exec::exec_to_file(name, argv, path, options)
    }

    /// Restart a container, or every container of a service; returns the
    /// names of the containers restarted.
    ///
    /// *mutating*
    ///
    /// ```rhai,no_run
    /// docker::restart("backend");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn restart(name: &str) -> HostResult<Array> {
        super::ps::lifecycle("restart", name, Map::new())
    }

    /// Restart with `#{timeout}`: how long the containers get to stop
    /// before they are killed ("10s" by default, as Docker's).
    ///
    /// *mutating*
    #[rhai_fn(name = "restart", return_raw)]
    pub fn restart_with(name: &str, options: Map) -> HostResult<Array> {
        super::ps::lifecycle("restart", name, options)
    }

    /// Stop a container, or every container of a service.
    ///
    /// *mutating*
    ///
    /// ```rhai,no_run
    /// docker::stop("worker");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn stop(name: &str) -> HostResult<Array> {
        super::ps::lifecycle("stop", name, Map::new())
    }

    /// Stop with `#{timeout}` before the containers are killed.
    ///
    /// *mutating*
    #[rhai_fn(name = "stop", return_raw)]
    pub fn stop_with(name: &str, options: Map) -> HostResult<Array> {
        super::ps::lifecycle("stop", name, options)
    }

    /// Start a stopped container, or every container of a service.
    ///
    /// *mutating*
    ///
    /// ```rhai,no_run
    /// docker::start("worker");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn start(name: &str) -> HostResult<Array> {
        super::ps::lifecycle("start", name, Map::new())
    }

    /// One sample of a running container's resources: `#{container,
    /// cpu_pct, mem_used, mem_limit, mem_pct, net_rx, net_tx, block_read,
    /// block_write, pids}` (bytes; takes about a second, as the CPU share
    /// is measured between two samples).
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let s = docker::stats("postgres");
    /// metric("postgres memory", s.mem_pct, #{unit: "%", warn: 80, crit: 95});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn stats(name: &str) -> HostResult<Map> {
        super::stats::stats(name)
    }
}
