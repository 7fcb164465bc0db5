//! The ACL store's crash safety: ACLs acknowledged before SIGKILL are there after the restart
//! (one more in flight when the kill lands), a torn temp file is ignored, a torn store stops
//! the broker with the file named.

use std::time::Duration;

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::CreateAclsRequest;
use weir::client::Client;
use weir::security::acl::{Acl, AclFilter, Operation, PatternType, Permission, ResourceType};

use crate::support::broker::ProcessBroker;
use crate::support::raw::{request_frame, s, send_raw, RawClient};

const WAIT: Duration = Duration::from_secs(10);

fn acl(i: usize) -> Acl {
    Acl {
        resource_type: ResourceType::Topic,
        name: format!("t{i}."),
        pattern: PatternType::Prefixed,
        principal: format!("User:u{i}"),
        host: "*".into(),
        operation: Operation::Read,
        permission: if i.is_multiple_of(2) {
            Permission::Allow
        } else {
            Permission::Deny
        },
    }
}

async fn listed(addr: std::net::SocketAddr) -> Vec<Acl> {
    let mut client = Client::connect(&addr.to_string(), "weir-acl-check", WAIT)
        .await
        .expect("connect");
    client
        .describe_acls(&AclFilter::any())
        .await
        .expect("describe ACLs")
}

#[test]
fn the_acl_store_survives_sigkill_and_torn_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let args = [
        "--set",
        "authorizer.class.name=standard",
        "--set",
        "super.users=User:ANONYMOUS",
    ];
    let broker = ProcessBroker::spawn(dir.path(), &args);
    let addr = broker.addr;
    let acked: Vec<Acl> = runtime.block_on(async {
        let mut client = Client::connect(&addr.to_string(), "weir-acl-crash", WAIT)
            .await
            .expect("connect");
        let mut acked = Vec::new();
        for i in 0..20 {
            let created = client.create_acls(&[acl(i)]).await.expect("create ACLs");
            assert!(created.iter().all(Result::is_ok), "{created:?}");
            acked.push(acl(i));
        }
        // One more in flight when the kill lands.
        let creation = AclCreation::default()
            .with_resource_type(ResourceType::Topic.code())
            .with_resource_name(s("in-flight"))
            .with_resource_pattern_type(PatternType::Literal.code())
            .with_principal(s("User:late"))
            .with_host(s("*"))
            .with_operation(Operation::Read.code())
            .with_permission_type(Permission::Allow.code());
        let frame = request_frame(
            &CreateAclsRequest::default().with_creations(vec![creation]),
            3,
            99,
        );
        let mut raw = RawClient::connect(addr).await;
        send_raw(raw.stream(), &frame).await;
        acked
    });
    broker.kill_hard();
    let store = dir.path().join("acls.json");
    let full = std::fs::read(&store).expect("store");
    std::fs::write(dir.path().join("acls.tmp"), &full[..full.len() / 3]).expect("tmp");

    let broker = ProcessBroker::spawn(dir.path(), &args);
    let after = runtime.block_on(listed(broker.addr));
    for a in &acked {
        assert!(after.contains(a), "{a} lost after SIGKILL: {after:?}");
    }
    broker.kill_hard();

    std::fs::write(&store, &full[..full.len() / 2]).expect("torn store");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(args)
        .env_remove("WEIR_BOOTSTRAP")
        .output()
        .expect("run weir serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("acls.json"), "{stderr}");
}
