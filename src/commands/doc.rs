//! `runbook doc`: the host function reference (`crate::engine::reference`)
//! as text, Markdown (`--markdown` writes docs/reference.md), examples to
//! run, or Rhai definition files for editors.

use crate::cli::DocArgs;
use crate::engine::reference::{entries, markdown, text};
use crate::exit::{CmdResult, Exit, Failure};

/// Definition files show our `HostResult<Map >` alias; editors want `Map`.
fn tidy_definitions(dir: &std::path::Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)?.flatten() {
        let text = std::fs::read_to_string(e.path())?;
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(i) = rest.find("HostResult<") {
            out.push_str(&rest[..i]);
            let after = &rest[i + "HostResult<".len()..];
            let end = after.find('>').unwrap_or(after.len());
            out.push_str(after[..end].trim_end());
            rest = after.get(end + 1..).unwrap_or("");
        }
        out.push_str(rest);
        std::fs::write(e.path(), out)?;
    }
    Ok(())
}

pub fn doc(args: DocArgs) -> CmdResult {
    if let Some(dir) = &args.definitions {
        let engine = crate::engine::build(&Default::default(), vec![]);
        std::fs::create_dir_all(dir).map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
        engine
            .definitions()
            .with_headers(true)
            .write_to_dir(dir)
            .map_err(|e| Failure::usage(format!("cannot write definitions to {}: {e}", dir.display())))?;
        tidy_definitions(dir).map_err(|e| Failure::usage(format!("cannot tidy {}: {e}", dir.display())))?;
        crate::output::out(&format!("wrote Rhai definition files to {}\n", dir.display()));
        return Ok(Exit::Ok);
    }
    let all = entries();
    if let Some(dir) = &args.examples {
        std::fs::create_dir_all(dir).map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
        let mut n = 0;
        for e in &all {
            for (i, ex) in e.examples.iter().enumerate().filter(|(i, _)| e.runnable.get(*i).copied().unwrap_or(true)) {
                let file =
                    dir.join(format!("{}-{}-{i}.rhai", if e.module.is_empty() { "report" } else { e.module }, e.name));
                let body = format!("// Example of {} from the reference.\n{ex}", e.qualified());
                std::fs::write(&file, body).map_err(|err| Failure::usage(format!("{}: {err}", file.display())))?;
                n += 1;
            }
        }
        crate::output::out(&format!("wrote {n} examples to {}\n", dir.display()));
        return Ok(Exit::Ok);
    }
    if args.markdown {
        crate::output::out(&markdown(&all));
        return Ok(Exit::Ok);
    }
    crate::output::out(&text(args.target.as_deref())?);
    Ok(Exit::Ok)
}
