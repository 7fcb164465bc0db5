pub mod broker;
pub mod clients;
pub mod raw;
pub mod rdkafka_clients;
pub mod scrape;
pub mod stats;
pub mod topics;
pub mod wait;
