//! DescribeUserScramCredentials v0: each user's SCRAM mechanisms and iteration counts (never
//! salts or keys). A null user list describes every user.

use std::collections::HashMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};

use super::str_bytes;
use crate::broker::Broker;
use crate::security::Scram;

pub fn handle(
    broker: &Broker,
    request: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let users = broker.credentials.describe();
    let info = |creds: &[(Scram, i32)]| -> Vec<CredentialInfo> {
        creds
            .iter()
            .map(|(mech, iterations)| {
                CredentialInfo::default()
                    .with_mechanism(mech.code())
                    .with_iterations(*iterations)
            })
            .collect()
    };
    let results = match request.users {
        None => users
            .iter()
            .map(|(user, creds)| {
                DescribeUserScramCredentialsResult::default()
                    .with_user(str_bytes(user.clone()))
                    .with_credential_infos(info(creds))
            })
            .collect(),
        Some(asked) => {
            let mut count: HashMap<String, usize> = HashMap::new();
            for user in &asked {
                *count.entry(user.name.to_string()).or_default() += 1;
            }
            let mut results: Vec<DescribeUserScramCredentialsResult> = Vec::new();
            for user in asked {
                let name = user.name.to_string();
                if results.iter().any(|r| r.user.as_str() == name) {
                    continue;
                }
                let result = DescribeUserScramCredentialsResult::default().with_user(user.name);
                results.push(if count[&name] > 1 {
                    result
                        .with_error_code(ResponseError::DuplicateResource.code())
                        .with_error_message(Some(str_bytes(format!(
                            "Cannot describe SCRAM credentials for the same user twice in a single request: {name}"
                        ))))
                } else {
                    match users.get(&name) {
                        Some(creds) => result.with_credential_infos(info(creds)),
                        None => result
                            .with_error_code(ResponseError::ResourceNotFound.code())
                            .with_error_message(Some(str_bytes(format!(
                                "Attempt to describe a user credential that does not exist: {name}"
                            )))),
                    }
                });
            }
            results
        }
    };
    DescribeUserScramCredentialsResponse::default().with_results(results)
}
