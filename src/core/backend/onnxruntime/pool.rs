//! The sessions of one model, lent one at a time to whoever runs an inference.
//! `Session::run` needs the session to itself, so elements that share one session run
//! one after another; with several, as many inferences run at once as there are idle
//! sessions. Waiters are served in arrival order, so a stream that asks again at once
//! cannot overtake one that has been waiting.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use ort::session::Session;

use crate::core::lock::lock;

static POOLED: AtomicUsize = AtomicUsize::new(0);
static LENT: AtomicU64 = AtomicU64::new(0);

/// Sessions in all pools of this process (for tests and measurements).
pub fn pooled_sessions() -> usize {
    POOLED.load(Ordering::SeqCst)
}

/// Sessions lent by all pools of this process so far, one per inference (for tests:
/// while frames flow, every lend is a frame's).
pub fn pool_lends() -> u64 {
    LENT.load(Ordering::SeqCst)
}

/// What the elements holding one model ask of its pool: each automatic holder
/// (`sessions=0`) one session, an explicit `sessions=N` N sessions. The largest ask wins;
/// an explicit ask is kept after its element goes, as the pool never shrinks while held.
#[derive(Default)]
pub struct Demand {
    automatic: AtomicUsize,
    largest: AtomicUsize,
}

impl Demand {
    pub fn join(&self, sessions: usize) {
        if sessions == 0 {
            self.automatic.fetch_add(1, Ordering::SeqCst);
        } else {
            self.largest.fetch_max(sessions, Ordering::SeqCst);
        }
    }

    pub fn leave(&self, sessions: usize) {
        if sessions == 0 {
            self.automatic.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Sessions wanted when automatic holders get one each up to `automatic_limit`.
    pub fn wanted(&self, automatic_limit: usize) -> usize {
        let automatic = self.automatic.load(Ordering::SeqCst).min(automatic_limit);
        automatic.max(self.largest.load(Ordering::SeqCst)).max(1)
    }
}

struct State {
    idle: Vec<Session>,
    /// Sessions of the current generation, lent or idle.
    total: usize,
    /// Bumped by [`Pool::replace`]: a lent session of an older one is dropped when it
    /// comes back.
    generation: u64,
    /// The next ticket handed out, and the one whose turn it is.
    next: u64,
    serving: u64,
}

pub struct Pool {
    state: Mutex<State>,
    returned: Condvar,
}

/// A lent session, given back when dropped, a panic in the run included.
pub struct Lent<'a> {
    pool: &'a Pool,
    session: Option<Session>,
    generation: u64,
}

impl std::ops::Deref for Lent<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        // Only `drop` takes it out.
        self.session.as_ref().expect("lent session present")
    }
}

impl std::ops::DerefMut for Lent<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.session.as_mut().expect("lent session present")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let mut state = lock(&self.pool.state);
            if state.generation != self.generation {
                // Replaced while lent: freed outside the lock.
                drop(state);
                drop(session);
                return;
            }
            state.idle.push(session);
            drop(state);
            self.pool.returned.notify_all();
        }
    }
}

impl Pool {
    pub fn new(first: Session) -> Pool {
        POOLED.fetch_add(1, Ordering::SeqCst);
        Pool {
            state: Mutex::new(State {
                idle: vec![first],
                total: 1,
                generation: 0,
                next: 0,
                serving: 0,
            }),
            returned: Condvar::new(),
        }
    }

    pub fn size(&self) -> usize {
        lock(&self.state).total
    }

    pub fn add(&self, session: Session) {
        let mut state = lock(&self.state);
        state.idle.push(session);
        state.total += 1;
        POOLED.fetch_add(1, Ordering::SeqCst);
        drop(state);
        self.returned.notify_all();
    }

    /// Puts `sessions` in place of all the pool holds; those lent now are dropped when
    /// they come back, so no inference is cut short.
    pub fn replace(&self, sessions: Vec<Session>) {
        let mut state = lock(&self.state);
        let old = std::mem::replace(&mut state.idle, sessions);
        POOLED.fetch_sub(state.total, Ordering::SeqCst);
        state.total = state.idle.len();
        POOLED.fetch_add(state.total, Ordering::SeqCst);
        state.generation += 1;
        drop(state);
        drop(old);
        self.returned.notify_all();
    }

    /// Waits for this caller's turn and an idle session.
    pub fn take(&self) -> Lent<'_> {
        let mut state = lock(&self.state);
        let ticket = state.next;
        state.next += 1;
        while state.serving != ticket || state.idle.is_empty() {
            state = wait(&self.returned, state);
        }
        state.serving += 1;
        LENT.fetch_add(1, Ordering::SeqCst);
        let session = state.idle.pop();
        let generation = state.generation;
        let more = !state.idle.is_empty();
        drop(state);
        // The next in line may find another idle session.
        if more {
            self.returned.notify_all();
        }
        Lent {
            pool: self,
            session,
            generation,
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        POOLED.fetch_sub(lock(&self.state).total, Ordering::SeqCst);
    }
}

fn wait<'a>(c: &Condvar, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
    c.wait(g).unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::Demand;

    #[test]
    fn the_largest_ask_wins() {
        let d = Demand::default();
        d.join(1);
        d.join(1);
        assert_eq!(d.wanted(2), 1, "two elements asking for one share one");
        d.join(0);
        d.join(0);
        assert_eq!(d.wanted(2), 2, "two automatic holders, one each");
        assert_eq!(d.wanted(1), 1, "automatic holders stop at the limit");
        d.join(3);
        assert_eq!(d.wanted(2), 3, "an explicit ask is not held to the limit");
        d.leave(0);
        d.leave(0);
        d.leave(3);
        assert_eq!(d.wanted(2), 3, "kept after its element goes");
    }

    #[test]
    fn no_holder_still_wants_one() {
        assert_eq!(Demand::default().wanted(4), 1);
    }
}
