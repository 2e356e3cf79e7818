//! Writing to a connection the peer has closed raises SIGPIPE, whose default action
//! ends the process. Rust programs ignore it from `main`, but this plugin runs inside
//! C programs (`gst-launch-1.0`, GStreamer applications) that keep the default: a
//! broker or server that goes away while a buffered write is flushed (tokio writes
//! with `writev`, which has no MSG_NOSIGNAL) would kill the whole pipeline instead of
//! giving the thread an EPIPE error to reconnect on.
//!
//! SIGPIPE is sent to the thread that wrote, so blocking it in the threads of our own
//! that do network I/O is enough, and leaves the application's signal handling alone.
//! Threads they spawn (tokio's blocking pool) inherit the mask.

/// Blocks SIGPIPE in the calling thread: its writes to closed connections fail with
/// EPIPE instead. Returns the error if the mask could not be changed.
pub fn block_in_this_thread() -> std::io::Result<()> {
    // SAFETY: sigemptyset/sigaddset only write the local set; pthread_sigmask changes
    // the calling thread's mask and reads the set, and passes no old mask back.
    let rc = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut())
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::from_raw_os_error(rc))
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::process::Command;

    use super::*;

    /// Set in the child process that runs the write with SIGPIPE's default action.
    const CHILD: &str = "IMGCLASSIFY_SIGPIPE_CHILD";

    /// The test's own binary, running only this test, with SIGPIPE at its default
    /// action as in a C program: it would die of the signal if the thread that writes
    /// did not block it. (Rust test binaries ignore SIGPIPE, so the write runs in a
    /// child where the disposition can be changed without touching other tests.)
    #[test]
    fn a_write_to_a_closed_connection_fails_with_epipe_instead_of_ending_the_process() {
        if std::env::var_os(CHILD).is_some() {
            // SAFETY: only this test runs in this process; restoring the default
            // action is what a C program starts with.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
            let errno = std::thread::spawn(|| {
                block_in_this_thread().expect("SIGPIPE blocked");
                let (ours, theirs) = UnixStream::pair().expect("socket pair");
                drop(theirs);
                let byte = [0u8];
                // SAFETY: writes one byte from a live buffer to a socket we own.
                let n = unsafe { libc::write(ours.as_raw_fd(), byte.as_ptr().cast(), 1) };
                assert_eq!(n, -1);
                std::io::Error::last_os_error().raw_os_error()
            })
            .join()
            .expect("the writing thread");
            assert_eq!(errno, Some(libc::EPIPE));
            return;
        }
        let exe = std::env::current_exe().expect("test binary");
        let out = Command::new(exe)
            .args([
                "core::sigpipe::tests::a_write_to_a_closed_connection_fails_with_epipe_instead_of_ending_the_process",
                "--exact",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .expect("the test binary runs");
        assert!(
            out.status.success(),
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "the child ran the test: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
