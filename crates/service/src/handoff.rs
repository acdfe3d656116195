//! Waiting on the service's channels: poll for a short, bounded time, then block (ADR 0091).
//!
//! Waking a parked thread costs a futex wake and a reschedule: tens of microseconds on the
//! virtual machines measured, more than a cold derivation itself. The two waits that
//! usually end soon poll their channel first and block only when nothing came within
//! [`SPIN`]: a caller waiting for its reply, and the service thread just after it answered
//! (the next request of a burst is then likely). Spinning longer than a wake-up costs
//! cannot save more than that wake-up, so the bound is about one wake-up; a wait that
//! outlasts it pays the spin once, then blocks as before. With a single CPU, polling would
//! take the CPU from the very thread that is to send, so there every wait blocks at once.

use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvError, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

/// How long a waiting thread polls its channel before it blocks, on a machine with more
/// than one CPU.
pub(crate) const SPIN: Duration = Duration::from_micros(50);

/// [`SPIN`], or zero on a machine with one CPU (or one whose CPU count is unknown).
fn spin_budget() -> Duration {
    static BUDGET: OnceLock<Duration> = OnceLock::new();
    *BUDGET.get_or_init(|| budget_for(std::thread::available_parallelism()))
}

/// The poll for a machine whose CPU count `available_parallelism` reported.
fn budget_for(cpus: std::io::Result<std::num::NonZeroUsize>) -> Duration {
    match cpus {
        Ok(n) if n.get() > 1 => SPIN,
        _ => Duration::ZERO,
    }
}

/// What polling found.
enum Polled<T> {
    Message(T),
    Empty,
    Disconnected,
}

/// Polls `rx` until a message arrives, the sender is gone, or `budget` has passed.
fn poll<T>(rx: &Receiver<T>, budget: Duration) -> Polled<T> {
    if budget.is_zero() {
        return Polled::Empty;
    }
    let start = Instant::now();
    loop {
        // Reading the clock costs more than a poll: look at it once per round.
        for _ in 0..32 {
            match rx.try_recv() {
                Ok(message) => return Polled::Message(message),
                Err(TryRecvError::Disconnected) => return Polled::Disconnected,
                Err(TryRecvError::Empty) => core::hint::spin_loop(),
            }
        }
        if start.elapsed() >= budget {
            return Polled::Empty;
        }
    }
}

/// As [`Receiver::recv`], polling for up to [`SPIN`] before it blocks.
pub(crate) fn recv<T>(rx: &Receiver<T>) -> Result<T, RecvError> {
    match poll(rx, spin_budget()) {
        Polled::Message(message) => Ok(message),
        Polled::Empty => rx.recv(),
        Polled::Disconnected => Err(RecvError),
    }
}

/// As [`Receiver::recv_timeout`], polling for up to [`SPIN`] (never longer than
/// `timeout`) before it blocks for the rest of `timeout`.
pub(crate) fn recv_timeout<T>(rx: &Receiver<T>, timeout: Duration) -> Result<T, RecvTimeoutError> {
    let start = Instant::now();
    match poll(rx, spin_budget().min(timeout)) {
        Polled::Message(message) => Ok(message),
        Polled::Empty => rx.recv_timeout(timeout.saturating_sub(start.elapsed())),
        Polled::Disconnected => Err(RecvTimeoutError::Disconnected),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn one_cpu_or_an_unknown_count_never_polls() {
        let cpus = |n: usize| Ok(std::num::NonZeroUsize::new(n).unwrap());
        assert_eq!(budget_for(cpus(1)), Duration::ZERO);
        assert_eq!(
            budget_for(Err(std::io::Error::other("no count"))),
            Duration::ZERO
        );
        assert_eq!(budget_for(cpus(2)), SPIN);
        assert_eq!(budget_for(cpus(64)), SPIN);
    }

    #[test]
    fn a_message_already_sent_is_received() {
        let (tx, rx) = mpsc::channel();
        tx.send(7u8).unwrap();
        assert_eq!(recv(&rx), Ok(7));
        tx.send(8u8).unwrap();
        assert_eq!(recv_timeout(&rx, Duration::from_secs(1)), Ok(8));
    }

    #[test]
    fn a_message_sent_after_the_spin_is_still_received() {
        let (tx, rx) = mpsc::sync_channel(1);
        let sender = std::thread::spawn(move || {
            std::thread::sleep(SPIN * 20);
            tx.send(9u8).unwrap();
        });
        assert_eq!(recv(&rx), Ok(9));
        sender.join().unwrap();
    }

    #[test]
    fn a_gone_sender_is_reported_as_disconnected() {
        let (tx, rx) = mpsc::channel::<u8>();
        drop(tx);
        assert_eq!(recv(&rx), Err(RecvError));
        assert_eq!(
            recv_timeout(&rx, Duration::from_secs(1)),
            Err(RecvTimeoutError::Disconnected)
        );
        // A sender that leaves while the receiver is blocked (after its spin).
        let (tx, rx) = mpsc::channel::<u8>();
        let leaver = std::thread::spawn(move || {
            std::thread::sleep(SPIN * 20);
            drop(tx);
        });
        assert_eq!(recv(&rx), Err(RecvError));
        leaver.join().unwrap();
    }

    #[test]
    fn recv_timeout_times_out_no_earlier_than_asked() {
        let (_tx, rx) = mpsc::channel::<u8>();
        for timeout in [Duration::ZERO, SPIN / 2, SPIN * 4] {
            let start = Instant::now();
            assert_eq!(recv_timeout(&rx, timeout), Err(RecvTimeoutError::Timeout));
            assert!(start.elapsed() >= timeout, "{timeout:?}");
        }
    }
}
