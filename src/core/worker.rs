//! Asynchronous inference: worker threads take the newest submitted job; a job not yet
//! started when a newer one arrives is dropped. The streaming thread never waits.
//!
//! Up to `depth` jobs run at once (one thread each, started when the running ones are
//! all busy): a remote backend keeps that many requests outstanding while the network
//! and the server take their time. Jobs are numbered as they are submitted, and a result
//! replaces the latest only if its job is newer, so answers arriving out of order never
//! put an older frame's result over a newer one's.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::core::lock::lock;

struct Shared<J, R> {
    /// The waiting job and its number.
    pending: Option<(u64, J)>,
    /// The newest finished result not yet taken.
    latest: Option<R>,
    /// The number of the newest job whose result came in (taken or not): an older
    /// job's result that finishes later is thrown away.
    newest: u64,
    /// Jobs submitted so far; numbers them.
    submitted: u64,
    /// Incremented by `reset` so a result computed before it is thrown away.
    generation: u64,
    stop: bool,
    /// Threads running a job.
    busy: usize,
    /// Threads started.
    threads: usize,
}

type Process<J, R> = Arc<dyn Fn(J) -> R + Send + Sync>;

pub struct Worker<J, R> {
    shared: Arc<(Mutex<Shared<J, R>>, Condvar)>,
    process: Process<J, R>,
    name: String,
    depth: usize,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl<J: Send + 'static, R: Send + 'static> Worker<J, R> {
    /// Starts the first thread; `process` runs every job that is not superseded, up to
    /// `depth` (at least 1) at once.
    pub fn start(
        name: &str,
        depth: usize,
        process: impl Fn(J) -> R + Send + Sync + 'static,
    ) -> std::io::Result<Worker<J, R>> {
        let worker = Worker {
            shared: Arc::new((
                Mutex::new(Shared {
                    pending: None,
                    latest: None,
                    newest: 0,
                    submitted: 0,
                    generation: 0,
                    stop: false,
                    busy: 0,
                    threads: 0,
                }),
                Condvar::new(),
            )),
            process: Arc::new(process),
            name: name.to_string(),
            depth: depth.max(1),
            handles: Mutex::new(Vec::new()),
        };
        worker.spawn()?;
        Ok(worker)
    }

    fn spawn(&self) -> std::io::Result<()> {
        let shared = Arc::clone(&self.shared);
        let process = Arc::clone(&self.process);
        lock(&self.shared.0).threads += 1;
        let spawned = std::thread::Builder::new()
            .name(self.name.clone())
            .spawn(move || run(&shared, &*process));
        match spawned {
            Ok(handle) => {
                lock(&self.handles).push(handle);
                Ok(())
            }
            Err(e) => {
                lock(&self.shared.0).threads -= 1;
                Err(e)
            }
        }
    }

    /// Queues a job, replacing one still waiting. Returns true if one was replaced.
    pub fn submit(&self, job: J) -> bool {
        let (mutex, cond) = &*self.shared;
        let (replaced, more) = {
            let mut s = lock(mutex);
            s.submitted += 1;
            let number = s.submitted;
            let replaced = s.pending.replace((number, job)).is_some();
            cond.notify_one();
            // Every thread busy: one more, while under the depth.
            (replaced, s.busy >= s.threads && s.threads < self.depth)
        };
        // A thread that cannot start leaves the job to the running ones: slower, but
        // nothing is lost.
        if more {
            let _ = self.spawn();
        }
        replaced
    }

    /// The newest finished result, handed out once: each answer is counted and
    /// numbered by the stream only when it arrives.
    pub fn take(&self) -> Option<R> {
        lock(&self.shared.0).latest.take()
    }

    /// Drops the waiting job and the latest result (flush, caps change).
    pub fn reset(&self) {
        let mut s = lock(&self.shared.0);
        s.pending = None;
        s.latest = None;
        s.generation += 1;
    }

    /// Waits until nothing is pending or running.
    #[cfg(test)]
    pub fn wait_idle(&self) {
        let (mutex, cond) = &*self.shared;
        let mut s = lock(mutex);
        while (s.pending.is_some() || s.busy > 0) && !s.stop {
            s = cond.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// One thread's loop: the newest job, then its result, unless a newer job's is in.
fn run<J, R>(shared: &(Mutex<Shared<J, R>>, Condvar), process: &(dyn Fn(J) -> R + Send + Sync)) {
    let (mutex, cond) = shared;
    loop {
        let (number, job, generation) = {
            let mut s = lock(mutex);
            while s.pending.is_none() && !s.stop {
                s = cond.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            if s.stop {
                cond.notify_all();
                return;
            }
            let Some((number, job)) = s.pending.take() else {
                continue;
            };
            s.busy += 1;
            (number, job, s.generation)
        };
        let result = process(job);
        let mut s = lock(mutex);
        if s.generation == generation && number > s.newest {
            s.latest = Some(result);
            s.newest = number;
        }
        s.busy -= 1;
        cond.notify_all();
    }
}

impl<J, R> Drop for Worker<J, R> {
    /// Stops and joins the threads; jobs in progress finish first.
    fn drop(&mut self) {
        let (mutex, cond) = &*self.shared;
        {
            let mut s = lock(mutex);
            s.stop = true;
            s.pending = None;
        }
        cond.notify_all();
        for t in lock(&self.handles).drain(..) {
            // A job may drop the last hold on its own worker: that thread ends by itself.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn results_arrive_and_newest_job_wins() {
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ran);
        // Jobs run only while the test lets them, so no sleep decides the order on a
        // loaded machine.
        let gate = Arc::new(Mutex::new(()));
        let held = lock(&gate);
        let job_gate = Arc::clone(&gate);
        let w = Worker::start("t", 1, move |job: u32| {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(lock(&job_gate));
            job * 10
        })
        .expect("thread");
        assert!(!w.submit(1));
        while ran.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // 1 is running; 2 waits and is replaced by 3.
        assert!(!w.submit(2));
        assert!(w.submit(3));
        drop(held);
        w.wait_idle();
        assert_eq!(w.take(), Some(30));
        // Handed out once.
        assert_eq!(w.take(), None);
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn reset_discards_results_in_flight() {
        let w = Worker::start("t", 1, |job: u32| {
            std::thread::sleep(Duration::from_millis(30));
            job
        })
        .expect("thread");
        w.submit(1);
        std::thread::sleep(Duration::from_millis(5));
        w.reset();
        w.wait_idle();
        assert_eq!(w.take(), None);
        w.submit(2);
        w.wait_idle();
        assert_eq!(w.take(), Some(2));
    }

    #[test]
    fn drop_joins_promptly() {
        let w = Worker::start("t", 1, |job: u32| {
            std::thread::sleep(Duration::from_millis(50));
            job
        })
        .expect("thread");
        w.submit(1);
        w.submit(2);
        let start = std::time::Instant::now();
        drop(w);
        assert!(start.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn up_to_depth_jobs_run_at_once_and_an_older_answer_never_replaces_a_newer() {
        let started = Arc::new(AtomicUsize::new(0));
        let released = Arc::new(Mutex::new(Vec::<u32>::new()));
        let finished = Arc::new(AtomicUsize::new(0));
        let (count, gates, done) = (
            Arc::clone(&started),
            Arc::clone(&released),
            Arc::clone(&finished),
        );
        let w = Worker::start("t", 3, move |job: u32| {
            count.fetch_add(1, Ordering::SeqCst);
            while !lock(&gates).contains(&job) {
                std::thread::sleep(Duration::from_millis(1));
            }
            done.fetch_add(1, Ordering::SeqCst);
            job * 10
        })
        .expect("thread");
        let wait_started = |n: usize| {
            while started.load(Ordering::SeqCst) < n {
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        // Each job starts while the earlier ones still run: three at once.
        for job in 1..=3 {
            assert!(!w.submit(job));
            wait_started(job as usize);
        }
        // A fourth waits for a free thread, and a fifth replaces it.
        assert!(!w.submit(4));
        assert!(w.submit(5));
        // The newest running job answers first; the older answers after it are ignored.
        lock(&released).push(3);
        let first = loop {
            if let Some(r) = w.take() {
                break r;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(first, 30);
        lock(&released).extend([1, 2]);
        while finished.load(Ordering::SeqCst) < 3 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(w.take(), None);
        lock(&released).push(5);
        w.wait_idle();
        assert_eq!(w.take(), Some(50));
        assert_eq!(started.load(Ordering::SeqCst), 4);
    }
}
