//! `aws`: account APIs beyond S3 — today, Cost Explorer's
//! GetCostAndUsage (the manual's `aws ce get-cost-and-usage`), through the
//! official SDK with credentials and region found as for S3 (`sdk.rs`).

pub mod sdk;

use std::time::Duration;

use rhai::plugin::*;

use crate::host::{error, HostResult};

/// A date as Cost Explorer wants it: "YYYY-MM-DD", from a string or a Timestamp.
fn day(func: &str, what: &str, v: &Dynamic) -> HostResult<String> {
    if let Some(t) = v.clone().try_cast::<crate::host::time::Timestamp>() {
        return Ok(t.0.format("%Y-%m-%d").to_string());
    }
    let s = v.clone().into_string().map_err(|t| error(func, format!("{what}: expected a date, found {t}")))?;
    chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| error(func, format!("{what}: `{s}` is not a date like 2026-11-01")))
}

/// The Cost Explorer client of the `[aws]` table and how to name it in
/// errors: made at the first call, kept for the run.
fn client() -> HostResult<&'static (aws_sdk_costexplorer::Client, String, Duration)> {
    static CLIENT: std::sync::OnceLock<(aws_sdk_costexplorer::Client, String, Duration)> = std::sync::OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let cfg = &crate::engine::context::ctx().config.aws;
    let timeout = cfg.timeout.as_ref().map(|t| t.value).unwrap_or(Duration::from_secs(15));
    let source = sdk::Source {
        section: "[aws]".into(),
        access_key_id: cfg.access_key_id.clone(),
        secret_access_key: cfg.secret_access_key.clone(),
        session_token: cfg.session_token.clone(),
        profile: cfg.profile.clone(),
        region: cfg.region.clone(),
        instance_metadata: cfg.instance_metadata.unwrap_or(false),
    };
    let (region, _) = crate::engine::runtime::block_on(source.region())?;
    let mut b = aws_sdk_costexplorer::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(region.clone())
        .credentials_provider(source.credentials(&region))
        .http_client(sdk::http_client())
        .interceptor(sdk::Limit)
        .timeout_config(aws_config::timeout::TimeoutConfig::builder().operation_attempt_timeout(timeout).build());
    let shown = match &cfg.cost_explorer_endpoint {
        Some(e) => {
            reqwest::Url::parse(e)
                .map_err(|x| error("aws::costs", format!("[aws] cost_explorer_endpoint `{e}`: {x}")))?;
            b = b.endpoint_url(e);
            format!("Cost Explorer ({e})")
        }
        None => "Cost Explorer".to_string(),
    };
    Ok(CLIENT.get_or_init(|| (aws_sdk_costexplorer::Client::from_conf(b.build()), shown, timeout)))
}

/// One page of GetCostAndUsage. The run's own end (deadline, Ctrl-C)
/// while it waits is `block_on`'s error, not this one's.
fn page(
    input: aws_sdk_costexplorer::operation::get_cost_and_usage::builders::GetCostAndUsageFluentBuilder,
    shown: &str,
) -> HostResult<aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput> {
    crate::engine::runtime::block_on(input.send())?.map_err(|e| {
        let text = match sdk::failure(shown, e) {
            sdk::Failure::Service { status, code, message } => {
                format!("Cost Explorer refused (HTTP {status} {code}): {message}")
            }
            sdk::Failure::Other(text) => text,
        };
        error("aws::costs", text)
    })
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod aws_functions {
    use std::collections::BTreeMap;

    use rhai::{Array, Dynamic, Map};

    use aws_sdk_costexplorer::types::{DateInterval, Granularity, GroupDefinition, GroupDefinitionType};

    use super::day;
    use crate::host::opts::Opts;
    use crate::host::{error, HostResult};

    /// The account's costs between two dates (`end` excluded), by service,
    /// from Cost Explorer: `#{start, end, total, unit, estimated,
    /// groups: [#{name, amount, unit}]}`, the largest first. Dates are
    /// "YYYY-MM-DD" strings or Timestamps.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let c = aws::costs(time::ago("30d"), time::now());
    /// table(c.groups, ["name", "amount", "unit"]);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn costs(start: Dynamic, end: Dynamic) -> HostResult<Map> {
        costs_with(start, end, Map::new())
    }

    /// `aws::costs` with options `#{metric, group_by, granularity}`:
    /// `metric` (default "UnblendedCost"), `group_by` a dimension
    /// (default "SERVICE"; "LINKED_ACCOUNT", "REGION", "USAGE_TYPE"…),
    /// `granularity` ("MONTHLY" default, or "DAILY").
    ///
    /// *read-only*
    #[rhai_fn(name = "costs", return_raw)]
    pub fn costs_with(start: Dynamic, end: Dynamic, options: Map) -> HostResult<Map> {
        const F: &str = "aws::costs";
        let o = Opts::new(F, &options)?;
        let start = day(F, "start", &start)?;
        let end = day(F, "end", &end)?;
        if start >= end {
            return Err(error(F, format!("start {start} is not before end {end}")));
        }
        let metric = o.str("metric")?.unwrap_or_else(|| "UnblendedCost".into());
        let group_by = o.str("group_by")?.unwrap_or_else(|| "SERVICE".into());
        let granularity = o.str("granularity")?.unwrap_or_else(|| "MONTHLY".into()).to_uppercase();
        let mut sums: BTreeMap<String, f64> = BTreeMap::new();
        let mut unit = String::from("USD");
        let mut estimated = false;
        let (client, shown, _) = super::client()?;
        let period = DateInterval::builder().start(&start).end(&end).build().map_err(|e| error(F, e.to_string()))?;
        let mut token: Option<String> = None;
        loop {
            let input = client
                .get_cost_and_usage()
                .time_period(period.clone())
                .granularity(Granularity::from(granularity.as_str()))
                .metrics(&metric)
                .group_by(GroupDefinition::builder().r#type(GroupDefinitionType::Dimension).key(&group_by).build())
                .set_next_page_token(token.take());
            let answer = super::page(input, shown)?;
            for period in answer.results_by_time() {
                estimated |= period.estimated();
                for g in period.groups() {
                    let name = g.keys().first().cloned().unwrap_or_else(|| "?".into());
                    let m = g.metrics().and_then(|m| m.get(&metric));
                    let amount: f64 = m.and_then(|m| m.amount()).and_then(|a| a.parse().ok()).unwrap_or(0.0);
                    if let Some(u) = m.and_then(|m| m.unit()) {
                        unit = u.to_string();
                    }
                    *sums.entry(name).or_default() += amount;
                }
            }
            token = answer.next_page_token().filter(|t| !t.is_empty()).map(String::from);
            if token.is_none() {
                break;
            }
        }
        let mut groups: Vec<(String, f64)> = sums.into_iter().collect();
        groups.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let total: f64 = groups.iter().map(|g| g.1).sum();
        let round = |x: f64| (x * 100.0).round() / 100.0;
        let rows: Array = groups
            .into_iter()
            .map(|(name, amount)| {
                let mut m = Map::new();
                m.insert("name".into(), name.into());
                m.insert("amount".into(), round(amount).into());
                m.insert("unit".into(), unit.clone().into());
                Dynamic::from_map(m)
            })
            .collect();
        let mut out = Map::new();
        out.insert("start".into(), start.into());
        out.insert("end".into(), end.into());
        out.insert("total".into(), round(total).into());
        out.insert("unit".into(), unit.into());
        out.insert("estimated".into(), estimated.into());
        out.insert("groups".into(), rows.into());
        Ok(out)
    }
}
