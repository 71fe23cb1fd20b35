//! Rhai's traps, closed. Mixed types where Rhai would be silently wrong:
//! `time::now() + "1h"` concatenates text, `t < "2020-01-01"` and `5 > "3"`
//! are false whatever the values; each such operator is defined here to
//! fail instead, naming both types and the conversion to use. And a caught
//! system error (`catch (e)` after `1 / 0`), which Rhai hands over as a
//! map, reads as its message. Not in the reference: these are the
//! mistakes, not the API.

use rhai::plugin::*;

use super::time::{Span, Timestamp};

fn mixed(what: String, fix: &str) -> Box<EvalAltResult> {
    super::error("", format!("{what}: {fix}"))
}

const TS_TEXT: &str = "parse the text first: time::parse(\"2026-01-31\") (or compare t.to_string())";
const SPAN_TEXT: &str = "make the text a Duration: time::duration(\"1h\")";
const NUM_TEXT: &str = "convert one side: parse_int(s) / parse_float(s), or n.to_string()";

/// A value as Rhai writes it in a map or an array (`#{"n": 1, "s": "x"}`),
/// but a time or a duration as it reads everywhere else.
fn written(v: &Dynamic) -> String {
    if v.is_unit() {
        return "()".into();
    }
    if let Some(t) = v.read_lock::<Timestamp>() {
        return t.rfc3339();
    }
    if let Some(d) = v.read_lock::<Span>() {
        return d.to_string();
    }
    if let Some(m) = v.read_lock::<rhai::Map>() {
        let items: Vec<String> = m.iter().map(|(k, v)| format!("{k:?}: {}", written(v))).collect();
        return format!("#{{{}}}", items.join(", "));
    }
    if let Some(a) = v.read_lock::<rhai::Array>() {
        return format!("[{}]", a.iter().map(written).collect::<Vec<_>>().join(", "));
    }
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        return format!("{:?}", s.as_str());
    }
    v.to_string()
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod mixing_functions {
    use super::*;

    // A caught error reads as its message; any other map as Rhai writes
    // one, with times and durations as they read everywhere else (Rhai's
    // own display shows them by their Rust type name).
    #[rhai_fn(global, name = "to_string", name = "print", name = "to_debug", pure)]
    pub fn map_to_string(m: &mut rhai::Map) -> String {
        let caught = m.contains_key("error")
            && m.contains_key("message")
            && m.keys().all(|k| {
                matches!(k.as_str(), "error" | "message" | "line" | "position" | "source" | "function" | "value")
            });
        match m.get("message") {
            Some(msg) if caught => msg.to_string(),
            _ => super::written(&Dynamic::from_map(m.clone())),
        }
    }

    #[rhai_fn(global, name = "+", return_raw)]
    pub fn ts_plus_text(_t: Timestamp, s: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        Err(mixed(
            format!("cannot add the string \"{s}\" to a Timestamp"),
            "add a Duration: t + time::duration(\"1h\"); for text, write `${t} …` or t.to_string() + \"…\"",
        ))
    }
    #[rhai_fn(global, name = "-", return_raw)]
    pub fn ts_minus_text(_t: Timestamp, s: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        Err(mixed(
            format!("cannot subtract the string \"{s}\" from a Timestamp"),
            "subtract a Duration: t - time::duration(\"1h\")",
        ))
    }
    #[rhai_fn(global, name = "+", return_raw)]
    pub fn span_plus_text(_d: Span, s: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        Err(mixed(format!("cannot add the string \"{s}\" to a Duration"), SPAN_TEXT))
    }
    #[rhai_fn(global, name = "==", name = "!=", name = "<", name = "<=", name = ">", name = ">=", return_raw)]
    pub fn ts_vs_text(_t: Timestamp, s: &str) -> Result<bool, Box<EvalAltResult>> {
        Err(mixed(format!("cannot compare a Timestamp with the string \"{s}\""), TS_TEXT))
    }
    #[rhai_fn(global, name = "==", name = "!=", name = "<", name = "<=", name = ">", name = ">=", return_raw)]
    pub fn text_vs_ts(s: &str, _t: Timestamp) -> Result<bool, Box<EvalAltResult>> {
        Err(mixed(format!("cannot compare the string \"{s}\" with a Timestamp"), TS_TEXT))
    }
    #[rhai_fn(global, name = "==", name = "!=", return_raw)]
    pub fn span_eq_text(_d: Span, s: &str) -> Result<bool, Box<EvalAltResult>> {
        Err(mixed(format!("cannot compare a Duration with the string \"{s}\" for equality"), SPAN_TEXT))
    }
    #[rhai_fn(global, name = "==", name = "!=", return_raw)]
    pub fn text_eq_span(s: &str, _d: Span) -> Result<bool, Box<EvalAltResult>> {
        Err(mixed(format!("cannot compare the string \"{s}\" with a Duration for equality"), SPAN_TEXT))
    }
    #[rhai_fn(global, name = "==", name = "!=", name = "<", name = "<=", name = ">", name = ">=", return_raw)]
    pub fn int_vs_text(n: rhai::INT, s: &str) -> Result<bool, Box<EvalAltResult>> {
        Err(mixed(format!("cannot compare the int {n} with the string \"{s}\""), NUM_TEXT))
    }
    #[rhai_fn(global, name = "==", name = "!=", name = "<", name = "<=", name = ">", name = ">=", return_raw)]
    pub fn text_vs_int(s: &str, n: rhai::INT) -> Result<bool, Box<EvalAltResult>> {
        Err(mixed(format!("cannot compare the string \"{s}\" with the int {n}"), NUM_TEXT))
    }
    #[rhai_fn(global, name = "==", name = "!=", name = "<", name = "<=", name = ">", name = ">=", return_raw)]
    pub fn float_vs_text(n: f64, s: &str) -> Result<bool, Box<EvalAltResult>> {
        Err(mixed(format!("cannot compare the float {n} with the string \"{s}\""), NUM_TEXT))
    }
    #[rhai_fn(global, name = "==", name = "!=", name = "<", name = "<=", name = ">", name = ">=", return_raw)]
    pub fn text_vs_float(s: &str, n: f64) -> Result<bool, Box<EvalAltResult>> {
        Err(mixed(format!("cannot compare the string \"{s}\" with the float {n}"), NUM_TEXT))
    }
}
