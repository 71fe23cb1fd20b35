//! `docker::stats`: one sample of a container's CPU, memory, network and
//! block I/O, computed the way `docker stats --no-stream` computes them.

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptions;
use futures_util::StreamExt;
use rhai::{Dynamic, Map};

use super::client::{client, explain};
use super::resolve::one_running;
use crate::engine::runtime;
use crate::host::{error, HostResult};

pub fn stats(name: &str) -> HostResult<Map> {
    const F: &str = "docker::stats";
    let who = format!("{F} ({name})");
    let c = client()?;
    let sample = runtime::block_on(async {
        let target = one_running(&c, name).await?;
        // Not one-shot: the engine waits for a second sample so that the
        // CPU percentage has an interval to be measured over.
        let opts = StatsOptions { stream: false, one_shot: false };
        let mut s = c.docker.stats(&target.id, Some(opts));
        match s.next().await {
            Some(r) => r.map(|x| (target.name, x)).map_err(|e| explain(&c, &e)),
            None => Err("the engine sent no statistics".to_string()),
        }
    })?
    .map_err(|e| error(&who, e))?;
    Ok(to_map(&sample.0, &sample.1))
}

fn to_map(name: &str, s: &ContainerStatsResponse) -> Map {
    let cpu = s.cpu_stats.as_ref();
    let pre = s.precpu_stats.as_ref();
    let total = |c: Option<&bollard::models::ContainerCpuStats>| {
        c.and_then(|c| c.cpu_usage.as_ref()).and_then(|u| u.total_usage).unwrap_or(0)
    };
    let system = |c: Option<&bollard::models::ContainerCpuStats>| c.and_then(|c| c.system_cpu_usage).unwrap_or(0);
    let cpus = cpu
        .and_then(|c| c.online_cpus.map(|n| n as f64))
        .or_else(|| {
            cpu.and_then(|c| c.cpu_usage.as_ref()).and_then(|u| u.percpu_usage.as_ref()).map(|p| p.len() as f64)
        })
        .unwrap_or(1.0);
    let cpu_delta = total(cpu).saturating_sub(total(pre)) as f64;
    let system_delta = system(cpu).saturating_sub(system(pre)) as f64;
    let cpu_pct = if system_delta > 0.0 { cpu_delta / system_delta * cpus * 100.0 } else { 0.0 };

    let mem = s.memory_stats.as_ref();
    let usage = mem.and_then(|m| m.usage).unwrap_or(0);
    // Page cache is reclaimable: docker stats leaves it out, so do we
    // (cgroup v2 calls it inactive_file, v1 total_inactive_file / cache).
    let cache = mem
        .and_then(|m| m.stats.as_ref())
        .and_then(|st| st.get("inactive_file").or(st.get("total_inactive_file")).or(st.get("cache")).copied())
        .unwrap_or(0);
    let mem_used = usage.saturating_sub(cache);
    let mem_limit = mem.and_then(|m| m.limit).unwrap_or(0);
    let mem_pct = if mem_limit > 0 { mem_used as f64 / mem_limit as f64 * 100.0 } else { 0.0 };

    let (mut rx, mut tx) = (0u64, 0u64);
    for n in s.networks.iter().flat_map(|n| n.values()) {
        rx += n.rx_bytes.unwrap_or(0);
        tx += n.tx_bytes.unwrap_or(0);
    }
    let (mut read, mut write) = (0u64, 0u64);
    for e in s.blkio_stats.iter().flat_map(|b| b.io_service_bytes_recursive.iter().flatten()) {
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => read += e.value.unwrap_or(0),
            Some("write") => write += e.value.unwrap_or(0),
            _ => {}
        }
    }
    let round = |x: f64| (x * 100.0).round() / 100.0;
    let mut m = Map::new();
    m.insert("container".into(), Dynamic::from(name.to_string()));
    m.insert("cpu_pct".into(), Dynamic::from_float(round(cpu_pct)));
    m.insert("mem_used".into(), Dynamic::from_int(mem_used as i64));
    m.insert("mem_limit".into(), Dynamic::from_int(mem_limit as i64));
    m.insert("mem_pct".into(), Dynamic::from_float(round(mem_pct)));
    m.insert("net_rx".into(), Dynamic::from_int(rx as i64));
    m.insert("net_tx".into(), Dynamic::from_int(tx as i64));
    m.insert("block_read".into(), Dynamic::from_int(read as i64));
    m.insert("block_write".into(), Dynamic::from_int(write as i64));
    m.insert("pids".into(), Dynamic::from_int(s.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0) as i64));
    m
}
