//! ACLs with real clients: the Java and confluent-kafka AdminClients create, describe and
//! delete them; `weir acl` manages them; SASL users are allowed and denied produce, consume,
//! groups, transactional ids, Metadata and auto-creation as Kafka's StandardAuthorizer decides
//! (prefixed patterns, deny over allow, super users); the store survives SIGKILL and torn
//! writes; hostile ACL requests get Kafka's error codes; the transactional APIs check ids,
//! topics, groups and the cluster.

mod admin;
mod hostile;
mod matrix;
mod store;
mod txn;

/// The settings that turn the authorizer on with the PLAINTEXT listener's `User:ANONYMOUS` as
/// the super user that sets things up.
pub const AUTHORIZER: [(&str, &str); 2] = [
    (
        "authorizer.class.name",
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    ),
    ("super.users", "User:ANONYMOUS"),
];
