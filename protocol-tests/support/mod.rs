pub mod broker;
pub mod clients;
pub mod raw;
pub mod scrape;
pub mod topics;
