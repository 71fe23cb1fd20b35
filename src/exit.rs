//! Exit codes. The first four follow the monitoring-plugin convention so that
//! Nagios, Icinga and friends can run any script as a check; the rest are
//! sysexits(3) codes, so cron wrappers can tell "the systems are unwell"
//! from "the runbook itself was called wrongly".

use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Every check passed.
    Ok = 0,
    /// A check or metric is at warning level.
    Warning = 1,
    /// A check failed or a metric is critical.
    Critical = 2,
    /// The script itself failed: runtime error, timeout, limit.
    Unknown = 3,
    /// Bad flags or `--arg`.
    Usage = 64,
    /// The script does not compile, or its header or params are invalid.
    DataErr = 65,
    /// runbook itself failed: the scheduler could not start a run, or a
    /// run ended without a status (EX_SOFTWARE).
    Software = 70,
    /// Another run holds the lock; a scheduled slot recorded as missed.
    TempFail = 75,
    /// The configuration is invalid.
    Config = 78,
    /// Stopped by SIGINT (Ctrl-C): 128 + 2, as a shell reports it.
    Interrupted = 130,
    /// Stopped by SIGTERM: 128 + 15.
    Terminated = 143,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// An error that ends a command, with the exit code it maps to and an
/// optional help line (shown as `help: …` under the message).
#[derive(Debug)]
pub struct Failure {
    pub code: Exit,
    pub message: String,
    pub help: Option<String>,
    /// The message is a complete rendered diagnostic: print it as it is.
    pub raw: bool,
}

impl Failure {
    pub fn new(code: Exit, message: impl Into<String>) -> Self {
        Failure { code, message: message.into(), help: None, raw: false }
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn raw(code: Exit, text: impl Into<String>) -> Self {
        Failure { code, message: text.into(), help: None, raw: true }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Exit::Config, message)
    }
}

pub type CmdResult = Result<Exit, Failure>;
