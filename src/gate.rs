//! Gates for unit tests that interleave another writer at an exact point of a rotation.
//!
//! A fake calls [`Gates::pass`] with the name of the call it is about to make. A test arms the
//! nth pass of a name; that call then stops, tells the test it has arrived, and waits until the
//! test opens the gate. Between the two, the test does what another writer would do (an outside
//! regenerate, a second delivery), so each window is tested deterministically, not by timing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

#[derive(Clone, Default)]
pub struct Gates {
    inner: Arc<Mutex<State>>,
}

/// The call's side of an armed gate: it says it has arrived, then waits to be let through.
type Held = (oneshot::Sender<()>, oneshot::Receiver<()>);

#[derive(Default)]
struct State {
    passes: HashMap<&'static str, usize>,
    armed: HashMap<(&'static str, usize), Held>,
}

/// The test's side of an armed gate.
pub struct Gate {
    arrived: oneshot::Receiver<()>,
    open: oneshot::Sender<()>,
}

impl Gate {
    /// Waits until the gated call has arrived (and is held).
    pub async fn arrived(&mut self) {
        (&mut self.arrived).await.expect("the gated call arrives");
    }

    /// Lets the held call proceed.
    pub fn open(self) {
        let _ = self.open.send(());
    }
}

impl Gates {
    /// Holds the `nth` (1-based) call named `name`.
    pub fn arm(&self, name: &'static str, nth: usize) -> Gate {
        let (arrived_tx, arrived) = oneshot::channel();
        let (open, open_rx) = oneshot::channel();
        self.lock().armed.insert((name, nth), (arrived_tx, open_rx));
        Gate { arrived, open }
    }

    /// Called by a fake before the call `name`; holds it if that pass is armed.
    pub async fn pass(&self, name: &'static str) {
        let held = {
            let mut state = self.lock();
            let count = state.passes.entry(name).or_default();
            *count += 1;
            let nth = *count;
            state.armed.remove(&(name, nth))
        };
        if let Some((arrived, open)) = held {
            let _ = arrived.send(());
            let _ = open.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
