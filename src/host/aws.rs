//! `aws`: account APIs beyond S3 — today, Cost Explorer's
//! GetCostAndUsage (the manual's `aws ce get-cost-and-usage`). Signed with
//! the same SigV4 code as S3 and sent over the shared HTTP client, with
//! credentials found as for S3 (`[aws]`, environment, ~/.aws/credentials).

use std::time::Duration;

use rhai::plugin::*;

use crate::host::s3::{bucket::find_credentials, sign};
use crate::host::{error, HostResult};

const TARGET: &str = "AWSInsightsIndexService.GetCostAndUsage";

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

/// One call of GetCostAndUsage: its JSON answer. The run's own end
/// (deadline, Ctrl-C) while it waits is `block_on`'s error, not this one's.
fn call(body: &serde_json::Value) -> HostResult<serde_json::Value> {
    let send = request(body).map_err(|e| error("aws::costs", e))?;
    crate::engine::runtime::block_on(send)?.map_err(|e| error("aws::costs", e))
}

/// The signed request, as a future that sends it and reads the answer.
fn request(
    body: &serde_json::Value,
) -> Result<impl std::future::Future<Output = Result<serde_json::Value, String>>, String> {
    let cfg = &crate::engine::context::ctx().config.aws;
    let region = cfg.region.clone().unwrap_or_else(|| "us-east-1".into());
    let endpoint = cfg.cost_explorer_endpoint.clone().unwrap_or_else(|| format!("https://ce.{region}.amazonaws.com"));
    let url = reqwest::Url::parse(&endpoint).map_err(|e| format!("[aws] cost_explorer_endpoint `{endpoint}`: {e}"))?;
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => return Err(format!("[aws] cost_explorer_endpoint `{endpoint}` has no host")),
    };
    let timeout = cfg.timeout.as_ref().map(|t| t.value).unwrap_or(Duration::from_secs(15));
    let creds = find_credentials(
        "[aws]",
        cfg.access_key_id.as_ref().zip(cfg.secret_access_key.as_ref()),
        cfg.session_token.as_ref(),
        cfg.instance_metadata.unwrap_or(false),
    )?;
    let payload = body.to_string().into_bytes();
    let headers = vec![
        ("content-type".to_string(), "application/x-amz-json-1.1".to_string()),
        ("x-amz-target".into(), TARGET.into()),
    ];
    let signed = sign::sign(
        &creds,
        &region,
        "ce",
        "POST",
        &host,
        "/",
        &[],
        &headers,
        &sign::sha256_hex(&payload),
        chrono::Utc::now(),
    );
    let settings =
        crate::host::http::Settings { insecure: false, ca: None, follow: false, keep_alive: true, resolve: None };
    let client = crate::host::http::client(&settings)?;
    let mut rb = client.post(url.as_str()).timeout(timeout);
    for (k, v) in &signed {
        rb = rb.header(k.as_str(), v.as_str());
    }
    Ok(async move {
        let resp = rb.body(payload).send().await.map_err(|e| {
            format!(
                "Cost Explorer ({endpoint}) cannot be reached: {}",
                crate::host::http::explain(&endpoint, &e, timeout)
            )
        })?;
        let status = resp.status().as_u16();
        let text = crate::host::http::text_within(resp, &format!("the answer of Cost Explorer ({endpoint})")).await?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| format!("Cost Explorer ({endpoint}) answered HTTP {status} without JSON"))?;
        if status != 200 {
            let kind = json["__type"].as_str().unwrap_or("error").rsplit('#').next().unwrap_or("error").to_string();
            let msg = json["message"].as_str().or(json["Message"].as_str()).unwrap_or("").to_string();
            return Err(format!("Cost Explorer refused (HTTP {status} {kind}): {msg}"));
        }
        Ok(json)
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

    use super::{call, day};
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
        let mut token: Option<String> = None;
        loop {
            let mut body = serde_json::json!({
                "TimePeriod": {"Start": start, "End": end},
                "Granularity": granularity,
                "Metrics": [metric],
                "GroupBy": [{"Type": "DIMENSION", "Key": group_by}],
            });
            if let Some(t) = &token {
                body["NextPageToken"] = serde_json::Value::String(t.clone());
            }
            let answer = call(&body)?;
            for period in answer["ResultsByTime"].as_array().into_iter().flatten() {
                estimated |= period["Estimated"].as_bool().unwrap_or(false);
                for g in period["Groups"].as_array().into_iter().flatten() {
                    let name = g["Keys"][0].as_str().unwrap_or("?").to_string();
                    let m = &g["Metrics"][metric.as_str()];
                    let amount: f64 = m["Amount"].as_str().and_then(|a| a.parse().ok()).unwrap_or(0.0);
                    if let Some(u) = m["Unit"].as_str() {
                        unit = u.to_string();
                    }
                    *sums.entry(name).or_default() += amount;
                }
            }
            token = answer["NextPageToken"].as_str().filter(|t| !t.is_empty()).map(String::from);
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
