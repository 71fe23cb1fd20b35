//! The error a host function throws: catchable by the script, prefixed
//! with the module that raised it so that the operator knows which system
//! complained, and masked (a secret in a message never reaches a report).
//! `crate::host` re-exports both names; they live here, beneath it, because
//! the engine's dry-run guard raises them too.

use rhai::{EvalAltResult, Position};

/// A catchable script error: "pg (main): connection refused".
pub fn error(module: &str, message: impl std::fmt::Display) -> Box<EvalAltResult> {
    let text = if module.is_empty() { message.to_string() } else { format!("{module}: {message}") };
    Box::new(EvalAltResult::ErrorRuntime(crate::redact::apply(&text).into_owned().into(), Position::NONE))
}

/// What a host function returns.
pub type HostResult<T> = Result<T, Box<EvalAltResult>>;
