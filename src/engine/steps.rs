//! A script's steps: its `if section("9. Storage") { … }` blocks, each
//! skipped by its key (`storage`, see [`crate::report::step_key`]). Only a
//! section that is the condition of an `if` is a step: skipping it skips
//! the block, so nothing of the step runs. A plain `section(…)` only
//! titles what follows, and a skip that names one is refused (its calls
//! would run, unseen). Read from the AST, so that a skip list that names
//! no step is refused before anything runs, and `--help` lists the steps.

use rhai::{ASTNode, Expr, Stmt, AST};

use crate::exit::Failure;
use crate::report::step_key;
use crate::suggest::DidYouMean;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub title: String,
    pub key: String,
}

/// The steps in source order, each key once: the written titles of the
/// `section(…)` calls that are an `if`'s condition.
pub fn of(ast: &AST) -> Vec<Step> {
    let mut steps: Vec<Step> = vec![];
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Stmt(Stmt::If(flow, _))) = path.last() {
            if let Some(title) = section_title(&flow.expr) {
                let key = step_key(title);
                if !key.is_empty() && !steps.iter().any(|s| s.key == key) {
                    steps.push(Step { title: title.to_string(), key });
                }
            }
        }
        true
    });
    steps
}

/// `section("…")` with a written title: the title.
fn section_title(e: &Expr) -> Option<&str> {
    let Expr::FnCall(f, _) = e else { return None };
    if !f.namespace.is_empty() || f.name != "section" || f.args.len() != 1 {
        return None;
    }
    match &f.args[0] {
        Expr::StringConstant(title, _) => Some(title.as_str()),
        _ => None,
    }
}

/// The steps of a script's source, parsed only (no module resolved, no
/// depth limit: what counts is what a run would compile); none when it
/// does not compile, which the run itself then reports.
pub fn of_source(source: &str) -> Vec<Step> {
    let mut engine = rhai::Engine::new_raw();
    engine.set_optimization_level(rhai::OptimizationLevel::None);
    engine.set_max_expr_depths(0, 0);
    engine.compile(source).map(|ast| of(&ast)).unwrap_or_default()
}

/// Each of `skip` must be a step of the script; `key` says where the list
/// came from ("key `scripts.daily-check.skip`", "--skip").
pub fn check_skips(script: &str, skip: &[String], steps: &[Step], key: &str) -> Result<(), Failure> {
    for s in skip {
        if steps.iter().any(|st| st.key == *s) {
            continue;
        }
        let known: Vec<&str> = steps.iter().map(|st| st.key.as_str()).collect();
        let listed = if known.is_empty() {
            format!("{script} has no steps to skip (a step is `if section(\"TITLE\") {{ … }}`)")
        } else {
            format!("its steps: {}", known.join(", "))
        };
        let help = match DidYouMean::find(s, known.iter().copied()) {
            Some(d) => format!("{d} {listed}"),
            None => listed,
        };
        let message = format!("{key}: `{s}` is not a step of {script}");
        return Err(
            if key.starts_with("--") { Failure::usage(message) } else { Failure::config(message) }.with_help(help)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_the_written_section_titles_in_order() {
        let src = r#"if section("1. Services") {} let t = "x"; if section(t) {} section("2. Plain");
            if true { if section("8. Recent errors (last hour)") { print(1); } } if section("1. Services") {}"#;
        let keys: Vec<String> = of_source(src).into_iter().map(|s| s.key).collect();
        assert_eq!(keys, ["services", "recent-errors"]);
    }

    #[test]
    fn a_skip_that_is_no_step_is_refused_with_the_nearest() {
        let steps = of_source(r#"if section("9. Storage") {} if section("6. Frontend") {}"#);
        let e = check_skips("daily-check", &["storag".into()], &steps, "key `scripts.daily-check.skip`").unwrap_err();
        assert_eq!(e.message, "key `scripts.daily-check.skip`: `storag` is not a step of daily-check");
        assert_eq!(e.help.as_deref(), Some("did you mean `storage`? its steps: storage, frontend"));
    }
}
