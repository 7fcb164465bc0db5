pub mod broker;
pub mod clients;
pub mod scrape;
