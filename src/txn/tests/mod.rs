//! Tests of the transaction coordinator: the pure state machine, the transaction log, and the
//! running coordinator on real partitions and a manual clock.

mod coordinator;
mod machine;
mod store;
