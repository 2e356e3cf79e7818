//! Watching a classes folder while the element runs: photos and class folders added,
//! removed or replaced anywhere under it. inotify (through `notify`) tells at once;
//! where it cannot be used (no inotify, its watch limit reached, a network file system)
//! the folder is polled. Changes come in bursts (a copy writes a file in pieces, a
//! folder brings many photos), so `changed` runs once the folder has been quiet for a
//! while, on the watch's own thread, and never for reads.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

/// How long the folder must be quiet before a change is acted on: long enough for a
/// file manager's copy of a few photos, short next to a person looking at the result.
pub const QUIET: Duration = Duration::from_millis(300);

/// How often the folder is scanned where inotify cannot be used.
pub const POLL: Duration = Duration::from_secs(1);

enum Message {
    Changed,
    Stop,
}

/// A running watch; dropping it stops the watch and joins its thread (which finishes
/// the `changed` call in progress first).
pub struct Watch {
    /// Kept for its side effect: it sends into the thread's channel.
    _watcher: Box<dyn Watcher + Send>,
    stop: mpsc::Sender<Message>,
    thread: Option<JoinHandle<()>>,
    /// Whether the folder is polled instead of watched by inotify.
    pub polled: bool,
}

fn relevant(event: &notify::Result<notify::Event>) -> bool {
    match event {
        Ok(e) => !matches!(e.kind, EventKind::Access(_)),
        // A lost event (queue overflow) may hide any change: look again.
        Err(_) => true,
    }
}

impl Watch {
    /// Watches `dir` and everything under it; `changed` runs on the watch's thread after
    /// each burst of changes, once `quiet` passed without another.
    pub fn start(
        dir: &Path,
        quiet: Duration,
        poll: Duration,
        changed: impl FnMut() + Send + 'static,
    ) -> Result<Watch, String> {
        Watch::start_with(dir, (quiet, poll), true, changed)
    }

    /// [`Watch::start`], polled without trying inotify when `inotify` is false.
    fn start_with(
        dir: &Path,
        (quiet, poll): (Duration, Duration),
        inotify: bool,
        mut changed: impl FnMut() + Send + 'static,
    ) -> Result<Watch, String> {
        let (tx, rx) = mpsc::channel::<Message>();
        let sender = tx.clone();
        let handler = move |event: notify::Result<notify::Event>| {
            if relevant(&event) {
                let _ = sender.send(Message::Changed);
            }
        };
        let watched = match inotify {
            true => watch_with_inotify(dir, handler.clone()),
            false => Err(notify::Error::generic("inotify not tried")),
        };
        let (watcher, polled) = match watched {
            Ok(watcher) => (watcher, false),
            Err(_) => {
                let config = notify::Config::default().with_poll_interval(poll);
                let mut watcher =
                    notify::PollWatcher::new(handler, config).map_err(|e| e.to_string())?;
                watcher.watch(dir, RecursiveMode::Recursive).map_err(|e| {
                    format!("classes-dir '{}' cannot be watched: {e}", dir.display())
                })?;
                (Box::new(watcher) as Box<dyn Watcher + Send>, true)
            }
        };
        let thread = std::thread::Builder::new()
            .name("imgclassify-classes".into())
            .spawn(move || {
                lower_priority();
                while let Ok(Message::Changed) = rx.recv() {
                    // Wait for the burst to end; a stop while waiting ends the watch.
                    loop {
                        match rx.recv_timeout(quiet) {
                            Ok(Message::Changed) => continue,
                            Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                            Err(RecvTimeoutError::Timeout) => break,
                        }
                    }
                    changed();
                }
            })
            .map_err(|e| format!("cannot start the classes-dir watch thread: {e}"))?;
        Ok(Watch {
            _watcher: watcher,
            stop: tx,
            thread: Some(thread),
            polled,
        })
    }
}

/// Embedding examples competes with the frames for the cores: the frames go first.
/// This thread's niceness goes up by 10 from what it is (never down, even as root).
pub fn lower_priority() {
    // SAFETY: gettid has no preconditions; getpriority and setpriority on this thread's
    // id read and change only its own niceness, and a failure leaves it as it was.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, (now + 10).min(19));
    }
}

fn watch_with_inotify(
    dir: &Path,
    handler: impl notify::EventHandler,
) -> notify::Result<Box<dyn Watcher + Send>> {
    let mut watcher = notify::recommended_watcher(handler)?;
    watcher.watch(dir, RecursiveMode::Recursive)?;
    Ok(Box::new(watcher))
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.stop.send(Message::Stop);
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    /// Waits (at most 10 s, so a broken watch fails instead of hanging) until `count`
    /// reaches `n`.
    fn reaches(count: &Arc<Mutex<usize>>, n: usize) -> bool {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if *count.lock().unwrap() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    fn counting(dir: &Path) -> (Watch, Arc<Mutex<usize>>) {
        counting_with(dir, true)
    }

    fn counting_with(dir: &Path, inotify: bool) -> (Watch, Arc<Mutex<usize>>) {
        let count = Arc::new(Mutex::new(0));
        let seen = Arc::clone(&count);
        let times = (Duration::from_millis(100), Duration::from_millis(50));
        let watch = Watch::start_with(dir, times, inotify, move || {
            *seen.lock().unwrap() += 1;
        })
        .expect("watches");
        assert_eq!(watch.polled, !inotify);
        (watch, count)
    }

    #[test]
    fn a_burst_of_changes_in_class_folders_is_one_call() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("van")).expect("mkdir");
        let (watch, count) = counting(dir.path());
        assert!(!watch.polled);
        for i in 0..5 {
            std::fs::write(dir.path().join("van").join(format!("{i}.jpg")), "x").expect("write");
        }
        assert!(reaches(&count, 1));
        // A new class folder, and a photo in it, is watched too.
        std::fs::create_dir(dir.path().join("car")).expect("mkdir");
        assert!(reaches(&count, 2));
        std::fs::write(dir.path().join("car").join("a.jpg"), "x").expect("write");
        assert!(reaches(&count, 3));
        std::fs::remove_file(dir.path().join("van").join("0.jpg")).expect("rm");
        assert!(reaches(&count, 4));
        drop(watch);
        let after = *count.lock().unwrap();
        std::fs::write(dir.path().join("van").join("9.jpg"), "x").expect("write");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            *count.lock().unwrap(),
            after,
            "a stopped watch calls no more"
        );
    }

    /// Where inotify cannot be used: a photo added, replaced and removed is seen by
    /// scanning the folder.
    #[test]
    fn a_polled_folder_sees_photos_added_replaced_and_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("van")).expect("mkdir");
        let photo = dir.path().join("van").join("a.jpg");
        let (_watch, count) = counting_with(dir.path(), false);
        std::fs::write(&photo, "x").expect("write");
        assert!(reaches(&count, 1));
        // Another size, so the scan sees it whatever the file system's time resolution.
        std::fs::write(&photo, "xy").expect("write");
        assert!(reaches(&count, 2));
        std::fs::remove_file(&photo).expect("rm");
        assert!(reaches(&count, 3));
    }

    #[test]
    fn a_missing_folder_cannot_be_watched_and_says_which() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let err = Watch::start(&missing, QUIET, POLL, || {})
            .err()
            .expect("refused");
        assert!(err.contains("nope"), "{err}");
    }
}
