//! The SCRAM credential APIs and the store's crash safety.
