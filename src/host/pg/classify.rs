//! What a SQL text does, as PostgreSQL's own parser reads it (pg_query,
//! libpg_query): never by its first keyword, which a comment, a CTE, a
//! second statement or `EXPLAIN ANALYZE` disguises. What cannot be parsed
//! or classified counts as data-losing.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    Read,
    Mutating,
    DataLosing,
}

/// One statement of an `execute` call.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Its text, trimmed.
    pub sql: String,
    pub effect: Effect,
    /// Why it loses data, for the refusal ("deletes rows").
    pub why: Option<&'static str>,
    /// For a dry run: the verb and the table the row count is about
    /// (`("delete", "from votes")`), when it has one.
    pub rows: Option<(&'static str, String)>,
    /// A dry run may run it in a transaction that it then rolls back.
    pub rollback_safe: bool,
    /// The functions it calls, for the look-up of ones defined in the
    /// database (which a parse cannot see into).
    pub functions: Vec<String>,
}

/// Functions whose effects reach outside the data, which a READ ONLY
/// transaction does not stop: other sessions, the server's files and
/// config, replication, other databases (dblink), SQL run from a string.
const OUTSIDE_EFFECTS: &[&str] = &[
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_log_backend_memory_contexts",
    "pg_promote",
    "pg_switch_wal",
    "pg_create_restore_point",
    "pg_backup_start",
    "pg_backup_stop",
    "pg_start_backup",
    "pg_stop_backup",
    "pg_wal_replay_pause",
    "pg_wal_replay_resume",
    "pg_create_physical_replication_slot",
    "pg_create_logical_replication_slot",
    "pg_drop_replication_slot",
    "pg_copy_physical_replication_slot",
    "pg_copy_logical_replication_slot",
    "pg_replication_slot_advance",
    "pg_logical_slot_get_changes",
    "pg_logical_slot_get_binary_changes",
    "pg_logical_emit_message",
    "pg_import_system_collations",
    "pg_notify",
    "set_config",
    "lo_import",
    "lo_export",
    "lo_unlink",
    "lo_create",
    "lo_creat",
    "lo_from_bytea",
    "lo_put",
    "lo_truncate",
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    "pg_file_write",
    "pg_file_rename",
    "pg_file_unlink",
    "pg_file_sync",
    // SQL run from a string, which the parser cannot look into.
    "ts_stat",
    "ts_rewrite",
    "crosstab",
    "crosstab2",
    "crosstab3",
    "crosstab4",
    "connectby",
    "pg_stat_statements_reset",
];

/// Function names that start like these are refused too (dblink_exec,
/// pg_stat_reset_shared, pg_advisory_lock, pg_replication_origin_create …).
const OUTSIDE_EFFECT_PREFIXES: &[&str] =
    &["dblink", "pg_stat_reset", "pg_advisory", "pg_try_advisory", "pg_replication_origin_"];

fn outside_effect(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    OUTSIDE_EFFECTS.contains(&name.as_str()) || OUTSIDE_EFFECT_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Everything the parse tree of one statement holds: the node kinds and
/// the functions it calls, at any depth (CTEs, sub-queries, EXPLAIN).
#[derive(Default)]
struct Tree {
    kinds: Vec<String>,
    functions: Vec<String>,
    /// ALTER TABLE subcommands, by their protobuf enum number.
    alter_cmds: Vec<i64>,
    /// UPDATE or DELETE without WHERE, anywhere.
    unfiltered_update: bool,
}

fn walk(v: &Value, t: &mut Tree) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k.starts_with(|c: char| c.is_ascii_uppercase()) {
                    t.kinds.push(k.clone());
                    match k.as_str() {
                        "FuncCall" => t.functions.push(func_name(child)),
                        "AlterTableCmd" => {
                            t.alter_cmds.push(child.get("subtype").and_then(Value::as_i64).unwrap_or(-1))
                        }
                        "UpdateStmt" if child.get("where_clause").is_none_or(Value::is_null) => {
                            t.unfiltered_update = true
                        }
                        _ => {}
                    }
                }
                walk(child, t);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| walk(c, t)),
        _ => {}
    }
}

fn func_name(call: &Value) -> String {
    let parts = call.get("funcname").and_then(Value::as_array).cloned().unwrap_or_default();
    // The last part of `pg_catalog.pg_terminate_backend`.
    let mut names: Vec<String> = Vec::new();
    for p in &parts {
        collect_strings(p, &mut names);
    }
    names.pop().unwrap_or_default()
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(s)) = m.get("sval") {
                out.push(s.clone());
            }
            m.values().for_each(|c| collect_strings(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| collect_strings(c, out)),
        _ => {}
    }
}

/// The top-level node of each statement, with its text.
fn statements(sql: &str) -> Result<Vec<(String, pg_query::NodeEnum)>, String> {
    let parsed = pg_query::parse(sql).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for raw in &parsed.protobuf.stmts {
        let Some(node) = raw.stmt.as_ref().and_then(|s| s.node.clone()) else { continue };
        let start = raw.stmt_location.max(0) as usize;
        let text = if raw.stmt_len > 0 {
            sql.get(start..start + raw.stmt_len as usize).unwrap_or(sql)
        } else {
            sql.get(start..).unwrap_or(sql)
        };
        out.push((text.trim().trim_end_matches(';').trim().to_string(), node));
    }
    Ok(out)
}

fn tree(node: &pg_query::NodeEnum) -> Tree {
    let mut t = Tree::default();
    if let Ok(v) = serde_json::to_value(node) {
        // The top-level node itself is the value's single key.
        walk(&v, &mut t);
    }
    t
}

fn relname(rel: &Option<pg_query::protobuf::RangeVar>) -> String {
    match rel {
        Some(r) if !r.schemaname.is_empty() => format!("{}.{}", r.schemaname, r.relname),
        Some(r) => r.relname.clone(),
        None => "?".into(),
    }
}

fn has_defelem(opts: &[pg_query::protobuf::Node], name: &str) -> bool {
    use pg_query::NodeEnum;
    opts.iter().any(|o| match o.node.as_ref() {
        Some(NodeEnum::DefElem(d)) if d.defname == name => match d.arg.as_ref().and_then(|a| a.node.as_ref()) {
            None => true,
            Some(NodeEnum::String(s)) => !matches!(s.sval.to_ascii_lowercase().as_str(), "false" | "off" | "0"),
            Some(NodeEnum::Integer(i)) => i.ival != 0,
            Some(NodeEnum::Boolean(b)) => b.boolval,
            _ => true,
        },
        _ => false,
    })
}

/// `query`/`scalar`/`query_one`: exactly one statement that only reads
/// (SELECT, VALUES, TABLE, SHOW, EXPLAIN without ANALYZE), with no
/// data-modifying CTE and no function whose effects reach outside the
/// data. The statement then runs in a READ ONLY transaction of its own.
pub fn check_read(sql: &str) -> Result<(), String> {
    use pg_query::NodeEnum;
    let stmts = statements(sql)?;
    let (_, node) = match stmts.as_slice() {
        [] => return Err("there is no statement".into()),
        [one] => one,
        many => {
            return Err(format!(
                "{} statements in one read: query and scalar take exactly one (a second statement could leave the read-only transaction)",
                many.len()
            ))
        }
    };
    match node {
        NodeEnum::SelectStmt(_) | NodeEnum::VariableShowStmt(_) => {}
        NodeEnum::ExplainStmt(e) if !has_defelem(&e.options, "analyze") => {}
        NodeEnum::ExplainStmt(_) => {
            return Err("EXPLAIN ANALYZE runs the statement: query and scalar only read; use db.execute".into())
        }
        other => {
            let kind = kind_name(other);
            return Err(format!("{kind} is not a read: query and scalar only read; use db.execute"));
        }
    }
    let t = tree(node);
    if let Some(k) =
        t.kinds.iter().find(|k| matches!(k.as_str(), "InsertStmt" | "UpdateStmt" | "DeleteStmt" | "MergeStmt"))
    {
        return Err(format!(
            "the read contains {} (a data-modifying WITH): query and scalar only read; use db.execute",
            statement_word(k)
        ));
    }
    if let Some(f) = t.functions.iter().find(|f| outside_effect(f)) {
        return Err(format!(
            "{f}() has effects outside the data (sessions, files, config or other databases): query and scalar refuse it; use db.execute"
        ));
    }
    Ok(())
}

fn kind_name(node: &pg_query::NodeEnum) -> String {
    let v = serde_json::to_value(node).ok();
    let key = v.as_ref().and_then(|v| v.as_object()).and_then(|m| m.keys().next().cloned()).unwrap_or_default();
    statement_word(&key)
}

/// `DeleteStmt` → `DELETE`, `CopyStmt` → `COPY`, `VariableSetStmt` → `SET`.
fn statement_word(kind: &str) -> String {
    match kind {
        "VariableSetStmt" => "SET".into(),
        "TransactionStmt" => "a transaction command".into(),
        "DoStmt" => "DO".into(),
        "" => "this statement".into(),
        k => k.trim_end_matches("Stmt").to_ascii_uppercase(),
    }
}

/// `execute`: each statement with its effect. A text PostgreSQL's parser
/// rejects is one data-losing statement (the server will say why).
pub fn classify(sql: &str) -> Vec<Statement> {
    let stmts = match statements(sql) {
        Ok(s) if !s.is_empty() => s,
        _ => {
            return vec![Statement {
                sql: sql.trim().to_string(),
                effect: Effect::DataLosing,
                why: Some("cannot be classified"),
                rows: None,
                rollback_safe: false,
                functions: Vec::new(),
            }]
        }
    };
    stmts.into_iter().map(|(text, node)| classify_one(text, &node)).collect()
}

fn classify_one(sql: String, node: &pg_query::NodeEnum) -> Statement {
    use pg_query::protobuf::{AlterTableType, ReindexObjectType};
    use pg_query::NodeEnum;
    let t = tree(node);
    let has = |k: &str| t.kinds.iter().any(|x| x == k);
    let mut why: Option<&'static str> = None;
    if has("DeleteStmt") {
        why = Some("deletes rows");
    } else if has("TruncateStmt") {
        why = Some("truncates a table");
    } else if has("MergeStmt") {
        why = Some("merges rows (it can delete them)");
    } else if ["DropStmt", "DropdbStmt", "DropRoleStmt", "DropOwnedStmt", "DropTableSpaceStmt", "DropSubscriptionStmt"]
        .iter()
        .any(|k| has(k))
    {
        why = Some("drops something");
    } else if t.alter_cmds.contains(&(AlterTableType::AtDropColumn as i64)) {
        why = Some("drops a column");
    } else if t.alter_cmds.contains(&(AlterTableType::AtAlterColumnType as i64)) {
        why = Some("changes a column's type (values can be lost)");
    } else if t.unfiltered_update {
        why = Some("updates every row (no WHERE)");
    } else if has("DoStmt") || has("CallStmt") {
        why = Some("runs code that cannot be classified");
    } else if matches!(node, NodeEnum::CopyStmt(c) if c.is_program) {
        why = Some("runs a program on the database server");
    } else if t.functions.iter().any(|f| outside_effect(f)) {
        why = Some("calls a function with effects outside the data");
    } else if has("RuleStmt") || has("CreateFunctionStmt") || has("CreateTrigStmt") {
        // Code that runs later, on other statements: judged as its body
        // cannot be.
        why = Some("installs code that cannot be classified");
    }
    let read = match node {
        NodeEnum::SelectStmt(_) | NodeEnum::VariableShowStmt(_) => true,
        NodeEnum::ExplainStmt(e) => !has_defelem(&e.options, "analyze"),
        _ => false,
    } && !t.functions.iter().any(|f| outside_effect(f))
        && !["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"].iter().any(|k| has(k));
    let effect = if why.is_some() {
        Effect::DataLosing
    } else if read {
        Effect::Read
    } else {
        Effect::Mutating
    };
    let rows = match node {
        NodeEnum::DeleteStmt(d) => Some(("delete", format!("from {}", relname(&d.relation)))),
        NodeEnum::UpdateStmt(u) => Some(("update", format!("in {}", relname(&u.relation)))),
        NodeEnum::InsertStmt(i) => Some(("insert", format!("into {}", relname(&i.relation)))),
        NodeEnum::MergeStmt(m) => Some(("merge", format!("into {}", relname(&m.relation)))),
        _ => None,
    };
    // What PostgreSQL refuses inside a transaction block, or whose effects
    // a rollback does not undo: a dry run only says it would run them.
    let rollback_safe = match node {
        NodeEnum::VacuumStmt(v) => !v.is_vacuumcmd,
        NodeEnum::IndexStmt(i) => !i.concurrent,
        NodeEnum::ReindexStmt(r) => {
            !has_defelem(&r.params, "concurrently")
                && r.kind != ReindexObjectType::ReindexObjectDatabase as i32
                && r.kind != ReindexObjectType::ReindexObjectSystem as i32
        }
        NodeEnum::DropStmt(d) => !d.concurrent,
        NodeEnum::ClusterStmt(c) => c.relation.is_some(),
        NodeEnum::CopyStmt(c) => !c.is_program && c.filename.is_empty(),
        NodeEnum::SelectStmt(_)
        | NodeEnum::InsertStmt(_)
        | NodeEnum::UpdateStmt(_)
        | NodeEnum::DeleteStmt(_)
        | NodeEnum::MergeStmt(_)
        | NodeEnum::TruncateStmt(_)
        | NodeEnum::CreateStmt(_)
        | NodeEnum::CreateTableAsStmt(_)
        | NodeEnum::AlterTableStmt(_)
        | NodeEnum::RenameStmt(_)
        | NodeEnum::CommentStmt(_)
        | NodeEnum::GrantStmt(_)
        | NodeEnum::CreateSeqStmt(_)
        | NodeEnum::ViewStmt(_) => true,
        NodeEnum::ExplainStmt(_) => true,
        _ => false,
    } && !t.functions.iter().any(|f| outside_effect(f));
    Statement { sql, effect, why, rows, rollback_safe, functions: t.functions }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(sql: &str) -> Effect {
        classify(sql).iter().map(|s| s.effect).max().unwrap()
    }

    #[test]
    fn disguised_deletes_lose_data() {
        for sql in [
            "DELETE FROM votes",
            "WITH d AS (DELETE FROM votes RETURNING 1) SELECT count(*) FROM d",
            "SELECT 1; DELETE FROM votes",
            "/* /* */ SELECT */ DELETE FROM votes",
            "ALTER TABLE users DROP COLUMN email",
            "ALTER TABLE users ALTER COLUMN email TYPE int USING 0",
            "DO $$ BEGIN DELETE FROM votes; END $$",
            "EXPLAIN ANALYZE DELETE FROM votes",
            "EXPLAIN (ANALYZE, BUFFERS) DELETE FROM votes",
            "TRUNCATE votes",
            "DROP TABLE votes",
            "UPDATE users SET role = 'x'",
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "CALL purge()",
            "this is not sql",
        ] {
            assert_eq!(effect(sql), Effect::DataLosing, "{sql}");
        }
    }

    #[test]
    fn ordinary_writes_only_mutate() {
        for sql in [
            "INSERT INTO t VALUES (1)",
            "UPDATE users SET is_verified = true WHERE email = $1",
            "VACUUM ANALYZE",
            "REINDEX DATABASE civicq",
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            "ALTER TABLE t ADD COLUMN c int",
        ] {
            assert_eq!(effect(sql), Effect::Mutating, "{sql}");
        }
        assert_eq!(effect("SELECT 1"), Effect::Read);
    }

    #[test]
    fn reads_refuse_writes_and_outside_effects() {
        assert_eq!(check_read("SELECT count(*) FROM users"), Ok(()));
        assert_eq!(check_read("EXPLAIN SELECT 1"), Ok(()));
        assert_eq!(check_read("SHOW server_version"), Ok(()));
        for sql in [
            "SELECT set_config('default_transaction_read_only', 'off', false)",
            "/* /* */ SELECT */ SET default_transaction_read_only = off",
            "WITH d AS (DELETE FROM votes RETURNING 1) SELECT count(*) FROM d",
            "COPY users TO PROGRAM 'id'",
            "COPY users TO '/tmp/x'",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
            "SELECT pg_catalog.pg_reload_conf()",
            "SELECT lo_export(1, '/tmp/x')",
            "SELECT dblink_exec('dbname=x', 'DELETE FROM t')",
            "SELECT 1; SELECT 2",
            "COMMIT",
            "EXPLAIN ANALYZE DELETE FROM votes",
            "SELECT query_to_xml('DELETE FROM votes', true, true, '')",
        ] {
            assert!(check_read(sql).is_err(), "{sql}");
        }
    }

    #[test]
    fn dry_runs_know_what_a_rollback_undoes() {
        let s = &classify("DELETE FROM public.votes WHERE id = 1")[0];
        assert_eq!(s.rows, Some(("delete", "from public.votes".to_string())));
        assert!(s.rollback_safe);
        for sql in
            ["VACUUM ANALYZE", "CREATE INDEX CONCURRENTLY i ON t (a)", "REINDEX DATABASE x", "DO $$ BEGIN END $$"]
        {
            assert!(!classify(sql)[0].rollback_safe, "{sql}");
        }
        assert_eq!(classify("SELECT 1; DELETE FROM t").len(), 2);
    }
}
