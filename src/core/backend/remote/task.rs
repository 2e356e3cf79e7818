//! The client's own tokio runtime. Futures run on its thread and the caller waits on a
//! channel, so the caller's thread never enters a runtime: a state change or a push
//! from a thread that drives an application's tokio runtime neither panics ("Cannot
//! start a runtime from within a runtime") nor blocks that runtime's scheduler.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use super::error::RemoteError;

/// How often a waiting caller looks at its cancel flag: a state change waits at most
/// about this long for a request in flight.
const CANCEL_POLL: Duration = Duration::from_millis(5);

/// Why [`Runtime::wait_unless`] has no output.
#[derive(Debug, PartialEq, Eq)]
pub enum NoOutput {
    /// The flag was set; the task was aborted, and with it its requests.
    Cancelled,
    /// The task ended without one (it panicked, or the runtime is shut down).
    Lost,
}

pub struct Runtime {
    /// Only taken when dropped, to shut it down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
}

impl Runtime {
    pub fn start() -> Result<Runtime, RemoteError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("imgclassify-grpc")
            // A server that goes away mid-request must give EPIPE, not end a C host
            // process (core::sigpipe). The mask call fails only for a bad signal number.
            .on_thread_start(|| {
                let _ = crate::core::sigpipe::block_in_this_thread();
            })
            .enable_all()
            .build()
            .map_err(RemoteError::Runtime)?;
        Ok(Runtime {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        })
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// Runs `future` on the runtime's thread and waits for its output; None when the
    /// task ended without one (it panicked).
    pub fn wait<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        self.wait_unless(future, None).ok()
    }

    /// [`Runtime::wait`], until `cancel` is set: then the task is aborted (a request in
    /// flight is reset, its `max-in-flight` slot freed) and the caller goes on at once.
    pub fn wait_unless<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
        cancel: Option<&AtomicBool>,
    ) -> Result<T, NoOutput> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let task = self.handle.spawn(async move {
            let _ = tx.send(future.await);
        });
        let Some(cancel) = cancel else {
            return rx.recv().map_err(|_| NoOutput::Lost);
        };
        loop {
            if cancel.load(Ordering::Acquire) {
                task.abort();
                return Err(NoOutput::Cancelled);
            }
            match rx.recv_timeout(CANCEL_POLL) {
                Ok(output) => return Ok(output),
                Err(RecvTimeoutError::Disconnected) => return Err(NoOutput::Lost),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Dropped from any thread, an async one included, where a blocking shutdown
        // would panic.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_future_is_waited_for_from_inside_another_runtime() {
        let outer = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let got = outer.block_on(async {
            let ours = Runtime::start().expect("the client's runtime");
            let got = ours.wait(async {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                7
            });
            drop(ours);
            got
        });
        assert_eq!(got, Some(7));
    }

    #[test]
    fn a_cancelled_wait_returns_at_once_and_drops_the_future() {
        let ours = Runtime::start().expect("the client's runtime");
        let cancel = std::sync::Arc::new(AtomicBool::new(false));
        let dropped = std::sync::Arc::new(AtomicBool::new(false));
        struct Flag(std::sync::Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Release);
            }
        }
        let (setter, held) = (std::sync::Arc::clone(&cancel), Flag(dropped.clone()));
        let started = std::time::Instant::now();
        let setting = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            setter.store(true, Ordering::Release);
        });
        let got = ours.wait_unless(
            async move {
                let _held = held;
                tokio::time::sleep(Duration::from_secs(600)).await;
            },
            Some(&cancel),
        );
        assert_eq!(got, Err(NoOutput::Cancelled));
        assert!(started.elapsed() < Duration::from_secs(5));
        setting.join().expect("the setter");
        let aborted = std::time::Instant::now();
        while !dropped.load(Ordering::Acquire) {
            assert!(aborted.elapsed() < Duration::from_secs(5), "never dropped");
            std::thread::sleep(Duration::from_millis(1));
        }
        // Not set: the output, as `wait` gives it.
        let idle = AtomicBool::new(false);
        assert_eq!(ours.wait_unless(async { 7 }, Some(&idle)), Ok(7));
    }
}
