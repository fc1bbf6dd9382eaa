//! Locks that survive poisoning (a panicking handler must not take the emulator down).

use std::sync::Mutex;

/// Lock a mutex, ignoring poisoning.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
