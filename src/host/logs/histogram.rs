//! Percentiles of request times in constant memory: integer milliseconds
//! below 100 s are counted exactly (nginx logs them as integers, so the
//! percentiles are exact there); everything else goes into logarithmic
//! buckets 0.5% wide, which keeps any percentile within 0.25% of exact.

const EXACT: usize = 100_000;
const LOG_BASE: f64 = 1.005;

pub struct Histogram {
    exact: Vec<u64>,
    log: std::collections::BTreeMap<i32, u64>,
    pub count: u64,
    pub sum: f64,
    pub max: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { exact: vec![0; EXACT], log: Default::default(), count: 0, sum: 0.0, max: 0.0 }
    }
}

impl Histogram {
    pub fn add(&mut self, ms: f64) {
        self.count += 1;
        self.sum += ms;
        if ms > self.max {
            self.max = ms;
        }
        if ms >= 0.0 && ms.fract() == 0.0 && (ms as usize) < EXACT {
            self.exact[ms as usize] += 1;
        } else {
            let b = if ms <= 1.0 { i32::MIN } else { (ms.ln() / LOG_BASE.ln()).floor() as i32 };
            *self.log.entry(b).or_insert(0) += 1;
        }
    }

    pub fn merge(&mut self, o: Histogram) {
        for (a, b) in self.exact.iter_mut().zip(o.exact) {
            *a += b;
        }
        for (k, v) in o.log {
            *self.log.entry(k).or_insert(0) += v;
        }
        self.count += o.count;
        self.sum += o.sum;
        self.max = self.max.max(o.max);
    }

    /// Nearest-rank percentile (`q` in 0..=100): the value at rank
    /// ceil(q/100 · n) in sorted order, as `sort -n | sed -n Np` gives it.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        // Values below 1 ms that are not integers live in the lowest log
        // bucket; merge both scales in value order.
        let mut seen = 0u64;
        let mut log_iter = self.log.iter().peekable();
        let bucket_value = |b: i32| if b == i32::MIN { 0.5 } else { LOG_BASE.powf(b as f64 + 0.5) };
        for (v, &n) in self.exact.iter().enumerate() {
            while let Some((&b, &c)) = log_iter.peek() {
                if bucket_value(b) < v as f64 {
                    seen += c;
                    if seen >= rank {
                        return Some(bucket_value(b));
                    }
                    log_iter.next();
                } else {
                    break;
                }
            }
            if n > 0 {
                seen += n;
                if seen >= rank {
                    return Some(v as f64);
                }
            }
        }
        for (&b, &c) in log_iter {
            seen += c;
            if seen >= rank {
                return Some(bucket_value(b).min(self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_for_integer_ms_and_close_for_the_rest() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.add(v as f64);
        }
        assert_eq!(h.percentile(50.0), Some(50.0));
        assert_eq!(h.percentile(95.0), Some(95.0));
        assert_eq!(h.percentile(100.0), Some(100.0));
        let mut h = Histogram::default();
        for v in 0..1000 {
            h.add(150_000.0 + v as f64 * 100.0);
        }
        let p50 = h.percentile(50.0).unwrap();
        assert!((p50 - 199_900.0).abs() / 199_900.0 < 0.01, "{p50}");
    }
}
