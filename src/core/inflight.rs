//! Frames held in flight (`in-flight` ≥ 2): the streaming thread hands a frame over and
//! returns to upstream, one thread of the element's own takes the frames in the order
//! they came, classifies each and passes it on. At most `capacity` frames are held,
//! the one being worked on included; handing over one more waits for room.
//!
//! Like a `queue`, a failure passing a frame on (downstream flushing, EOS, not linked,
//! an error) is kept and given to the next hand-over, so upstream hears of it, and the
//! frames still held are let go. A flush lets go of the held frames and wakes whoever
//! waits; closing does the same for good and ends the taking thread.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::core::lock::lock;

/// Why a frame was not taken, or a drain ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused<E> {
    /// Between a flush's start and its stop, or closed.
    Flushing,
    /// Passing an earlier frame on failed with this.
    Failed(E),
}

struct State<T, E> {
    waiting: VecDeque<T>,
    /// The taking thread is working on a frame it took.
    busy: bool,
    flushing: bool,
    closed: bool,
    failed: Option<E>,
}

pub struct Held<T, E> {
    capacity: usize,
    state: Mutex<State<T, E>>,
    /// Signalled at every change of `state`; few threads wait on it, so all are woken.
    changed: Condvar,
}

impl<T, E: Copy> Held<T, E> {
    /// `capacity`: the most frames held at once, at least 1.
    pub fn new(capacity: usize) -> Self {
        Held {
            capacity: capacity.max(1),
            state: Mutex::new(State {
                waiting: VecDeque::new(),
                busy: false,
                flushing: false,
                closed: false,
                failed: None,
            }),
            changed: Condvar::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State<T, E>>) -> MutexGuard<'a, State<T, E>> {
        self.changed
            .wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn refusal(state: &State<T, E>) -> Option<Refused<E>> {
        if state.flushing || state.closed {
            return Some(Refused::Flushing);
        }
        state.failed.map(Refused::Failed)
    }

    /// Hands a frame over, waiting while `capacity` frames are held. Refused while
    /// flushing or after a failure, which is then returned on every hand-over until the
    /// next flush.
    pub fn submit(&self, item: T) -> Result<(), Refused<E>> {
        let mut state = lock(&self.state);
        loop {
            if let Some(why) = Self::refusal(&state) {
                return Err(why);
            }
            if state.waiting.len() + usize::from(state.busy) < self.capacity {
                break;
            }
            state = self.wait(state);
        }
        state.waiting.push_back(item);
        drop(state);
        self.changed.notify_all();
        Ok(())
    }

    /// For the taking thread: the oldest frame, waiting for one; None once closed.
    pub fn take(&self) -> Option<T> {
        let mut state = lock(&self.state);
        loop {
            if state.closed {
                return None;
            }
            if let Some(item) = state.waiting.pop_front() {
                state.busy = true;
                return Some(item);
            }
            state = self.wait(state);
        }
    }

    /// For the taking thread: the frame it took is done with. A failure (not while
    /// flushing, when failing is expected) is kept, and the frames still waiting are
    /// let go: they are not passed on after the one that failed.
    pub fn finish(&self, result: Result<(), E>) {
        let mut state = lock(&self.state);
        state.busy = false;
        if let Err(e) = result
            && !state.flushing
            && !state.closed
        {
            state.failed = Some(e);
            state.waiting.clear();
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Whether frames taken now are to be let go instead of passed on.
    pub fn is_flushing(&self) -> bool {
        let state = lock(&self.state);
        state.flushing || state.closed
    }

    /// Waits until every frame handed over is passed on. Err when a flush or a failure
    /// ended the wait.
    pub fn drain(&self) -> Result<(), Refused<E>> {
        let mut state = lock(&self.state);
        loop {
            if let Some(why) = Self::refusal(&state) {
                return Err(why);
            }
            if state.waiting.is_empty() && !state.busy {
                return Ok(());
            }
            state = self.wait(state);
        }
    }

    /// Lets go of the waiting frames and wakes every waiting hand-over and drain.
    pub fn flush_start(&self) {
        let dropped = {
            let mut state = lock(&self.state);
            state.flushing = true;
            std::mem::take(&mut state.waiting)
        };
        self.changed.notify_all();
        drop(dropped);
    }

    /// Takes frames again once the frame being worked on, if any, is done with; forgets
    /// a failure.
    pub fn flush_stop(&self) {
        let mut state = lock(&self.state);
        while state.busy && !state.closed {
            state = self.wait(state);
        }
        state.flushing = false;
        state.failed = None;
        drop(state);
        self.changed.notify_all();
    }

    /// For good: lets go of the waiting frames, refuses every hand-over and ends `take`.
    pub fn close(&self) {
        let dropped = {
            let mut state = lock(&self.state);
            state.closed = true;
            std::mem::take(&mut state.waiting)
        };
        self.changed.notify_all();
        drop(dropped);
    }

    /// Frames held: waiting, and the one being worked on.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        let state = lock(&self.state);
        state.waiting.len() + usize::from(state.busy)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::mpsc;
    use std::thread;

    use super::*;

    /// A taking thread that sends each frame on, or fails it when `fail_at` says so.
    fn taker(
        held: &Arc<Held<u32, &'static str>>,
        fail_at: Option<u32>,
    ) -> (mpsc::Receiver<u32>, thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel();
        let held = Arc::clone(held);
        let handle = thread::spawn(move || {
            while let Some(n) = held.take() {
                let result = if Some(n) == fail_at {
                    Err("downstream failed")
                } else {
                    tx.send(n).map_err(|_| "receiver gone")
                };
                held.finish(result);
            }
        });
        (rx, handle)
    }

    #[test]
    fn frames_leave_in_order_and_drain_waits_for_all() {
        let held = Arc::new(Held::new(3));
        let (rx, handle) = taker(&held, None);
        for n in 0..100 {
            held.submit(n).unwrap();
            assert!(held.held() <= 3);
        }
        held.drain().unwrap();
        assert_eq!(held.held(), 0);
        held.close();
        handle.join().unwrap();
        let out: Vec<u32> = rx.try_iter().collect();
        assert_eq!(out, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn no_more_than_capacity_is_held() {
        let held: Held<u32, ()> = Held::new(2);
        held.submit(1).unwrap();
        held.submit(2).unwrap();
        assert_eq!(held.held(), 2);
        // A third would wait: take one first, as the taking thread would.
        assert_eq!(held.take(), Some(1));
        assert_eq!(held.held(), 2);
        held.finish(Ok(()));
        held.submit(3).unwrap();
        assert_eq!(held.held(), 2);
    }

    #[test]
    fn a_failure_is_returned_on_the_next_hand_over_and_lets_go_of_the_rest() {
        let held: Held<u32, &str> = Held::new(4);
        for n in 0..3 {
            held.submit(n).unwrap();
        }
        assert_eq!(held.take(), Some(0));
        held.finish(Err("eos"));
        assert_eq!(held.held(), 0);
        assert_eq!(held.submit(9), Err(Refused::Failed("eos")));
        assert_eq!(held.drain(), Err(Refused::Failed("eos")));
        held.flush_start();
        held.flush_stop();
        held.submit(10).unwrap();
        assert_eq!(held.take(), Some(10));
    }

    #[test]
    fn a_failure_stops_the_taking_thread_passing_later_frames_on() {
        let held = Arc::new(Held::new(8));
        let (rx, handle) = taker(&held, Some(2));
        let mut refused = None;
        for n in 0..50 {
            if let Err(why) = held.submit(n) {
                refused = Some(why);
                break;
            }
        }
        // The failure may come in after the last hand-over: draining reports it too.
        let why = refused.or_else(|| held.drain().err());
        assert_eq!(why, Some(Refused::Failed("downstream failed")));
        held.close();
        handle.join().unwrap();
        let out: Vec<u32> = rx.try_iter().collect();
        assert_eq!(out, vec![0, 1]);
    }

    #[test]
    fn a_flush_wakes_a_waiting_hand_over() {
        let held: Arc<Held<u32, ()>> = Arc::new(Held::new(1));
        held.submit(1).unwrap();
        let waiting = {
            let held = Arc::clone(&held);
            thread::spawn(move || held.submit(2))
        };
        // Whether it waits yet or not, the flush refuses it.
        held.flush_start();
        assert_eq!(waiting.join().unwrap(), Err(Refused::Flushing));
        assert_eq!(held.held(), 0);
        assert!(held.is_flushing());
        held.flush_stop();
        assert!(!held.is_flushing());
        held.submit(3).unwrap();
        assert_eq!(held.take(), Some(3));
    }

    #[test]
    fn flush_stop_waits_for_the_frame_being_worked_on() {
        let held: Arc<Held<u32, ()>> = Arc::new(Held::new(2));
        held.submit(1).unwrap();
        assert_eq!(held.take(), Some(1));
        held.flush_start();
        let stopper = {
            let held = Arc::clone(&held);
            thread::spawn(move || held.flush_stop())
        };
        // Failing while flushing is expected, and not kept.
        held.finish(Err(()));
        stopper.join().unwrap();
        held.submit(2).unwrap();
        assert_eq!(held.held(), 1);
    }

    #[test]
    fn close_ends_take_and_refuses_hand_overs() {
        let held: Arc<Held<u32, ()>> = Arc::new(Held::new(2));
        let taking = {
            let held = Arc::clone(&held);
            thread::spawn(move || held.take())
        };
        held.close();
        assert_eq!(taking.join().unwrap(), None);
        assert_eq!(held.submit(1), Err(Refused::Flushing));
        assert_eq!(held.drain(), Err(Refused::Flushing));
    }
}
