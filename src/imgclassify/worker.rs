//! Asynchronous inference: one worker thread takes the newest submitted job; a job not
//! yet started when a newer one arrives is dropped. The streaming thread never waits.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::lock::lock;

struct Shared<J, R> {
    pending: Option<J>,
    latest: Option<R>,
    /// Incremented by `reset` so a result computed before it is thrown away.
    generation: u64,
    stop: bool,
    busy: bool,
}

pub struct Worker<J, R> {
    shared: Arc<(Mutex<Shared<J, R>>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl<J: Send + 'static, R: Clone + Send + 'static> Worker<J, R> {
    /// Starts the thread; `process` runs every job that is not superseded.
    pub fn start(
        name: &str,
        mut process: impl FnMut(J) -> R + Send + 'static,
    ) -> std::io::Result<Worker<J, R>> {
        let shared = Arc::new((
            Mutex::new(Shared {
                pending: None,
                latest: None,
                generation: 0,
                stop: false,
                busy: false,
            }),
            Condvar::new(),
        ));
        let inner = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let (mutex, cond) = &*inner;
                loop {
                    let (job, generation) = {
                        let mut s = lock(mutex);
                        while s.pending.is_none() && !s.stop {
                            s = cond.wait(s).unwrap_or_else(|p| p.into_inner());
                        }
                        if s.stop {
                            s.busy = false;
                            cond.notify_all();
                            return;
                        }
                        s.busy = true;
                        let Some(job) = s.pending.take() else {
                            continue;
                        };
                        (job, s.generation)
                    };
                    let result = process(job);
                    let mut s = lock(mutex);
                    if s.generation == generation {
                        s.latest = Some(result);
                    }
                    s.busy = false;
                    cond.notify_all();
                }
            })?;
        Ok(Worker {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues a job, replacing one still waiting. Returns true if one was replaced.
    pub fn submit(&self, job: J) -> bool {
        let (mutex, cond) = &*self.shared;
        let mut s = lock(mutex);
        let replaced = s.pending.replace(job).is_some();
        cond.notify_all();
        replaced
    }

    /// The most recent finished result.
    pub fn latest(&self) -> Option<R> {
        lock(&self.shared.0).latest.clone()
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
        while (s.pending.is_some() || s.busy) && !s.stop {
            s = cond.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl<J, R> Drop for Worker<J, R> {
    /// Stops and joins the thread; a job in progress finishes first.
    fn drop(&mut self) {
        let (mutex, cond) = &*self.shared;
        {
            let mut s = lock(mutex);
            s.stop = true;
            s.pending = None;
        }
        cond.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
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
        let w = Worker::start("t", move |job: u32| {
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
        assert_eq!(w.latest(), Some(30));
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn reset_discards_results_in_flight() {
        let w = Worker::start("t", |job: u32| {
            std::thread::sleep(Duration::from_millis(30));
            job
        })
        .expect("thread");
        w.submit(1);
        std::thread::sleep(Duration::from_millis(5));
        w.reset();
        w.wait_idle();
        assert_eq!(w.latest(), None);
        w.submit(2);
        w.wait_idle();
        assert_eq!(w.latest(), Some(2));
    }

    #[test]
    fn drop_joins_promptly() {
        let w = Worker::start("t", |job: u32| {
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
}
