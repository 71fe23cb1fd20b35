//! Rhai values to and from JSON, shared by `json::`, the report renderers
//! and every client that returns records. Timestamps become RFC 3339
//! strings and durations their compact text ("1h30m"), both of which the
//! `time` module reads back.

use rhai::{Array, Dynamic, Map};
use serde_json::Value;

use super::time::{Span, Timestamp};

pub fn to_json(v: &Dynamic) -> Value {
    if v.is_unit() {
        return Value::Null;
    }
    if let Ok(b) = v.as_bool() {
        return Value::Bool(b);
    }
    if let Ok(i) = v.as_int() {
        return Value::from(i);
    }
    if let Ok(f) = v.as_float() {
        return serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null);
    }
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        return Value::String(s.to_string());
    }
    if let Ok(c) = v.as_char() {
        return Value::String(c.to_string());
    }
    if let Some(a) = v.read_lock::<Array>() {
        return Value::Array(a.iter().map(to_json).collect());
    }
    if let Some(m) = v.read_lock::<Map>() {
        return Value::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect());
    }
    if let Some(t) = v.read_lock::<Timestamp>() {
        return Value::String(t.rfc3339_exact());
    }
    if let Some(s) = v.read_lock::<Span>() {
        return Value::String(s.to_string());
    }
    if let Some(b) = v.read_lock::<rhai::Blob>() {
        return Value::Array(b.iter().map(|x| Value::from(*x)).collect());
    }
    Value::String(v.to_string())
}

pub fn from_json(v: Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(s),
        Value::Array(a) => Dynamic::from_array(a.into_iter().map(from_json).collect()),
        Value::Object(o) => Dynamic::from_map(o.into_iter().map(|(k, v)| (k.into(), from_json(v))).collect()),
    }
}

/// A value's type as scripts know it ("int", "Duration"), not as Rust
/// spells it ("i64", "runbook::value::Span"), for error messages.
pub fn type_name(v: &Dynamic) -> String {
    if v.is::<Span>() {
        return "Duration".into();
    }
    match v.type_name() {
        "i64" | "i32" => "int".into(),
        "f64" | "f32" => "float".into(),
        other => other.rsplit("::").next().unwrap_or(other).to_string(),
    }
}
