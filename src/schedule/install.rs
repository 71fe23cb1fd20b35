//! `runbook schedule --install crontab` and `--uninstall crontab`: the plan
//! as one marked block of a crontab, replaced in place by every install
//! (never appended twice) and removed exactly by an uninstall. The other
//! lines of the crontab stay as they were. The real `crontab` program
//! reads and writes it, so cron's own checks and locking apply.

use std::io::Write;
use std::process::{Command, Stdio};

pub const BEGIN: &str =
    "# >>> runbook schedule: written by `runbook schedule --install crontab`; an install replaces this block >>>";
pub const END: &str = "# <<< runbook schedule <<<";

fn crontab(user: Option<&str>) -> Command {
    let mut c = Command::new("crontab");
    if let Some(u) = user {
        c.args(["-u", u]);
    }
    c
}

fn spawn_error(e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "no `crontab` program on PATH: install cron (apt-get install cron), or use --print-crontab".into()
    } else {
        format!("cannot run crontab: {e}")
    }
}

/// The crontab now; none yet is an empty one.
pub fn read(user: Option<&str>) -> Result<String, String> {
    let out = crontab(user).arg("-l").stdin(Stdio::null()).output().map_err(spawn_error)?;
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else if err.contains("no crontab for") {
        Ok(String::new())
    } else {
        Err(format!("crontab -l: {}", err.trim()))
    }
}

pub fn write(user: Option<&str>, text: &str) -> Result<(), String> {
    let mut child = crontab(user).arg("-").stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(spawn_error)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes()).map_err(|e| format!("crontab -: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("crontab -: {e}"))?;
    if !out.status.success() {
        return Err(format!("crontab - refused the new crontab: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

/// `current` without runbook's block, then `block` (if any) in its place,
/// or at the end when there was none.
pub fn with_block(current: &str, block: Option<&str>) -> String {
    let mut out = String::new();
    let mut placed = false;
    let mut inside = false;
    for line in current.lines() {
        if line == BEGIN {
            inside = true;
            continue;
        }
        if inside {
            if line == END {
                inside = false;
                if let (Some(b), false) = (block, placed) {
                    push_block(&mut out, b);
                    placed = true;
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if let (Some(b), false) = (block, placed) {
        push_block(&mut out, b);
    }
    out
}

fn push_block(out: &mut String, block: &str) {
    out.push_str(BEGIN);
    out.push('\n');
    out.push_str(block.trim_end());
    out.push('\n');
    out.push_str(END);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_replaced_in_place_and_removed_exactly() {
        let mine = "MAILTO=me@example.com\n0 1 * * * /usr/bin/true\n";
        let once = with_block(mine, Some("0 9 * * * runbook run daily-check\n"));
        assert_eq!(once, format!("{mine}{BEGIN}\n0 9 * * * runbook run daily-check\n{END}\n"));
        let edited = format!("{once}5 5 * * * /usr/bin/false\n");
        let twice = with_block(&edited, Some("0 10 * * * runbook run daily-check\n"));
        assert_eq!(
            twice,
            format!("{mine}{BEGIN}\n0 10 * * * runbook run daily-check\n{END}\n5 5 * * * /usr/bin/false\n")
        );
        assert_eq!(with_block(&twice, None), format!("{mine}5 5 * * * /usr/bin/false\n"));
        assert_eq!(with_block(&once, None), mine);
        assert_eq!(with_block("", None), "");
    }
}
