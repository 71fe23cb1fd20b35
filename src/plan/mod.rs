//! The plan: which jobs run when (`jobs`), from the config and the
//! scripts' headers, and how each is doing judged from the run history
//! (`health`). Beneath `host`, so a script (`history::health()`) reads the
//! same plan and the same verdicts as `runbook schedule` and
//! `runbook history health`.

pub mod health;
pub mod jobs;
