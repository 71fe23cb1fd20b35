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
    croner::parser::CronParser::builder().dom_and_dow(true).build().parse(text).map_err(|e| match out_of_range(text) {
        Some(why) => format!("`{text}` is not a cron expression: {why}"),
        None => format!("`{text}` is not a cron expression: {e}"),
    })
}

/// The first number outside its field's range, in words (croner says only
/// "Number out of bounds").
fn out_of_range(text: &str) -> Option<String> {
    const FIELDS: [(&str, u32, u32); 6] = [
        ("second", 0, 59),
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day of month", 1, 31),
        ("month", 1, 12),
        ("weekday", 0, 7),
    ];
    let f: Vec<&str> = text.split_whitespace().collect();
    let names = if f.len() == 6 { &FIELDS[..] } else { &FIELDS[1..] };
    for (field, (name, lo, hi)) in f.iter().zip(names) {
        for part in field.split(',') {
            let range = part.split('/').next().unwrap_or("");
            for n in range.split('-').filter_map(|n| n.parse::<u32>().ok()) {
                if n < *lo || n > *hi {
                    return Some(format!("{n} is outside the {name} field's {lo}-{hi}"));
                }
            }
        }
    }
    None
}
