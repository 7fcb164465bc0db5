pub mod broker;
pub mod clients;
