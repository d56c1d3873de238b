//! Counters and durations of one model version: what the statistics extension reports and
//! the Prometheus metrics expose. Atomics, so the request path and the model's threads
//! update them without a lock; batch sizes and failure reasons, which have keys, sit
//! behind a mutex taken once per batch or failure.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::sync::lock;

/// A count and a total duration in nanoseconds.
#[derive(Debug, Default)]
pub struct Duration2 {
    pub count: AtomicU64,
    pub ns: AtomicU64,
}

impl Duration2 {
    pub fn add(&self, d: Duration) {
        self.add_many(1, d);
    }
    pub fn add_many(&self, count: u64, d: Duration) {
        self.count.fetch_add(count, Relaxed);
        self.ns.fetch_add(d.as_nanos() as u64, Relaxed);
    }
    pub fn get(&self) -> (u64, u64) {
        (self.count.load(Relaxed), self.ns.load(Relaxed))
    }
}

/// Per batch size: executions and their input, infer and output durations.
#[derive(Debug, Default, Clone, Copy)]
pub struct BatchStat {
    pub count: u64,
    pub input_ns: u64,
    pub infer_ns: u64,
    pub output_ns: u64,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub success: Duration2,
    pub fail: Duration2,
    pub queue: Duration2,
    pub compute_input: Duration2,
    pub compute_infer: Duration2,
    pub compute_output: Duration2,
    /// Samples inferred (a request of batch 4 counts 4).
    pub inference_count: AtomicU64,
    /// Forward passes run (a merged batch counts 1).
    pub execution_count: AtomicU64,
    /// Milliseconds since the epoch of the last inference, 0 before any.
    pub last_inference_ms: AtomicU64,
    /// Requests accepted and not yet answered.
    pub pending: AtomicI64,
    pub batches: Mutex<BTreeMap<usize, BatchStat>>,
    pub failures: Mutex<BTreeMap<&'static str, u64>>,
}

impl Stats {
    pub fn record_failure(&self, reason: &'static str, took: Duration) {
        self.fail.add(took);
        *lock(&self.failures).entry(reason).or_default() += 1;
    }

    pub fn record_execution(&self, rows: usize, input: Duration, infer: Duration, output: Duration) {
        self.execution_count.fetch_add(1, Relaxed);
        self.inference_count.fetch_add(rows as u64, Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        self.last_inference_ms.store(now, Relaxed);
        let mut batches = lock(&self.batches);
        let b = batches.entry(rows).or_default();
        b.count += 1;
        b.input_ns += input.as_nanos() as u64;
        b.infer_ns += infer.as_nanos() as u64;
        b.output_ns += output.as_nanos() as u64;
    }

    pub fn failures(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.failures).clone()
    }

    pub fn batches(&self) -> BTreeMap<usize, BatchStat> {
        lock(&self.batches).clone()
    }
}
