//! The Java and confluent-kafka AdminClients' ACL calls against a broker with the authorizer on.

use crate::support::broker::TestBroker;
use crate::support::clients::{blocking, java, python, stdout_lines};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_and_confluent_admin_clients_create_describe_and_delete_acls() {
    let java_broker = TestBroker::start_with(&super::AUTHORIZER).await;
    let py_broker = TestBroker::start_with(&super::AUTHORIZER).await;
    let (java_boot, py_boot) = (java_broker.bootstrap(), py_broker.bootstrap());
    let java_run = tokio::spawn(blocking(move || java("AclAdmin", &[&java_boot, "jack"])));
    let py_run = tokio::spawn(blocking(move || {
        python("confluent_acls.py", &[&py_boot, "pia"])
    }));
    for (user, refused, output) in [
        (
            "jack",
            "REFUSED InvalidRequestException",
            java_run.await.expect("java"),
        ),
        (
            "pia",
            "REFUSED INVALID_REQUEST",
            py_run.await.expect("python"),
        ),
    ] {
        let lines = stdout_lines(&output);
        let p = format!("User:{user}");
        let tagged = |tag: &str| -> Vec<String> {
            let mut found: Vec<String> = lines
                .iter()
                .filter(|l| l.starts_with(&format!("{tag} ")))
                .cloned()
                .collect();
            found.sort();
            found
        };
        // confluent-kafka calls the cluster resource type BROKER.
        let every = vec![
            format!("ACL GROUP ga LITERAL {p} * READ ALLOW"),
            format!("ACL TOPIC a. PREFIXED {p} * WRITE ALLOW"),
            format!("ACL TOPIC a.orders LITERAL {p} * READ ALLOW"),
            format!("ACL TOPIC a.secret LITERAL {p} * WRITE DENY"),
        ];
        assert_eq!(tagged("ACL"), every, "{user}: {lines:?}");
        assert_eq!(
            tagged("MATCH"),
            vec![
                format!("MATCH TOPIC a. PREFIXED {p} * WRITE ALLOW"),
                format!("MATCH TOPIC a.orders LITERAL {p} * READ ALLOW"),
            ],
            "{user}: the ACLs that apply to topic a.orders"
        );
        assert_eq!(
            tagged("DELETED"),
            vec![format!("DELETED TOPIC a.secret LITERAL {p} * WRITE DENY")],
            "{user}"
        );
        for expected in [refused, "AFTER 3", "OK"] {
            assert!(
                lines.iter().any(|l| l == expected),
                "{user}: no {expected:?} in {lines:?}"
            );
        }
    }
}
