//! `weir user`: SCRAM users, as `kafka-configs.sh --entity-type users` manages them, through
//! DescribeUserScramCredentials and AlterUserScramCredentials. The password never leaves this
//! process: the salted password is computed here, as Kafka's tools do. With `--data-dir`, `add`
//! and `remove` write a stopped broker's credential store directly (for the first user of a
//! broker that only has SASL listeners).

use std::io::Read;
use std::path::PathBuf;

use bytes::Bytes;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest,
};
use serde::Serialize;

use super::error::CliError;
use super::output::{print, print_json, table};
use super::Connect;
use crate::client::{check_msg, s};
use crate::security::credentials::{Change, Credentials};
use crate::security::scram::{random_bytes, salted_password, Credential};
use crate::security::Scram;

#[derive(clap::Args, Debug)]
pub struct UserArgs {
    #[command(flatten)]
    connect: Connect,
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(clap::Subcommand, Debug)]
enum UserCommand {
    /// Every SCRAM user with their mechanisms and iteration counts.
    List,
    /// These users' mechanisms and iteration counts.
    Describe { users: Vec<String> },
    /// Adds a user or changes their password.
    Add {
        user: String,
        /// SCRAM-SHA-256 or SCRAM-SHA-512; repeat for both [default: both].
        #[arg(long = "mechanism")]
        mechanisms: Vec<String>,
        #[arg(long, default_value_t = Scram::MIN_ITERATIONS)]
        iterations: i32,
        /// The password (visible to other users of this machine: prefer --password-stdin).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        /// Write a stopped broker's credential store instead of asking a broker.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Removes a user's credentials.
    Remove {
        user: String,
        /// SCRAM-SHA-256 or SCRAM-SHA-512; repeat for both [default: every one the user has].
        #[arg(long = "mechanism")]
        mechanisms: Vec<String>,
        /// Write a stopped broker's credential store instead of asking a broker.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Serialize)]
struct Row {
    user: String,
    mechanism: String,
    iterations: i32,
}

fn mechanisms(names: &[String], default: &[Scram]) -> Result<Vec<Scram>, CliError> {
    if names.is_empty() {
        return Ok(default.to_vec());
    }
    names
        .iter()
        .map(|n| {
            Scram::parse(n).ok_or_else(|| {
                CliError::Usage(format!(
                    "--mechanism {n}: use SCRAM-SHA-256 or SCRAM-SHA-512"
                ))
            })
        })
        .collect()
}

pub async fn run(args: UserArgs) -> Result<(), CliError> {
    let connect = args.connect;
    match args.command {
        UserCommand::List => describe(&connect, None).await,
        UserCommand::Describe { users } => describe(&connect, Some(users)).await,
        UserCommand::Add {
            user,
            mechanisms: names,
            iterations,
            password,
            password_stdin,
            data_dir,
        } => {
            let mechs = mechanisms(&names, &Scram::BOTH)?;
            let password = match (password, password_stdin) {
                (Some(p), _) => p,
                (None, true) => {
                    let mut text = String::new();
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .map_err(|source| CliError::Stdio {
                            what: "cannot read the password from stdin",
                            source,
                        })?;
                    text.lines().next().unwrap_or("").to_string()
                }
                (None, false) => {
                    return Err(CliError::Usage(
                        "give the password with --password-stdin or --password".into(),
                    ))
                }
            };
            if password.is_empty() {
                return Err(CliError::Usage("the password is empty".into()));
            }
            let mut upserts = Vec::new();
            for mech in mechs {
                let salt = random_bytes(32).map_err(|e| CliError::Usage(e.to_string()))?;
                let salted = salted_password(mech, password.as_bytes(), &salt, iterations);
                upserts.push((mech, salt, salted));
            }
            if let Some(dir) = data_dir {
                let changes = upserts
                    .into_iter()
                    .map(|(mech, salt, salted)| Change::Upsert {
                        user: user.clone(),
                        mech,
                        credential: Credential::from_salted_password(
                            mech, &salted, salt, iterations,
                        ),
                    })
                    .collect();
                return offline(&dir, changes, &user);
            }
            let request = AlterUserScramCredentialsRequest::default().with_upsertions(
                upserts
                    .into_iter()
                    .map(|(mech, salt, salted)| {
                        ScramCredentialUpsertion::default()
                            .with_name(s(&user))
                            .with_mechanism(mech.code())
                            .with_iterations(iterations)
                            .with_salt(Bytes::from(salt))
                            .with_salted_password(Bytes::from(salted))
                    })
                    .collect(),
            );
            alter(&connect, request, &user, "add").await
        }
        UserCommand::Remove {
            user,
            mechanisms: names,
            data_dir,
        } => {
            if let Some(dir) = data_dir {
                let mechs = mechanisms(&names, &Scram::BOTH)?;
                let changes = mechs
                    .into_iter()
                    .map(|mech| Change::Delete {
                        user: user.clone(),
                        mech,
                    })
                    .collect();
                return offline(&dir, changes, &user);
            }
            let mechs = if names.is_empty() {
                existing(&connect, &user).await?
            } else {
                mechanisms(&names, &[])?
            };
            let request = AlterUserScramCredentialsRequest::default().with_deletions(
                mechs
                    .into_iter()
                    .map(|mech| {
                        ScramCredentialDeletion::default()
                            .with_name(s(&user))
                            .with_mechanism(mech.code())
                    })
                    .collect(),
            );
            alter(&connect, request, &user, "remove").await
        }
    }
}

fn offline(dir: &std::path::Path, changes: Vec<Change>, user: &str) -> Result<(), CliError> {
    let store = Credentials::open(dir).map_err(|e| CliError::Usage(e.to_string()))?;
    store
        .apply(changes)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    print(&format!(
        "updated SCRAM credentials of {user} in {}\n",
        dir.display()
    ))
}

async fn existing(connect: &Connect, user: &str) -> Result<Vec<Scram>, CliError> {
    let rows = rows(connect, Some(vec![user.to_string()])).await?;
    Ok(rows
        .iter()
        .filter_map(|r| Scram::parse(&r.mechanism))
        .collect())
}

async fn rows(connect: &Connect, users: Option<Vec<String>>) -> Result<Vec<Row>, CliError> {
    let mut client = connect.client().await?;
    let response = client
        .call(|_| {
            DescribeUserScramCredentialsRequest::default().with_users(users.map(|list| {
                list.iter()
                    .map(|u| UserName::default().with_name(s(u)))
                    .collect()
            }))
        })
        .await?;
    check_msg(response.error_code, response.error_message.as_ref(), || {
        "cannot describe SCRAM users".to_string()
    })?;
    let mut rows = Vec::new();
    for result in response.results {
        check_msg(result.error_code, result.error_message.as_ref(), || {
            format!("user {:?}", result.user.as_str())
        })?;
        for info in result.credential_infos {
            rows.push(Row {
                user: result.user.to_string(),
                mechanism: Scram::from_code(info.mechanism).map_or_else(
                    || format!("mechanism {}", info.mechanism),
                    |m| m.to_string(),
                ),
                iterations: info.iterations,
            });
        }
    }
    Ok(rows)
}

async fn describe(connect: &Connect, users: Option<Vec<String>>) -> Result<(), CliError> {
    let rows = rows(connect, users).await?;
    if connect.json() {
        return print_json(&rows);
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.user.clone(),
                r.mechanism.clone(),
                r.iterations.to_string(),
            ]
        })
        .collect();
    print(&table(&["USER", "MECHANISM", "ITERATIONS"], &cells))
}

async fn alter(
    connect: &Connect,
    request: AlterUserScramCredentialsRequest,
    user: &str,
    what: &str,
) -> Result<(), CliError> {
    let mut client = connect.client().await?;
    let response = client.call(|_| request).await?;
    for result in &response.results {
        check_msg(result.error_code, result.error_message.as_ref(), || {
            format!("cannot {what} SCRAM credentials of {user:?}")
        })?;
    }
    print(&format!("{what}: SCRAM credentials of {user}\n"))
}
