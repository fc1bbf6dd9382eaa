//! Ctrl-C (SIGINT) and SIGTERM while a command talks to Graph.
//!
//! The first signal sets a flag that `apply` checks before every change (no new write is
//! started; the one in flight finishes or times out) and wakes the commands that only read,
//! which stop at once. A second SIGINT ends the process immediately (exit 130).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use entractl_engine::error::Stopped;
use tokio::sync::Notify;

/// The signal that stopped a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C): exit 130.
    Interrupt,
    /// SIGTERM (e.g. a CI job cancelled): exit 143.
    Terminate,
}

impl Signal {
    /// 128 + the signal number, as shells report it.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    fn code(self) -> u8 {
        match self {
            Signal::Interrupt => 1,
            Signal::Terminate => 2,
        }
    }

    fn from_code(code: u8) -> Option<Signal> {
        match code {
            1 => Some(Signal::Interrupt),
            2 => Some(Signal::Terminate),
            _ => None,
        }
    }
}

/// Whether (and by which signal) the command was asked to stop. Cheap to clone.
#[derive(Clone, Default)]
pub struct Interrupt {
    /// Read by the engine between changes.
    pub cancel: Arc<AtomicBool>,
    signal: Arc<AtomicU8>,
    notify: Arc<Notify>,
}

impl Interrupt {
    /// The first signal received, if any.
    pub fn signal(&self) -> Option<Signal> {
        Signal::from_code(self.signal.load(Ordering::SeqCst))
    }

    /// Resolves when the first signal arrives.
    pub async fn wait(&self) -> Signal {
        loop {
            let notified = self.notify.notified();
            if let Some(s) = self.signal() {
                return s;
            }
            notified.await;
        }
    }

    fn raise(&self, signal: Signal) -> bool {
        let first = self
            .signal
            .compare_exchange(0, signal.code(), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        self.cancel.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
        first
    }

    /// Starts listening for SIGINT and SIGTERM on the current runtime. From then on a signal no
    /// longer kills the process at once: the command decides how to stop (`writing` says what
    /// the first signal's message promises).
    pub fn listen(writing: bool) -> Interrupt {
        let interrupt = Interrupt::default();
        let me = interrupt.clone();
        tokio::spawn(async move {
            let mut signals = match Signals::new() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("warning: cannot listen for Ctrl-C and SIGTERM ({e})");
                    return;
                }
            };
            while let Some(signal) = signals.next().await {
                if me.raise(signal) {
                    if writing {
                        eprintln!(
                            "\n{}: stopping after the change in flight; no new change is started (Ctrl-C again to stop at once)",
                            signal.name()
                        );
                    }
                } else if signal == Signal::Interrupt {
                    eprintln!(
                        "\nSIGINT again: stopping at once; the change in flight may or may not have been made. Run `entractl plan` to see the tenant as it is."
                    );
                    std::process::exit(i32::from(Signal::Interrupt.exit_code()));
                }
            }
        });
        interrupt
    }
}

/// The message of an interrupted command.
pub fn describe(signal: Signal, command: &str, stopped: Option<&Stopped>) -> String {
    let name = signal.name();
    let Some(s) = stopped else {
        return format!("{name}: stopped; nothing was changed in the tenant");
    };
    let mut text = format!(
        "{name}: {command} stopped: {} change(s) made, {} not made",
        s.made.len(),
        s.not_made.len()
    );
    for (title, list) in [("made", &s.made), ("not made", &s.not_made)] {
        if !list.is_empty() {
            text.push_str(&format!("\n  {title}:"));
            for c in list {
                text.push_str(&format!("\n    - {c}"));
            }
        }
    }
    match (&s.journal, s.made.is_empty()) {
        (Some(dir), false) => text.push_str(&format!(
            "\n  the journal {} holds the prior state of every object changed",
            dir.display()
        )),
        _ => text.push_str("\n  nothing was changed in the tenant"),
    }
    text
}

#[cfg(unix)]
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> Option<Signal> {
        tokio::select! {
            s = self.int.recv() => s.map(|()| Signal::Interrupt),
            s = self.term.recv() => s.map(|()| Signal::Terminate),
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals)
    }

    async fn next(&mut self) -> Option<Signal> {
        tokio::signal::ctrl_c()
            .await
            .ok()
            .map(|()| Signal::Interrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_signal_cancels_and_wakes_waiters() {
        let i = Interrupt::default();
        assert_eq!(i.signal(), None);
        let waiter = tokio::spawn({
            let i = i.clone();
            async move { i.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(i.raise(Signal::Terminate));
        assert!(!i.raise(Signal::Interrupt), "only the first signal counts");
        assert_eq!(waiter.await.unwrap(), Signal::Terminate);
        assert_eq!(i.signal(), Some(Signal::Terminate));
        assert!(i.cancel.load(Ordering::SeqCst));
    }
}
