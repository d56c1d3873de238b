//! Dynamic batching on the model's own threads.
//!
//! Requests wait in one bounded queue per model version (a full queue refuses at once,
//! which the front ends answer with 503). Each of the version's `instance_count` threads
//! takes the oldest request, then waits up to `max_queue_delay_microseconds` (counted from
//! when that request arrived) for more, merging them while the rows stay within
//! `max_batch_size`; a request that would overflow the batch starts the next one.
//!
//! The batch also closes once no request has come for [`QUIET_GAP`]: the delay is the most
//! a request may wait, not what every batch waits. With 16 clients each keeping one request
//! in flight, a batch can never reach 64 rows, and waiting out the whole delay each time
//! idled the core: 3,627 requests/s against 4,023 without batching; closing on the quiet
//! gap keeps the merging and drops the idle wait. One
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

/// How long a forming batch waits for the next request before it runs: longer than the
/// gaps between requests that arrive together (tens of microseconds on one connection
/// each), short beside a forward pass.
const QUIET_GAP: Duration = Duration::from_micros(150);

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
                match self.rx.recv_deadline(until.min(Instant::now() + QUIET_GAP)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ferrolab::prelude::*;
    use ferrolab::train::RestoredClassifier;
    use std::sync::atomic::Ordering;

    /// A batcher over a small MLP (4 features, 3 classes) with a long delay.
    fn executor(stats: Arc<Stats>) -> Executor {
        let mlp = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(0), 4, 8, 3);
        let backend = Arc::new(Backend::Classifier(RestoredClassifier::Mlp(Box::new(mlp))));
        let settings = ModelSettings {
            max_queue_delay_microseconds: 3_000_000,
            ..ModelSettings::default()
        };
        Executor::start("test", backend, &settings, stats, vec![3, 3]).unwrap()
    }

    fn job(rows: usize) -> (Job, oneshot::Receiver<ServeResult<Vec<Vec<f32>>>>) {
        let (reply, answer) = oneshot::channel();
        let now = Instant::now();
        let input = Decoded::Rows(vec![0.5; rows * 4]);
        let deadline = now + Duration::from_secs(60);
        (
            Job {
                input,
                rows,
                enqueued: now,
                deadline,
                reply,
            },
            answer,
        )
    }

    /// Requests queued together run as one batch, each answered with its own rows; and a
    /// batch that nothing more joins runs once the queue is quiet, without waiting out the
    /// three-second delay.
    #[test]
    fn queued_requests_merge_and_a_quiet_queue_does_not_wait_out_the_delay() {
        let stats = Arc::new(Stats::default());
        let executor = executor(stats.clone());
        let started = Instant::now();
        let (jobs, answers): (Vec<_>, Vec<_>) = [1, 2, 1].map(job).into_iter().unzip();
        for job in jobs {
            executor.submit(job).unwrap();
        }
        for (answer, rows) in answers.into_iter().zip([1, 2, 1]) {
            let outputs = answer.blocking_recv().unwrap().unwrap();
            assert_eq!(outputs[0].len(), rows * 3);
        }
        assert_eq!(
            stats.execution_count.load(Ordering::SeqCst),
            1,
            "one forward pass"
        );
        assert_eq!(stats.inference_count.load(Ordering::SeqCst), 4);
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "the batch waited {:?}, most of the 3 s delay",
            started.elapsed()
        );
    }
}
