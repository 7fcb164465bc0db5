//! Hostile and careless ACL requests: unknown or filter-only codes in a new ACL, a cluster not
//! named kafka-cluster, an empty name, a principal without a type, unknown filter codes; each
//! answered with Kafka's error code while the valid parts of the same request take effect.
//! Without ALTER/DESCRIBE on the cluster the ACL APIs are CLUSTER_AUTHORIZATION_FAILED; with
//! the authorizer off, SECURITY_DISABLED.

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};

use crate::support::broker::TestBroker;
use crate::support::raw::{s, RawClient};

const INVALID_REQUEST: i16 = 42;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const SECURITY_DISABLED: i16 = 54;

/// A creation from codes: resource type, name, pattern, principal, operation, permission.
fn creation(t: i8, name: &str, pattern: i8, principal: &str, op: i8, perm: i8) -> AclCreation {
    AclCreation::default()
        .with_resource_type(t)
        .with_resource_name(s(name))
        .with_resource_pattern_type(pattern)
        .with_principal(s(principal))
        .with_host(s("*"))
        .with_operation(op)
        .with_permission_type(perm)
}

/// A filter from codes: resource type, pattern, operation, permission; any name, principal and
/// host (the codec's defaults are empty strings, which match nothing).
fn filter(t: i8, pattern: i8, op: i8, perm: i8) -> DeleteAclsFilter {
    DeleteAclsFilter::default()
        .with_resource_name_filter(None)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_resource_type_filter(t)
        .with_pattern_type_filter(pattern)
        .with_operation(op)
        .with_permission_type(perm)
}

fn describe(t: i8, pattern: i8, op: i8, perm: i8) -> DescribeAclsRequest {
    DescribeAclsRequest::default()
        .with_resource_name_filter(None)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_resource_type_filter(t)
        .with_pattern_type_filter(pattern)
        .with_operation(op)
        .with_permission_type(perm)
}

#[tokio::test]
async fn bad_acls_and_filters_get_invalid_request_and_the_good_ones_apply() {
    let broker = TestBroker::start_with(&super::AUTHORIZER).await;
    let mut client = RawClient::connect(broker.addr()).await;
    let (topic, literal, read, allow) = (2, 3, 3, 3);
    let bad = vec![
        creation(0, "t", literal, "User:a", read, allow),
        creation(1, "t", literal, "User:a", read, allow),
        creation(99, "t", literal, "User:a", read, allow),
        creation(topic, "t", 0, "User:a", read, allow),
        creation(topic, "t", 1, "User:a", read, allow),
        creation(topic, "t", 2, "User:a", read, allow),
        creation(topic, "t", 99, "User:a", read, allow),
        creation(topic, "t", literal, "User:a", 0, allow),
        creation(topic, "t", literal, "User:a", 1, allow),
        creation(topic, "t", literal, "User:a", 99, allow),
        creation(topic, "t", literal, "User:a", read, 0),
        creation(topic, "t", literal, "User:a", read, 1),
        creation(topic, "t", literal, "User:a", read, 99),
        creation(topic, "", literal, "User:a", read, allow),
        creation(4, "not-the-cluster", literal, "User:a", 7, allow),
        creation(topic, "t", literal, "alice", read, allow),
    ];
    let good = creation(topic, "good", literal, "User:a", read, allow);
    let mut creations = bad.clone();
    creations.push(good);
    let response = client
        .call(3, &CreateAclsRequest::default().with_creations(creations))
        .await;
    assert_eq!(response.results.len(), bad.len() + 1);
    for (i, r) in response.results[..bad.len()].iter().enumerate() {
        assert_eq!(r.error_code, INVALID_REQUEST, "creation {i}: {r:?}");
        assert!(r.error_message.is_some(), "creation {i} names its fault");
    }
    assert_eq!(response.results[bad.len()].error_code, 0);

    for (what, request) in [
        ("unknown resource type", describe(0, 1, 1, 1)),
        ("resource type 99", describe(99, 1, 1, 1)),
        ("unknown pattern type", describe(1, 0, 1, 1)),
        ("unknown operation", describe(1, 1, 0, 1)),
        ("unknown permission", describe(1, 1, 1, 99)),
    ] {
        let response = client.call(3, &request).await;
        assert_eq!(response.error_code, INVALID_REQUEST, "{what}");
        assert!(response.resources.is_empty(), "{what}");
    }
    let every = client.call(3, &describe(1, 1, 1, 1)).await;
    assert_eq!(every.error_code, 0);
    let names: Vec<&str> = every
        .resources
        .iter()
        .map(|r| r.resource_name.as_str())
        .collect();
    assert_eq!(names, ["good"], "only the valid ACL was stored");

    let response = client
        .call(
            3,
            &DeleteAclsRequest::default().with_filters(vec![
                filter(1, 1, 0, 1),
                filter(1, 99, 1, 1),
                filter(1, 1, 1, 1),
            ]),
        )
        .await;
    let codes: Vec<i16> = response
        .filter_results
        .iter()
        .map(|r| r.error_code)
        .collect();
    assert_eq!(codes, [INVALID_REQUEST, INVALID_REQUEST, 0]);
    assert_eq!(response.filter_results[2].matching_acls.len(), 1);
    let after = client.call(3, &describe(1, 1, 1, 1)).await;
    assert!(after.resources.is_empty(), "{after:?}");
}

#[tokio::test]
async fn acl_apis_need_the_cluster_permission_and_an_authorizer() {
    let cases = [
        (
            vec![("authorizer.class.name", "standard")],
            CLUSTER_AUTHORIZATION_FAILED,
        ),
        (vec![], SECURITY_DISABLED),
    ];
    for (settings, expected) in cases {
        let broker = TestBroker::start_with(&settings).await;
        let mut client = RawClient::connect(broker.addr()).await;
        let created = client
            .call(
                3,
                &CreateAclsRequest::default()
                    .with_creations(vec![creation(2, "t", 3, "User:a", 3, 3)]),
            )
            .await;
        assert_eq!(created.results[0].error_code, expected, "{settings:?}");
        let described = client.call(3, &describe(1, 1, 1, 1)).await;
        assert_eq!(described.error_code, expected, "{settings:?}");
        let deleted = client
            .call(
                3,
                &DeleteAclsRequest::default().with_filters(vec![filter(1, 1, 1, 1)]),
            )
            .await;
        assert_eq!(
            deleted.filter_results[0].error_code, expected,
            "{settings:?}"
        );
    }
}
