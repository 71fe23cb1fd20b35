//! The error a host function throws: catchable by the script, prefixed
//! with the module that raised it so that the operator knows which system
//! complained, and masked (a secret in a message never reaches a report).
//! `crate::host` re-exports both names; they live here, beneath it, because
//! the engine's dry-run guard raises them too.
//!
//! What a script catches is a plain string. The function that failed
//! travels beside it as data, in the string's Rhai tag (an index into
//! [`FUNCTIONS`]), so the diagnostic can point at its call without reading
//! the message back (docs/ARCHITECTURE.md, "Errors and hints").

use std::sync::Mutex;

use rhai::{Dynamic, EvalAltResult, Position};

/// Host function names that have raised an error in this process; a tag is
/// an index into it plus one (0, the default tag, is "not a host error").
/// Bounded by the number of host functions.
static FUNCTIONS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A catchable script error: "pg (main): connection refused". When
/// `module` names a function (`pg::connect`, `docker::exec (backend)`),
/// that function is kept as data for [`function_of`].
pub fn error(module: &str, message: impl std::fmt::Display) -> Box<EvalAltResult> {
    let text = if module.is_empty() { message.to_string() } else { format!("{module}: {message}") };
    let mut value: Dynamic = crate::redact::apply(&text).into_owned().into();
    let function = module.split(" (").next().unwrap_or(module);
    if function.contains("::") {
        value.set_tag(intern(function));
    }
    Box::new(EvalAltResult::ErrorRuntime(value, Position::NONE))
}

fn intern(function: &str) -> i32 {
    let mut names = FUNCTIONS.lock().unwrap_or_else(|p| p.into_inner());
    let i = match names.iter().position(|n| n == function) {
        Some(i) => i,
        None => {
            names.push(function.to_string());
            names.len() - 1
        }
    };
    i32::try_from(i + 1).unwrap_or(0)
}

/// The host function that raised this error value, if a host function did
/// (a script's own `throw "pg::connect: …"` names none).
pub fn function_of(value: &Dynamic) -> Option<String> {
    let i = usize::try_from(value.tag()).ok()?.checked_sub(1)?;
    FUNCTIONS.lock().unwrap_or_else(|p| p.into_inner()).get(i).cloned()
}

/// What a host function returns.
pub type HostResult<T> = Result<T, Box<EvalAltResult>>;
