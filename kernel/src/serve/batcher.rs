//! Dynamic batching on the model's own threads.
//!
//! Requests wait in one bounded queue per model version (a full queue refuses at once,
//! which the front ends answer with 503). Each of the version's `instance_count` threads
//! takes the oldest request, then waits up to `max_queue_delay_microseconds` (counted from
//! when that request arrived) for more, merging them while the rows stay within
//! `max_batch_size`; a request that would overflow the batch starts the next one. One
//! forward pass runs on the merged rows and each request gets its own rows back, in order.
//! A request still queued past its deadline is answered 503 without running.
//!
//! The async runtime never runs a model: it only sends a [`Job`] and awaits its reply.
//! Dropping the [`Executor`] closes the queue; the threads finish what is queued, then
//! exit, dropping their share of the model, so an unloaded version's memory is freed once
//! its last request is answered.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use tokio::sync::oneshot;

use super::backend::Backend;
use super::config::ModelSettings;
use super::error::{ServeError, ServeResult};
use super::stats::Stats;
use super::tensors::Decoded;

/// One request's rows and where its outputs go.
pub struct Job {
    pub input: Decoded,
    pub rows: usize,
    pub enqueued: Instant,
    pub deadline: Instant,
    /// Each output of the signature, flat, for this job's rows.
    pub reply: oneshot::Sender<ServeResult<Vec<Vec<f32>>>>,
}

pub struct Executor {
    tx: Sender<Job>,
}

/// What each thread needs to run batches.
struct Worker {
    rx: Receiver<Job>,
    backend: Arc<Backend>,
    stats: Arc<Stats>,
    max_rows: usize,
    delay: Duration,
    /// Each output's width per row.
    widths: Vec<usize>,
}

impl Executor {
    /// Starts the version's threads, named `serve-{label}-{i}`.
    pub fn start(
        label: &str,
        backend: Arc<Backend>,
        settings: &ModelSettings,
        stats: Arc<Stats>,
        widths: Vec<usize>,
    ) -> anyhow::Result<Self> {
        let (tx, rx) = crossbeam_channel::bounded(settings.max_queue_size);
        for i in 0..settings.instance_count {
            let worker = Worker {
                rx: rx.clone(),
                backend: backend.clone(),
                stats: stats.clone(),
                max_rows: settings.max_batch_size,
                delay: Duration::from_micros(settings.max_queue_delay_microseconds),
                widths: widths.clone(),
            };
            std::thread::Builder::new()
                .name(format!("serve-{label}-{i}"))
                .spawn(move || worker.run())?;
        }
        Ok(Self { tx })
    }

    /// Queues `job`, or refuses it at once when the queue is full.
    pub fn submit(&self, job: Job) -> ServeResult<()> {
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(ServeError::rejected(
                "the model's queue is full; retry later (max_queue_size in ferrolab.json)",
            )),
            Err(TrySendError::Disconnected(_)) => Err(ServeError::unavailable("the model is unloading")),
        }
    }
}

impl Worker {
    fn run(self) {
        let mut carry: Option<Job> = None;
        loop {
            let first = match carry.take() {
                Some(job) => job,
                None => match self.rx.recv() {
                    Ok(job) => job,
                    Err(_) => return, // queue closed and drained: the version is gone
                },
            };
            let mut rows = first.rows;
            let until = first.enqueued + self.delay;
            let mut jobs = vec![first];
            while !self.delay.is_zero() && rows < self.max_rows {
                match self.rx.recv_deadline(until) {
                    Ok(job) if rows + job.rows > self.max_rows => {
                        carry = Some(job);
                        break;
                    }
                    Ok(job) => {
                        rows += job.rows;
                        jobs.push(job);
                    }
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
            self.execute(jobs);
        }
    }

    fn execute(&self, jobs: Vec<Job>) {
        let started = Instant::now();
        let (jobs, expired): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| j.deadline > started);
        for job in expired {
            let waited = started - job.enqueued;
            let _ = job.reply.send(Err(ServeError::timeout(format!(
                "the request waited {} ms in the queue, past its timeout (timeout_ms in ferrolab.json)",
                waited.as_millis()
            ))));
        }
        if jobs.is_empty() {
            return;
        }
        for job in &jobs {
            self.stats.queue.add(started - job.enqueued);
        }
        let rows: usize = jobs.iter().map(|j| j.rows).sum();
        let mut parts = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        for job in jobs {
            parts.push((job.input, job.rows));
            replies.push(job.reply);
        }
        let merged = merge(parts.iter().map(|(d, _)| d));
        let merged_at = Instant::now();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| self.backend.run(&merged, rows)));
        let ran_at = Instant::now();
        let outputs = match result {
            Ok(Ok(outputs)) => outputs,
            Ok(Err(e)) => return fail_all(replies, ServeError::internal(format!("the model failed: {e:#}"))),
            Err(_) => return fail_all(replies, ServeError::internal("the model panicked on this batch")),
        };
        if outputs.len() != self.widths.len()
            || outputs
                .iter()
                .zip(&self.widths)
                .any(|(o, &w)| o.len() != rows * w)
        {
            return fail_all(
                replies,
                ServeError::internal("the model's outputs do not fit its signature"),
            );
        }
        let mut offset = 0;
        let mut answers = Vec::with_capacity(replies.len());
        for (_, job_rows) in &parts {
            let mine: Vec<Vec<f32>> = outputs
                .iter()
                .zip(&self.widths)
                .map(|(o, &w)| o[offset * w..(offset + job_rows) * w].to_vec())
                .collect();
            answers.push(mine);
            offset += job_rows;
        }
        let done = Instant::now();
        self.stats
            .compute_input
            .add_many(replies.len() as u64, merged_at - started);
        self.stats
            .compute_infer
            .add_many(replies.len() as u64, ran_at - merged_at);
        self.stats
            .compute_output
            .add_many(replies.len() as u64, done - ran_at);
        self.stats
            .record_execution(rows, merged_at - started, ran_at - merged_at, done - ran_at);
        for (reply, answer) in replies.into_iter().zip(answers) {
            let _ = reply.send(Ok(answer));
        }
    }
}

fn fail_all(replies: Vec<oneshot::Sender<ServeResult<Vec<Vec<f32>>>>>, error: ServeError) {
    for reply in replies {
        let _ = reply.send(Err(error.clone()));
    }
}

/// The requests' rows, one after another.
fn merge<'a>(parts: impl Iterator<Item = &'a Decoded>) -> Decoded {
    let mut rows = Vec::new();
    let mut texts = Vec::new();
    for part in parts {
        match part {
            Decoded::Rows(v) => rows.extend_from_slice(v),
            Decoded::Texts(t) => texts.extend(t.iter().cloned()),
        }
    }
    if texts.is_empty() {
        Decoded::Rows(rows)
    } else {
        Decoded::Texts(texts)
    }
}
