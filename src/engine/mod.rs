//! Building the Rhai engine: the sandbox limits, the confined module
//! resolver, the progress hook that enforces the deadline, and the host
//! modules. See docs/ARCHITECTURE.md, "Rhai facts that shape the engine".

pub mod context;
pub mod diagnostic;
pub mod failure;
pub mod guard;
pub mod lint;
pub mod reference;
pub mod resolver;
pub mod runtime;
pub mod stdlib_ref;
pub mod steps;

use std::sync::OnceLock;

use rhai::packages::{Package, StandardPackage};
use rhai::{Engine, Module, OptimizationLevel};

type SharedModule = std::sync::Arc<Module>;

use crate::config::LimitsConfig;

pub use context::SCRIPT_STACK;

/// Built once per process: `Engine::new()` would rebuild it every time.
fn standard_package() -> SharedModule {
    static STD: OnceLock<SharedModule> = OnceLock::new();
    STD.get_or_init(|| StandardPackage::new().as_shared_module()).clone()
}

/// The scope every script starts with, the same for `run`, `check`, the
/// REPL and the scheduler's runs: `SCRIPT` (its name) and `DRY_RUN`.
pub fn scope<'a>(script: &str, dry_run: bool) -> rhai::Scope<'a> {
    let mut scope = rhai::Scope::new();
    scope.push_constant("SCRIPT", script.to_string());
    scope.push_constant("DRY_RUN", dry_run);
    scope
}

/// A fully configured engine. `stdlib_dirs` are the local folders searched
/// for `import "name"` before the stdlib compiled into the binary.
pub fn build(limits: &LimitsConfig, stdlib_dirs: Vec<std::path::PathBuf>) -> Engine {
    let mut engine = configured(limits, stdlib_dirs);
    crate::host::register(&mut engine);
    engine
}

/// An engine for running `source`: with the host modules it names only
/// (`host::register_for`). A run's start-up is mostly building modules.
pub fn build_for(limits: &LimitsConfig, stdlib_dirs: Vec<std::path::PathBuf>, source: &str) -> Engine {
    let mut engine = configured(limits, stdlib_dirs);
    crate::host::register_for(&mut engine, source);
    engine
}

fn configured(limits: &LimitsConfig, stdlib_dirs: Vec<std::path::PathBuf>) -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(standard_package());
    // Never `Full`: it evaluates native calls with constant arguments at
    // compile time, so `fs::remove("/x")` could run during `runbook check`.
    engine.set_optimization_level(OptimizationLevel::Simple);
    // Registered operators first: with rhai's fast path, `5 > "3"` is a
    // silent `false` before host/mixing.rs can say it mixes types (1.6×
    // on pure-Rhai arithmetic: docs/BENCHMARKS.md).
    engine.set_fast_operators(false);
    // Every limit explicitly: debug and release builds have different
    // defaults, and scripts must behave the same in tests and production.
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_depth);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    engine.set_max_modules(256);
    engine.set_max_variables(100_000);
    engine.set_max_functions(10_000);
    // A misspelt variable is a compile error (`runbook check` finds it),
    // and so is reading a field a map does not have at run time.
    engine.set_strict_variables(true);
    engine.set_fail_on_invalid_map_property(true);
    engine.set_module_resolver(resolver::StdlibResolver::new(stdlib_dirs));

    let max_memory = limits.max_memory;
    engine.on_progress(move |ops| {
        // Checking the clock on every operation would cost more than the
        // operation; every 256th keeps the deadline accurate to microseconds.
        if ops & 0xff == 0 {
            if crate::memory::in_use() > max_memory {
                return Some(rhai::Dynamic::from(context::TOKEN_MEMORY));
            }
            return context::ctx().interruption().map(rhai::Dynamic::from);
        }
        None
    });
    engine.on_print(crate::report::print_line);
    engine.on_debug(|s, src, pos| {
        let place = match (src, pos.line()) {
            (Some(src), Some(l)) => format!("{src}:{l}: "),
            (None, Some(l)) => format!("line {l}: "),
            _ => String::new(),
        };
        crate::output::err(&format!("[debug] {place}{s}"));
    });
    engine
}

/// Run `f` on a thread with [`SCRIPT_STACK`] of stack, and wait for it.
#[allow(clippy::expect_used, reason = "without a thread nothing can run; the OS refusing one is not a script's error")]
pub fn on_script_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("script".into())
            .stack_size(SCRIPT_STACK)
            .spawn_scoped(s, f)
            .expect("cannot start the script thread");
        match handle.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
