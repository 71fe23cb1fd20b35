//! The script header: the leading `//` comment block.
//!
//! ```text
//! // Check CPU, memory and disk against the manual's thresholds.
//! //
//! // manual:   Health Monitoring › Infrastructure Health
//! // schedule: */15 * * * *
//! // param mount: string = "/"  the filesystem whose usage is checked
//! // param cpu_warn: float = 70  CPU % at which to warn
//! // param service: string        (no default: the operator must give it)
//! //
//! // Any other line is free text, shown by `runbook run NAME --help`.
//! ```

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Int,
    Float,
    Bool,
    String,
    Duration,
    List,
    /// A string masked in everything runbook writes (JSON params, history).
    Secret,
    /// One of a fixed set of words: `choice(low|high)`; the words are the
    /// param's `choices`.
    Choice,
}

impl ParamType {
    pub const ALL: [&'static str; 8] = ["int", "float", "bool", "string", "secret", "duration", "list", "choice"];

    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "int" => Self::Int,
            "float" => Self::Float,
            "bool" => Self::Bool,
            "string" => Self::String,
            "duration" => Self::Duration,
            "list" => Self::List,
            "secret" => Self::Secret,
            "choice" => Self::Choice,
            _ => return None,
        })
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Int => "int",
            Self::Float => "float",
            Self::Bool => "bool",
            Self::String => "string",
            Self::Duration => "duration",
            Self::List => "list",
            Self::Secret => "secret",
            Self::Choice => "choice",
        })
    }
}

#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub name: String,
    pub ty: ParamType,
    /// The default as the operator would type it after `--arg name=`.
    pub default: Option<String>,
    pub description: String,
    /// The words a `choice(a|b|c)` param accepts (empty for other types).
    pub choices: Vec<String>,
}

impl ParamSpec {
    /// The type as the header writes it: `int`, `choice(low|high)`.
    pub fn type_text(&self) -> String {
        if self.ty == ParamType::Choice {
            format!("choice({})", self.choices.join("|"))
        } else {
            self.ty.to_string()
        }
    }

    /// Check and convert a value as typed after `--arg name=`.
    pub fn convert(&self, value: &str) -> Result<rhai::Dynamic, String> {
        if self.ty == ParamType::Choice && !self.choices.iter().any(|c| c == value.trim()) {
            let near = crate::suggest::DidYouMean::find(value.trim(), self.choices.iter().map(String::as_str));
            return Err(format!(
                "`{value}` is not one of {}{}",
                self.choices.join(", "),
                near.map(|d| format!(" ({d})")).unwrap_or_default()
            ));
        }
        crate::script::params::convert(self.ty, value)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Header {
    pub summary: String,
    pub manual: Option<String>,
    pub schedule: Option<String>,
    pub params: Vec<ParamSpec>,
    /// Free text lines after the summary.
    pub notes: Vec<String>,
}

/// A header error with the 1-based line and column it points at.
#[derive(Debug, Clone)]
pub struct HeaderError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub help: Option<String>,
}

const KEYS: [&str; 3] = ["manual", "schedule", "param"];

pub fn parse(source: &str) -> Result<Header, HeaderError> {
    let mut h = Header::default();
    for (idx, raw) in source.lines().enumerate() {
        let line_no = idx + 1;
        let trimmed = raw.trim_start();
        if idx == 0 && trimmed.starts_with("#!") {
            continue;
        }
        let Some(body) = trimmed.strip_prefix("//") else {
            if trimmed.is_empty() && h.summary.is_empty() {
                continue;
            }
            break;
        };
        let body = body.strip_prefix(['/', '!']).unwrap_or(body);
        let indent = raw.len() - body.trim_start().len();
        let text = body.trim();
        if text.is_empty() {
            // An empty comment line between notes is a paragraph break.
            if h.notes.last().is_some_and(|n| !n.is_empty()) {
                h.notes.push(String::new());
            }
            continue;
        }
        let err = |col: usize, message: String| HeaderError { line: line_no, column: col + 1, message, help: None };
        if let Some(rest) = text.strip_prefix("param ") {
            h.params.push(
                parse_param(rest)
                    .map_err(|(off, m, help)| HeaderError { help, ..err(indent + "param ".len() + off, m) })?,
            );
            continue;
        }
        if let Some((key, value)) = split_key(text) {
            match key {
                "manual" => h.manual = Some(value.to_string()),
                "schedule" => {
                    if let Err(e) = super::cron::parse_cron(value) {
                        return Err(err(indent + "schedule:".len() + 1, format!("schedule {e}")));
                    }
                    h.schedule = Some(value.to_string());
                }
                other => {
                    if let Some(near) = crate::suggest::DidYouMean::find(other, KEYS) {
                        return Err(HeaderError {
                            help: Some(near.map(|k| format!("{k}:")).to_string()),
                            ..err(indent, format!("unknown header key `{other}`"))
                        });
                    }
                    push_text(&mut h, text);
                }
            }
            continue;
        }
        push_text(&mut h, text);
    }
    // No header at all is fine: a one-liner needs no ceremony. The shipped
    // scripts must have one (tests/script_idioms.rs).
    let mut seen = std::collections::HashSet::new();
    while h.notes.last().is_some_and(|n| n.is_empty()) {
        h.notes.pop();
    }
    for p in &h.params {
        if !seen.insert(p.name.as_str()) {
            let line = source.lines().position(|l| l.contains(&format!("param {}", p.name))).unwrap_or(0) + 1;
            return Err(HeaderError {
                line,
                column: 1,
                message: format!("parameter `{}` is declared twice", p.name),
                help: None,
            });
        }
    }
    Ok(h)
}

fn push_text(h: &mut Header, text: &str) {
    if h.summary.is_empty() {
        h.summary = text.to_string();
    } else {
        h.notes.push(text.to_string());
    }
}

/// `key: value` where key is a lowercase word.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let (k, v) = text.split_once(':')?;
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_lowercase() || c == '_') || !(v.starts_with(' ') || v.is_empty()) {
        return None;
    }
    Some((k, v.trim()))
}

type ParamErr = (usize, String, Option<String>);

fn parse_param(rest: &str) -> Result<ParamSpec, ParamErr> {
    let (name, after) = rest.split_once(':').ok_or((
        0,
        "a parameter is written `param NAME: TYPE = DEFAULT description`".to_string(),
        None,
    ))?;
    let name = name.trim();
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err((0, format!("`{name}` is not a valid parameter name (letters, digits, _)"), None));
    }
    let type_off = name.len() + 1 + (after.len() - after.trim_start().len());
    let after = after.trim_start();
    let ty_len = after.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(after.len());
    let ty_name = &after[..ty_len];
    let ty = ParamType::from_name(ty_name).ok_or_else(|| {
        let help = crate::suggest::DidYouMean::find(ty_name, ParamType::ALL).map(|d| d.to_string());
        (type_off, format!("unknown parameter type `{ty_name}`: expected one of {}", ParamType::ALL.join(", ")), help)
    })?;
    let mut ty_len = ty_len;
    let mut choices = vec![];
    if ty == ParamType::Choice {
        let list = after[ty_len..].strip_prefix('(').and_then(|l| l.split_once(')')).map(|(l, _)| l);
        let Some(list) = list else {
            return Err((type_off, "a choice lists its words: `choice(low|high)`".into(), None));
        };
        choices = list.split('|').map(str::trim).filter(|w| !w.is_empty()).map(str::to_string).collect();
        if choices.is_empty() {
            return Err((type_off, "a choice lists its words: `choice(low|high)`".into(), None));
        }
        ty_len += list.len() + 2;
    }
    let mut rest = after[ty_len..].trim_start();
    let default_off = type_off + ty_len + (after[ty_len..].len() - rest.len()) + 1;
    let mut spec = ParamSpec { name: name.to_string(), ty, default: None, description: String::new(), choices };
    if let Some(d) = rest.strip_prefix('=') {
        // The caret points at the value itself.
        let default_off = default_off + (d.len() - d.trim_start().len());
        let d = d.trim_start();
        let (value, remaining) = split_default(d).map_err(|m| (default_off, m, None))?;
        spec.convert(&value).map(drop).map_err(|m| (default_off, format!("default of `{name}`: {m}"), None))?;
        spec.default = Some(value);
        rest = remaining;
    }
    spec.description = rest.trim().trim_start_matches(['—', '-', ':']).trim().to_string();
    Ok(spec)
}

/// The default is a quoted string, a `[…]` list, or one bare token.
fn split_default(d: &str) -> Result<(String, &str), String> {
    if let Some(body) = d.strip_prefix('"') {
        let end = body.find('"').ok_or("unclosed string in default")?;
        return Ok((body[..end].to_string(), &body[end + 1..]));
    }
    if let Some(body) = d.strip_prefix('[') {
        let end = body.find(']').ok_or("unclosed `[` in default")?;
        let items: Vec<String> =
            body[..end].split(',').map(|s| s.trim().trim_matches('"').to_string()).filter(|s| !s.is_empty()).collect();
        return Ok((items.join(","), &body[end + 1..]));
    }
    let end = d.find(char::is_whitespace).unwrap_or(d.len());
    if end == 0 {
        return Err("`=` must be followed by a default value".into());
    }
    Ok((d[..end].to_string(), &d[end..]))
}

impl Header {
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The parameter table shown by `run NAME --help` and on a bad `--arg`.
    pub fn params_table(&self) -> String {
        if self.params.is_empty() {
            return "  (this script takes no parameters)\n".into();
        }
        let w_name = self.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
        let w_ty = self.params.iter().map(|p| p.type_text().chars().count()).max().unwrap_or(0);
        let w_def = self.params.iter().map(|p| default_label(p).len()).max().unwrap_or(0);
        let mut out = String::new();
        for p in &self.params {
            let line = format!(
                "  {:w_name$}  {:w_ty$}  {:w_def$}  {}",
                p.name,
                p.type_text(),
                default_label(p),
                p.description
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn default_label(p: &ParamSpec) -> String {
    match &p.default {
        Some(d) if p.ty == ParamType::String => format!("= \"{d}\""),
        Some(d) if p.ty == ParamType::List => format!("= [{d}]"),
        Some(d) => format!("= {d}"),
        None => "(required)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_header() {
        let src = "// Check the disk.\n//\n// manual: Daily › Morning\n// schedule: 0 9 * * *\n// param mount: string = \"/\"  the mount point\n// param warn: float = 85 — warn at\n// param tags: list = [a, b]\n// param who: string\n// Extra words.\nlet x = 1;\n// not header\n";
        let h = parse(src).unwrap();
        assert_eq!(h.summary, "Check the disk.");
        assert_eq!(h.manual.as_deref(), Some("Daily › Morning"));
        assert_eq!(h.schedule.as_deref(), Some("0 9 * * *"));
        assert_eq!(h.params.len(), 4);
        assert_eq!(h.params[0].default.as_deref(), Some("/"));
        assert_eq!(h.params[0].description, "the mount point");
        assert_eq!(h.params[1].ty, ParamType::Float);
        assert_eq!(h.params[1].description, "warn at");
        assert_eq!(h.params[2].default.as_deref(), Some("a,b"));
        assert_eq!(h.params[3].default, None);
        assert_eq!(h.notes, vec!["Extra words."]);
    }

    #[test]
    fn an_empty_comment_line_between_notes_is_a_paragraph_break() {
        let h = parse("// S\n//\n// One.\n// Two.\n//\n//\n// Three.\n//\nlet x = 1;\n").unwrap();
        assert_eq!(h.notes, vec!["One.", "Two.", "", "Three."]);
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let e = parse("// S\n// param n: integer = 3\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 13));
        assert!(e.message.contains("unknown parameter type `integer`"));
        assert_eq!(e.help.as_deref(), Some("did you mean `int`?"));
        let e = parse("// S\n// schedul: 0 9 * * *\n").unwrap_err();
        assert_eq!(e.message, "unknown header key `schedul`");
        let e = parse("// S\n// param n: int = many\n").unwrap_err();
        assert!(e.message.contains("default of `n`"), "{}", e.message);
        assert!(parse("let x = 1;").is_ok_and(|h| h.summary.is_empty() && h.params.is_empty()));
    }
}
