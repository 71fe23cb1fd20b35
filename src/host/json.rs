//! `json`: parse and stringify. Timestamps become RFC 3339 strings.

use rhai::plugin::*;

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod json_functions {
    use crate::host::convert::{from_json, to_json};
    use crate::host::{error, HostResult};
    use rhai::Dynamic;

    /// Parse JSON text into maps, arrays, strings, numbers, bools and `()`.
    /// The error names the line and column of bad input.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let v = json::parse(`{"status": "healthy", "checks": [1, 2]}`);
    /// assert(v.status == "healthy" && v.checks.len() == 2, "parsed");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn parse(text: &str) -> HostResult<Dynamic> {
        serde_json::from_str(text).map(from_json).map_err(|e| error("json::parse", e))
    }

    /// Compact JSON text of any value.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// assert(json::stringify(#{a: [1, true, ()]}) == `{"a":[1,true,null]}`, "compact");
    /// ```
    pub fn stringify(value: Dynamic) -> String {
        to_json(&value).to_string()
    }

    /// Indented JSON text of any value.
    ///
    /// *read-only*
    pub fn pretty(value: Dynamic) -> String {
        serde_json::to_string_pretty(&to_json(&value)).unwrap_or_default()
    }
}
