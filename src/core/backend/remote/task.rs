//! The client's own tokio runtime. Futures run on its thread and the caller waits on a
//! channel, so the caller's thread never enters a runtime: a state change or a push
//! from a thread that drives an application's tokio runtime neither panics ("Cannot
//! start a runtime from within a runtime") nor blocks that runtime's scheduler.

use std::future::Future;

use super::error::RemoteError;

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
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().ok()
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
}
