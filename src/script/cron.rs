//! Cron expressions, as `// schedule:` lines and `[schedule.NAME] cron`
//! write them: checked where the header is read, so `runbook check`
//! rejects what the scheduler could not run.

use croner::Cron;

/// A cron expression: 5 fields, or 6 with seconds first; `@daily` and friends.
pub fn parse_cron(text: &str) -> Result<Cron, String> {
    let fields = text.split_whitespace().count();
    if !text.trim_start().starts_with('@') && !(5..=6).contains(&fields) {
        return Err(format!(
            "`{text}` has {fields} fields; a cron expression has 5 (minute hour day month weekday) or 6 (seconds first)"
        ));
    }
    // Both day fields restricted means both must match ("0 11 1-7 * 1": the
    // first Monday), as systemd reads it; Vixie cron would run on either.
    croner::parser::CronParser::builder()
        .dom_and_dow(true)
        .build()
        .parse(text)
        .map_err(|e| format!("`{text}` is not a cron expression: {e}"))
}
