//! Admin APIs (issue 4): DescribeConfigs, IncrementalAlterConfigs, AlterConfigs,
//! CreatePartitions, DeleteRecords, DescribeCluster, DescribeLogDirs, and topic configs that take
//! effect (retention).
//!
//! - `versions.rs`: every advertised version of each API through a raw client, with exact codes
//! - `java.rs`: the Java AdminClient 4.3 (`java/AdminOps.java`)
//! - `python.rs`: confluent-kafka's AdminClient (`python/confluent_admin.py`)
//! - `retention.rs`: tiny segments and retention set through IncrementalAlterConfigs

mod common;
mod java;
mod python;
mod retention;
mod versions;
