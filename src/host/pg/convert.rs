//! Postgres values ↔ Rhai values.
//!
//! | Postgres | Rhai |
//! |---|---|
//! | int2, int4, int8, oid | int |
//! | float4, float8 | float |
//! | numeric | float when it has at most 15 significant digits (exact in a float), else its exact text |
//! | text, varchar, char(n), name, citext, uuid, inet, cidr, time | string |
//! | bool | bool |
//! | timestamptz, timestamp (read as UTC), date (midnight UTC) | Timestamp |
//! | `infinity`, `-infinity` of those three | the string "infinity", "-infinity" |
//! | interval | Duration (a month counts 30 days) |
//! | json, jsonb | map / array / … |
//! | arrays of the above scalars | array |
//! | bytea | blob |
//! | NULL | () |

use rhai::{Array, Dynamic, Map};
use sqlx::postgres::{PgArguments, PgRow, PgValueRef};
use sqlx::query::Query;
use sqlx::{Column, Postgres, Row, TypeInfo, ValueRef};

use crate::host::time::{Span, Timestamp};

fn ts(d: chrono::DateTime<chrono::Utc>) -> Dynamic {
    Dynamic::from(Timestamp(d))
}

/// PostgreSQL's `infinity` and `-infinity` (and dates beyond chrono's
/// range, which sqlx's conversion panics on) for the three date types,
/// before sqlx decodes: a script tests them as strings.
fn special_time(col: &str, ty: &str, raw: &PgValueRef) -> Option<Result<Dynamic, String>> {
    use sqlx::postgres::PgValueFormat;
    if !matches!(ty, "TIMESTAMPTZ" | "TIMESTAMP" | "DATE") {
        return None;
    }
    let beyond = || {
        Err(format!(
            "column `{col}` ({ty}): a date beyond the years runbook can represent (±262,000); select it as text (`{col}::text`)"
        ))
    };
    match raw.format() {
        PgValueFormat::Text => match raw.as_str().ok()? {
            "infinity" => Some(Ok(Dynamic::from("infinity"))),
            "-infinity" => Some(Ok(Dynamic::from("-infinity"))),
            _ => None,
        },
        PgValueFormat::Binary => {
            let bytes = raw.as_bytes().ok()?;
            // Microseconds (timestamps) or days (dates) since 2000-01-01.
            let (n, max, min, unit_us) = match (ty, bytes.len()) {
                ("DATE", 4) => {
                    let n = i32::from_be_bytes(bytes.try_into().ok()?) as i64;
                    (n, i32::MAX as i64, i32::MIN as i64, 86_400_000_000i64)
                }
                (_, 8) => (i64::from_be_bytes(bytes.try_into().ok()?), i64::MAX, i64::MIN, 1),
                _ => return None,
            };
            if n == max {
                return Some(Ok(Dynamic::from("infinity")));
            }
            if n == min {
                return Some(Ok(Dynamic::from("-infinity")));
            }
            let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)?.and_hms_opt(0, 0, 0)?;
            let fits = n
                .checked_mul(unit_us)
                .map(chrono::TimeDelta::microseconds)
                .and_then(|d| epoch.checked_add_signed(d))
                .is_some();
            if fits {
                None
            } else {
                Some(beyond())
            }
        }
    }
}

/// A binary `timestamptz[]` read by hand: sqlx's own conversion panics on
/// an `infinity` element. One dimension; `None` leaves other forms to sqlx.
fn timestamp_array(col: &str, raw: &PgValueRef) -> Option<Result<Dynamic, String>> {
    use sqlx::postgres::PgValueFormat;
    if raw.format() != PgValueFormat::Binary {
        return None;
    }
    let b = raw.as_bytes().ok()?;
    let int = |at: usize| b.get(at..at + 4).and_then(|s| s.try_into().ok()).map(i32::from_be_bytes);
    let ndim = int(0)?;
    if ndim == 0 {
        return Some(Ok(Dynamic::from_array(vec![])));
    }
    if ndim != 1 {
        return None;
    }
    let len = usize::try_from(int(12)?).ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)?.and_hms_opt(0, 0, 0)?.and_utc();
    let mut at = 20;
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        let n = int(at)?;
        at += 4;
        if n < 0 {
            out.push(Dynamic::UNIT);
            continue;
        }
        let us = i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?);
        at += 8;
        out.push(match us {
            i64::MAX => Dynamic::from("infinity"),
            i64::MIN => Dynamic::from("-infinity"),
            us => match epoch.checked_add_signed(chrono::TimeDelta::microseconds(us)) {
                Some(t) => ts(t),
                None => {
                    return Some(Err(format!(
                        "column `{col}` (TIMESTAMPTZ[]): a date beyond the years runbook can represent (±262,000); select it as text (`{col}::text`)"
                    )))
                }
            },
        });
    }
    Some(Ok(Dynamic::from_array(out)))
}

fn numeric_to_dynamic(text: String) -> Dynamic {
    let significant = text.trim_start_matches('-').chars().filter(char::is_ascii_digit).collect::<String>();
    let significant = significant.trim_start_matches('0').trim_end_matches('0');
    match text.parse::<f64>() {
        Ok(f) if significant.len() <= 15 => Dynamic::from_float(f),
        _ => Dynamic::from(text),
    }
}

fn inet(n: sqlx::types::ipnetwork::IpNetwork, is_cidr: bool) -> String {
    let full = if n.is_ipv4() { 32 } else { 128 };
    if !is_cidr && n.prefix() == full {
        n.ip().to_string()
    } else {
        n.to_string()
    }
}

fn arr<T>(v: Vec<T>, f: impl Fn(T) -> Dynamic) -> Dynamic {
    Dynamic::from_array(v.into_iter().map(f).collect())
}

/// One column of one row.
pub fn value(row: &PgRow, i: usize) -> Result<Dynamic, String> {
    let col = &row.columns()[i];
    let raw: PgValueRef = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(Dynamic::UNIT);
    }
    let ty = col.type_info().name().to_string();
    if let Some(v) = special_time(col.name(), &ty, &raw) {
        return v;
    }
    let e = |err: sqlx::Error| format!("column `{}` ({ty}): {err}", col.name());
    Ok(match ty.as_str() {
        "INT2" => Dynamic::from_int(row.try_get::<i16, _>(i).map_err(e)? as i64),
        "INT4" => Dynamic::from_int(row.try_get::<i32, _>(i).map_err(e)? as i64),
        "INT8" => Dynamic::from_int(row.try_get::<i64, _>(i).map_err(e)?),
        "OID" => Dynamic::from_int(row.try_get::<sqlx::postgres::types::Oid, _>(i).map_err(e)?.0 as i64),
        "FLOAT4" => Dynamic::from_float(row.try_get::<f32, _>(i).map_err(e)? as f64),
        "FLOAT8" => Dynamic::from_float(row.try_get::<f64, _>(i).map_err(e)?),
        "NUMERIC" => numeric_to_dynamic(row.try_get::<sqlx::types::Decimal, _>(i).map_err(e)?.to_string()),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" | "UNKNOWN" => {
            Dynamic::from(row.try_get::<String, _>(i).map_err(e)?)
        }
        "\"CHAR\"" | "CHAR" => Dynamic::from(((row.try_get::<i8, _>(i).map_err(e)? as u8) as char).to_string()),
        "BOOL" => Dynamic::from_bool(row.try_get::<bool, _>(i).map_err(e)?),
        "TIMESTAMPTZ" => ts(row.try_get::<chrono::DateTime<chrono::Utc>, _>(i).map_err(e)?),
        "TIMESTAMP" => ts(row.try_get::<chrono::NaiveDateTime, _>(i).map_err(e)?.and_utc()),
        "DATE" => {
            ts(row.try_get::<chrono::NaiveDate, _>(i).map_err(e)?.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        }
        "TIME" => Dynamic::from(row.try_get::<chrono::NaiveTime, _>(i).map_err(e)?.to_string()),
        "INTERVAL" => {
            let v = row.try_get::<sqlx::postgres::types::PgInterval, _>(i).map_err(e)?;
            let days = v.months as i64 * 30 + v.days as i64;
            Dynamic::from(Span::from_micros(days.saturating_mul(86_400_000_000).saturating_add(v.microseconds)))
        }
        "INET" | "CIDR" => {
            Dynamic::from(inet(row.try_get::<sqlx::types::ipnetwork::IpNetwork, _>(i).map_err(e)?, ty == "CIDR"))
        }
        "UUID" => Dynamic::from(row.try_get::<sqlx::types::Uuid, _>(i).map_err(e)?.to_string()),
        "JSON" | "JSONB" => crate::host::convert::from_json(row.try_get::<serde_json::Value, _>(i).map_err(e)?),
        "BYTEA" => Dynamic::from_blob(row.try_get::<Vec<u8>, _>(i).map_err(e)?),
        "VOID" => Dynamic::UNIT,
        "INT2[]" => arr(row.try_get::<Vec<i16>, _>(i).map_err(e)?, |x| Dynamic::from_int(x as i64)),
        "INT4[]" => arr(row.try_get::<Vec<i32>, _>(i).map_err(e)?, |x| Dynamic::from_int(x as i64)),
        "INT8[]" => arr(row.try_get::<Vec<i64>, _>(i).map_err(e)?, Dynamic::from_int),
        "FLOAT4[]" => arr(row.try_get::<Vec<f32>, _>(i).map_err(e)?, |x| Dynamic::from_float(x as f64)),
        "FLOAT8[]" => arr(row.try_get::<Vec<f64>, _>(i).map_err(e)?, Dynamic::from_float),
        "NUMERIC[]" => {
            arr(row.try_get::<Vec<sqlx::types::Decimal>, _>(i).map_err(e)?, |x| numeric_to_dynamic(x.to_string()))
        }
        "TEXT[]" | "VARCHAR[]" | "NAME[]" | "BPCHAR[]" => {
            arr(row.try_get::<Vec<String>, _>(i).map_err(e)?, Dynamic::from)
        }
        "BOOL[]" => arr(row.try_get::<Vec<bool>, _>(i).map_err(e)?, Dynamic::from_bool),
        "TIMESTAMPTZ[]" => match timestamp_array(col.name(), &raw) {
            Some(v) => v?,
            None => arr(row.try_get::<Vec<chrono::DateTime<chrono::Utc>>, _>(i).map_err(e)?, ts),
        },
        "UUID[]" => arr(row.try_get::<Vec<sqlx::types::Uuid>, _>(i).map_err(e)?, |u| Dynamic::from(u.to_string())),
        "JSONB[]" | "JSON[]" => {
            arr(row.try_get::<Vec<serde_json::Value>, _>(i).map_err(e)?, crate::host::convert::from_json)
        }
        other => {
            return Err(format!(
                "column `{}` has type {}, which runbook cannot read yet: cast it in the SQL, e.g. {}::text",
                col.name(),
                other.to_lowercase(),
                col.name()
            ))
        }
    })
}

pub fn row_to_map(row: &PgRow) -> Result<Map, String> {
    let mut m = Map::new();
    for (i, c) in row.columns().iter().enumerate() {
        m.insert(c.name().into(), value(row, i)?);
    }
    Ok(m)
}

/// Bind Rhai values as parameters: always bound, never formatted into SQL.
pub fn bind<'q>(
    mut q: Query<'q, Postgres, PgArguments>,
    params: &Array,
) -> Result<Query<'q, Postgres, PgArguments>, String> {
    for (n, v) in params.iter().enumerate() {
        q = if v.is_unit() {
            q.bind(None::<String>)
        } else if let Ok(b) = v.as_bool() {
            q.bind(b)
        } else if let Ok(i) = v.as_int() {
            q.bind(i)
        } else if let Ok(f) = v.as_float() {
            q.bind(f)
        } else if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
            q.bind(s.to_string())
        } else if let Some(t) = v.read_lock::<Timestamp>() {
            q.bind(t.0)
        } else if let Some(d) = v.read_lock::<Span>() {
            q.bind(sqlx::postgres::types::PgInterval { months: 0, days: 0, microseconds: d.micros() })
        } else if let Some(a) = v.read_lock::<Array>() {
            if a.iter().all(|x| x.is_int()) {
                q.bind(a.iter().map(|x| x.as_int().unwrap_or_default()).collect::<Vec<i64>>())
            } else if a.iter().all(|x| x.is_string()) {
                q.bind(a.iter().map(|x| x.to_string()).collect::<Vec<String>>())
            } else if a.iter().all(|x| x.is_float() || x.is_int()) {
                q.bind(a.iter().map(|x| crate::host::opts::number(x).unwrap_or_default()).collect::<Vec<f64>>())
            } else {
                q.bind(crate::host::convert::to_json(v))
            }
        } else if v.is_map() {
            q.bind(crate::host::convert::to_json(v))
        } else {
            return Err(format!("parameter ${} is a {}, which cannot be sent to Postgres", n + 1, v.type_name()));
        };
    }
    Ok(q)
}

/// A parameter as the dry-run line shows it.
pub fn show_param(v: &Dynamic) -> String {
    if v.is_string() {
        format!("'{}'", v.to_string().replace('\'', "''"))
    } else if v.is_unit() {
        "NULL".into()
    } else {
        crate::host::convert::to_json(v).to_string()
    }
}
