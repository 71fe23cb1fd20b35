//! Option maps (`#{timeout: "5s", cwd: "/tmp"}`): typed getters whose
//! errors name the function and the key, and a check that refuses keys
//! the function does not know (a typo must not be silently ignored).

use std::time::Duration;

use rhai::{Dynamic, Map, INT};

use super::{error, HostResult};

pub struct Opts<'a> {
    func: &'static str,
    map: &'a Map,
}

impl<'a> Opts<'a> {
    /// The options of `func`, with the keys [`super::options`] lists for it.
    pub fn new(func: &'static str, map: &'a Map) -> HostResult<Self> {
        debug_assert!(super::options::keys(func).is_some(), "{func} is not in host/options.rs");
        let known = super::options::keys(func).unwrap_or_default();
        if let Some(problem) = map.keys().find_map(|k| super::options::unknown(known, k)) {
            return Err(error(func, problem));
        }
        Ok(Opts { func, map })
    }

    fn get(&self, key: &str) -> Option<&Dynamic> {
        self.map.get(key).filter(|v| !v.is_unit())
    }

    fn wrong(&self, key: &str, expected: &str, v: &Dynamic) -> Box<rhai::EvalAltResult> {
        error(self.func, format!("option `{key}` must be {expected}, not {}", v.type_name()))
    }

    pub fn str(&self, key: &str) -> HostResult<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if v.is_string() => Ok(Some(v.clone().into_string().unwrap_or_default())),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    pub fn bool(&self, key: &str) -> HostResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_bool().map(Some).map_err(|_| self.wrong(key, "true or false", v)),
        }
    }

    pub fn int(&self, key: &str) -> HostResult<Option<INT>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_int().map(Some).map_err(|_| self.wrong(key, "an int", v)),
        }
    }

    pub fn float(&self, key: &str) -> HostResult<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => number(v).map(Some).ok_or_else(|| self.wrong(key, "a number", v)),
        }
    }

    /// A duration: "30s", a number of seconds, or a `Duration`.
    pub fn duration(&self, key: &str) -> HostResult<Option<Duration>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => to_duration(v).map(Some).map_err(|e| error(self.func, format!("option `{key}`: {e}"))),
        }
    }

    pub fn map(&self, key: &str) -> HostResult<Option<Map>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.clone().try_cast::<Map>().map(Some).ok_or_else(|| self.wrong(key, "a map", v)),
        }
    }
}

/// An int or a float as f64.
pub fn number(v: &Dynamic) -> Option<f64> {
    v.as_float().ok().or_else(|| v.as_int().ok().map(|i| i as f64))
}

/// "90s", 90 (seconds) or a `Duration` value.
pub fn to_duration(v: &Dynamic) -> Result<Duration, String> {
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        return crate::duration::parse(&s);
    }
    if let Some(span) = v.read_lock::<super::time::Span>() {
        return Ok(span.to_std());
    }
    match number(v) {
        Some(n) if n >= 0.0 => Ok(Duration::from_secs_f64(n)),
        _ => Err(format!("expected a duration like \"30s\", not {}", v.type_name())),
    }
}
