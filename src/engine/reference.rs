//! The host function reference, read from the functions' own doc comments
//! through Rhai's metadata, so code and reference cannot drift apart:
//! what `runbook doc` prints and the REPL's `:doc` and completion use.

use std::fmt::Write;

use serde_json::Value;

use crate::exit::Failure;

/// One documented function (one overload).
#[derive(Debug, Clone)]
pub struct Entry {
    pub module: &'static str,
    pub name: String,
    /// `sys::disk(path: string) -> map`, `t.format(fmt: string) -> string`, `d.age`.
    pub signature: String,
    pub kind: Option<String>,
    pub description: String,
    pub examples: Vec<String>,
    /// Examples fenced ```rhai,no_run need a live target: shown, not run.
    pub runnable: Vec<bool>,
}

impl Entry {
    /// The name as scripts write it: `sys::disk`, `check`, `format`.
    pub fn qualified(&self) -> String {
        if self.module.is_empty() || self.signature.contains('.') && !self.signature.contains("::") {
            self.name.clone()
        } else {
            format!("{}::{}", self.module, self.name)
        }
    }
}

pub fn entries() -> Vec<Entry> {
    let engine = crate::engine::build(&Default::default(), vec![]);
    let meta: Value =
        serde_json::from_str(&engine.gen_fn_metadata_to_json(false).unwrap_or_default()).unwrap_or(Value::Null);
    let mut out = Vec::new();
    for m in crate::host::modules() {
        let fns = if m.name.is_empty() { &meta["functions"] } else { &meta["modules"][m.name]["functions"] };
        for f in fns.as_array().into_iter().flatten() {
            let Some(doc) = f["docComments"].as_array().and_then(|d| d.first()).and_then(Value::as_str) else {
                continue;
            };
            out.push(entry(m.name, f, doc));
        }
    }
    // Rhai's metadata comes from hash maps: sort so the reference is stable.
    let order = |m: &str| crate::host::modules().iter().position(|x| x.name == m).unwrap_or(usize::MAX);
    out.sort_by(|a, b| (order(a.module), &a.name, &a.signature).cmp(&(order(b.module), &b.name, &b.signature)));
    out
}

fn entry(module: &'static str, f: &Value, doc: &str) -> Entry {
    let raw_name = f["name"].as_str().unwrap_or_default();
    let params: Vec<(String, String)> = f["params"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| (p["name"].as_str().unwrap_or("_").to_string(), rhai_type(p["type"].as_str().unwrap_or("?"))))
        .collect();
    let ret = rhai_type(f["returnType"].as_str().unwrap_or("()"));
    let is_method = f["namespace"] == "global" && !module.is_empty();
    let (name, signature) = if let Some(prop) = raw_name.strip_prefix("get$") {
        let recv = params.first().map(|p| p.0.clone()).unwrap_or_default();
        (
            prop.to_string(),
            format!("{recv}.{prop} -> {ret}  ({} property)", params.first().map(|p| p.1.as_str()).unwrap_or("")),
        )
    } else if !raw_name.starts_with(|c: char| c.is_alphanumeric() || c == '_') && params.len() == 2 {
        let (a, b) = (&params[0], &params[1]);
        (raw_name.to_string(), format!("{} {raw_name} {} -> {ret}  ({} operator, {} on the right)", a.0, b.0, a.1, b.1))
    } else if is_method {
        let (recv, rest) = params.split_first().map(|(a, b)| (a.clone(), b.to_vec())).unwrap_or_default();
        let args: Vec<String> = rest.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        (raw_name.to_string(), format!("{}.{raw_name}({}) -> {ret}  ({} method)", recv.0, args.join(", "), recv.1))
    } else {
        let args: Vec<String> = params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        let prefix = if module.is_empty() { String::new() } else { format!("{module}::") };
        (raw_name.to_string(), format!("{prefix}{raw_name}({}) -> {ret}", args.join(", ")))
    };
    let text: Vec<&str> = doc
        .lines()
        .map(|l| {
            l.trim_start()
                .trim_start_matches("///")
                .strip_prefix(' ')
                .unwrap_or_else(|| l.trim_start().trim_start_matches("///"))
        })
        .collect();
    let mut description = Vec::new();
    let mut examples = Vec::new();
    let mut kind = None;
    let mut in_code: Option<String> = None;
    let mut runnable = Vec::new();
    for line in text {
        if let Some(code) = in_code.as_mut() {
            if line.trim_start().starts_with("```") {
                examples.push(in_code.take().unwrap_or_default());
            } else {
                code.push_str(line);
                code.push('\n');
            }
            continue;
        }
        if line.trim_start().starts_with("```") {
            runnable.push(!line.contains("no_run"));
            in_code = Some(String::new());
            continue;
        }
        let t = line.trim();
        if let Some(k) = ["*read-only*", "*mutating*", "*data-losing*"].iter().find(|k| t.starts_with(**k)) {
            kind = Some(format!("{}{}", k.trim_matches('*'), &t[k.len()..]));
            continue;
        }
        description.push(line.to_string());
    }
    let description = description.join("\n").trim().replace("\n\n\n", "\n\n");
    Entry { module, name, signature, kind, description, examples, runnable }
}

/// Rust types as a script author thinks of them: one user-facing name per
/// type, never a Rust path (`rhai::INT`, `crate::host::time::Timestamp`).
pub(crate) fn rhai_type(t: &str) -> String {
    let t = t.trim();
    let t = t.strip_prefix("&mut ").unwrap_or(t);
    if let Some(inner) = t.strip_prefix("HostResult<").and_then(|r| r.strip_suffix('>')) {
        return rhai_type(inner);
    }
    let t = if t.contains('<') { t } else { t.rsplit("::").next().unwrap_or(t) };
    match t {
        "&str" | "ImmutableString" | "String" => "string",
        "INT" | "i64" => "int",
        "f64" | "FLOAT" => "float",
        "Array" => "array",
        "Map" => "map",
        "Dynamic" => "any",
        "FnPtr" => "Fn",
        "Span" => "Duration",
        "PgHandle" => "PgConnection",
        "RedisHandle" => "RedisConnection",
        other => other,
    }
    .to_string()
}

/// The reference of one module or function, or the module overview: what
/// `runbook doc [NAME]` and the REPL's `:doc` print.
pub fn text(target_name: Option<&str>) -> Result<String, Failure> {
    let all = entries();
    match target_name {
        None => Ok(overview(&all)),
        Some(t) => target(&all, t),
    }
}

fn module_title(name: &str) -> String {
    if name.is_empty() {
        "report (global functions)".into()
    } else {
        name.into()
    }
}

fn overview(all: &[Entry]) -> String {
    let mut out = String::from("Host modules (`runbook doc MODULE` lists its functions):\n\n");
    for m in crate::host::modules() {
        let n = all.iter().filter(|e| e.module == m.name).count();
        let _ = writeln!(out, "  {:26} {:3} functions  {}", module_title(m.name), n, m.about);
    }
    out.push_str("\nEach function is read-only, mutating (honours --dry-run) or data-losing (also needs --yes).\n");
    out.push_str(&super::stdlib_ref::overview());
    out
}

/// The first sentence of a description, however its lines are wrapped;
/// "e.g." and "i.e." do not end one.
pub(crate) fn first_sentence(description: &str) -> String {
    let paragraph: Vec<&str> = description.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
    let text = paragraph.join(" ");
    let end = text.match_indices(". ").map(|(i, _)| i).find(|&i| {
        let before = &text[..i];
        before.contains(' ') && !before.ends_with("e.g") && !before.ends_with("i.e")
    });
    match end {
        Some(i) => text[..=i].to_string(),
        None => text,
    }
}

fn listing<'a>(entries: impl Iterator<Item = &'a Entry>) -> String {
    let mut out = String::new();
    for e in entries {
        let _ = writeln!(
            out,
            "{}\n    {}  [{}]\n",
            e.signature,
            first_sentence(&e.description),
            e.kind.as_deref().unwrap_or("?")
        );
    }
    out
}

fn target(all: &[Entry], t: &str) -> Result<String, Failure> {
    let module_name = if t == "report" { "" } else { t };
    if crate::host::modules().iter().any(|m| m.name == module_name) {
        return Ok(listing(all.iter().filter(|e| e.module == module_name)));
    }
    // A handle type (`PgConnection`, `Timestamp`): its methods and properties.
    let of_type = |e: &&Entry| {
        e.signature.ends_with(&format!("({t} method)")) || e.signature.ends_with(&format!("({t} property)"))
    };
    if all.iter().any(|e| of_type(&e)) {
        return Ok(listing(all.iter().filter(of_type)));
    }
    let matches: Vec<&Entry> =
        all.iter().filter(|e| e.qualified() == t || (e.module.is_empty() && e.name == t)).collect();
    if matches.is_empty() {
        if let Some(text) = super::stdlib_ref::text(t) {
            return Ok(text);
        }
        let mut names: Vec<String> = all.iter().map(Entry::qualified).collect();
        names.extend(super::stdlib_ref::names());
        let mut f = Failure::usage(format!("no host function or module named `{t}`"));
        let near = crate::suggest::DidYouMean::find(t, names.iter().map(String::as_str));
        f = f.with_help(crate::suggest::DidYouMean::or(near, "`runbook doc` lists the modules"));
        return Err(f);
    }
    let mut out = String::new();
    for e in matches {
        let _ = writeln!(out, "{}", e.signature);
        let _ = writeln!(out, "  [{}]\n", e.kind.as_deref().unwrap_or("?"));
        for l in e.description.lines() {
            let _ = writeln!(out, "  {l}");
        }
        for ex in &e.examples {
            let _ = writeln!(out, "\n  Example:");
            for l in ex.lines() {
                let _ = writeln!(out, "    {l}");
            }
        }
        out.push('\n');
    }
    Ok(out)
}

pub fn markdown(all: &[Entry]) -> String {
    let mut out = String::from(
        "# Host function reference\n\n\
         Generated by `runbook doc --markdown` from the functions' doc comments; do not edit by hand.\n\n\
         Every function is **read-only**, **mutating** (under `--dry-run` it records what it would do and changes nothing)\n\
         or **data-losing** (also needs `--yes`, or a \"y\" on the terminal).\n\n",
    );
    for m in crate::host::modules() {
        let _ = writeln!(out, "- [{}](#{}) — {}", module_title(m.name), anchor(&module_title(m.name)), m.about);
    }
    out.push_str(
        "- [Stdlib modules](#stdlib-modules) — script code shipped in the binary: `import \"format\" as fmt;`\n",
    );
    for m in crate::host::modules() {
        let _ = write!(out, "\n## {}\n\n{}\n", module_title(m.name), m.about);
        for e in all.iter().filter(|e| e.module == m.name) {
            let _ =
                write!(out, "\n### `{}`\n\n*{}*\n\n{}\n", e.signature, e.kind.as_deref().unwrap_or("?"), e.description);
            for ex in &e.examples {
                let _ = write!(out, "\n```rhai\n{ex}```\n");
            }
        }
    }
    out.push_str(&super::stdlib_ref::markdown());
    out
}

fn anchor(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
        .collect::<String>()
        .replace(' ', "-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_first_sentence_goes_past_an_abbreviation_and_a_wrapped_line() {
        let doc = "Whether an extension (e.g. \"pg_stat_statements\") is\ninstalled. Reads pg_extension.\n\nMore.";
        assert_eq!(super::first_sentence(doc), "Whether an extension (e.g. \"pg_stat_statements\") is installed.");
    }
}
