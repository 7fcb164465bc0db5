//! AlterUserScramCredentials v0: upsert and delete SCRAM credentials. The client sends the
//! salt and salted password (never the password); the broker keeps what Kafka keeps: salt,
//! stored key, server key, iterations. Per user, every change of the request is checked
//! first; the valid ones are then persisted together before the response.

use std::collections::HashMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::str_bytes;
use crate::broker::Broker;
use crate::error::code_of;
use crate::security::credentials::Change;
use crate::security::scram::Credential;
use crate::security::Scram;

pub async fn handle(
    broker: &std::sync::Arc<Broker>,
    request: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    // Users named more than once (for the same mechanism) get DUPLICATE_RESOURCE, as in Kafka.
    let mut seen: HashMap<(String, i8), usize> = HashMap::new();
    for (name, mech) in request
        .deletions
        .iter()
        .map(|d| (d.name.to_string(), d.mechanism))
        .chain(
            request
                .upsertions
                .iter()
                .map(|u| (u.name.to_string(), u.mechanism)),
        )
    {
        *seen.entry((name, mech)).or_default() += 1;
    }
    let mut order: Vec<StrBytes> = Vec::new();
    let mut errors: Errors = HashMap::new();
    let mut changes: Vec<(String, Change)> = Vec::new();
    for deletion in request.deletions {
        let user = deletion.name.to_string();
        if !order.iter().any(|u| u.as_str() == user) {
            order.push(deletion.name.clone());
        }
        let Some(mech) = check(&mut errors, &user, deletion.mechanism, &seen) else {
            continue;
        };
        if !broker.credentials.exists(&user, mech) {
            fail(
                &mut errors,
                &user,
                ResponseError::ResourceNotFound,
                format!("Attempt to delete a user credential that does not exist: {user} {mech}"),
            );
            continue;
        }
        changes.push((user.clone(), Change::Delete { user, mech }));
    }
    for upsertion in request.upsertions {
        let user = upsertion.name.to_string();
        if !order.iter().any(|u| u.as_str() == user) {
            order.push(upsertion.name.clone());
        }
        let Some(mech) = check(&mut errors, &user, upsertion.mechanism, &seen) else {
            continue;
        };
        let iterations = upsertion.iterations;
        if iterations < Scram::MIN_ITERATIONS {
            fail(
                &mut errors,
                &user,
                ResponseError::UnacceptableCredential,
                format!(
                    "Too few iterations: {iterations} (at least {} for {mech})",
                    Scram::MIN_ITERATIONS
                ),
            );
            continue;
        }
        if iterations > Scram::MAX_ITERATIONS {
            fail(
                &mut errors,
                &user,
                ResponseError::UnacceptableCredential,
                format!(
                    "Too many iterations: {iterations} (at most {} for {mech})",
                    Scram::MAX_ITERATIONS
                ),
            );
            continue;
        }
        if upsertion.salt.is_empty() || upsertion.salted_password.is_empty() {
            fail(
                &mut errors,
                &user,
                ResponseError::UnacceptableCredential,
                "Salt and salted password must not be empty".into(),
            );
            continue;
        }
        let credential = Credential::from_salted_password(
            mech,
            &upsertion.salted_password,
            upsertion.salt.to_vec(),
            iterations,
        );
        changes.push((
            user.clone(),
            Change::Upsert {
                user,
                mech,
                credential,
            },
        ));
    }
    // A user's changes apply only if all of them are valid.
    let changes: Vec<Change> = changes
        .into_iter()
        .filter(|(user, _)| !errors.contains_key(user))
        .map(|(_, change)| change)
        .collect();
    let store = broker.clone();
    if !changes.is_empty() {
        let written = tokio::task::spawn_blocking(move || store.credentials.apply(changes)).await;
        let failure = match written {
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                tracing::error!("cannot write the SCRAM credential store: {e}");
                Some(code_of(std::io::Error::other(e.to_string())))
            }
            Err(e) => {
                tracing::error!("SCRAM credential store task failed: {e}");
                Some(ResponseError::UnknownServerError.code())
            }
        };
        if let Some(code) = failure {
            for user in &order {
                errors
                    .entry(user.to_string())
                    .or_insert((code, "the credential store could not be written".into()));
            }
        }
    }
    let results = order
        .into_iter()
        .map(|user| {
            let result = AlterUserScramCredentialsResult::default().with_user(user.clone());
            match errors.get(user.as_str()) {
                Some((code, message)) => result
                    .with_error_code(*code)
                    .with_error_message(Some(str_bytes(message.clone()))),
                None => result,
            }
        })
        .collect();
    AlterUserScramCredentialsResponse::default().with_results(results)
}

type Errors = HashMap<String, (i16, String)>;

/// Records the first reason a user's changes fail.
fn fail(errors: &mut Errors, user: &str, code: ResponseError, message: String) {
    errors
        .entry(user.to_string())
        .or_insert((code.code(), message));
}

/// The mechanism of one change, or `None` after recording why the user's changes fail.
fn check(
    errors: &mut Errors,
    user: &str,
    code: i8,
    seen: &HashMap<(String, i8), usize>,
) -> Option<Scram> {
    if user.is_empty() {
        fail(
            errors,
            user,
            ResponseError::UnacceptableCredential,
            "Username must not be empty".into(),
        );
        return None;
    }
    let Some(mech) = Scram::from_code(code) else {
        fail(
            errors,
            user,
            ResponseError::UnsupportedSaslMechanism,
            format!("Unknown SCRAM mechanism {code}"),
        );
        return None;
    };
    if seen.get(&(user.to_string(), code)).copied().unwrap_or(0) > 1 {
        fail(
            errors,
            user,
            ResponseError::DuplicateResource,
            format!("A user credential cannot be altered twice in the same request: {user} {mech}"),
        );
        return None;
    }
    Some(mech)
}
