//! Hostile input on secured listeners.
