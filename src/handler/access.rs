//! What the sender of a request may do: the handlers' one way to the authorizer.
//!
//! An [`Access`] is made once per request from the connection's principal and address and the
//! authorizer as it is at that moment. With authorization off (`authorizer.class.name` empty)
//! every question is answered yes, as in Kafka without an authorizer. A denial Kafka would log
//! (every check but the ones it makes only to choose between two paths) is logged at info on
//! the `weir::authorizer` target, naming the principal, host, operation, resource and rule.

use std::net::IpAddr;

use kafka_protocol::messages::ApiKey;

use super::Requester;
use crate::broker::Broker;
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};
use crate::security::authorizer::{all_operations, Action, Authorizer};

pub struct Access<'a> {
    authorizer: Option<Authorizer>,
    requester: &'a Requester,
    host: IpAddr,
    api: ApiKey,
}

impl<'a> Access<'a> {
    pub fn new(broker: &Broker, requester: &'a Requester, api: ApiKey) -> Access<'a> {
        Access {
            authorizer: broker.authorizer(),
            requester,
            host: requester.peer.ip().to_canonical(),
            api,
        }
    }

    /// Who is asking.
    pub fn principal(&self) -> &crate::security::Principal {
        &self.requester.principal
    }

    /// Whether an authorizer decides at all (`authorizer.class.name` is set).
    pub fn enabled(&self) -> bool {
        self.authorizer.is_some()
    }

    /// May the requester perform `operation` on the resource? A denial is logged.
    pub fn allows(&self, operation: Operation, resource_type: ResourceType, name: &str) -> bool {
        self.decide(operation, resource_type, name, true)
    }

    /// As [`Access::allows`], without logging a denial: for checks that only choose between
    /// two ways of authorizing (a cluster-wide permission before per-topic ones), and for
    /// filtering what a listing shows.
    pub fn quietly_allows(
        &self,
        operation: Operation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        self.decide(operation, resource_type, name, false)
    }

    pub fn topic(&self, operation: Operation, topic: &str) -> bool {
        self.allows(operation, ResourceType::Topic, topic)
    }

    pub fn group(&self, operation: Operation, group: &str) -> bool {
        self.allows(operation, ResourceType::Group, group)
    }

    pub fn transactional_id(&self, operation: Operation, id: &str) -> bool {
        self.allows(operation, ResourceType::TransactionalId, id)
    }

    pub fn cluster(&self, operation: Operation) -> bool {
        self.allows(operation, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// May the requester perform `operation` on at least one resource of the type (Kafka's
    /// `authorizeByResourceType`)?
    pub fn allows_any(&self, operation: Operation, resource_type: ResourceType) -> bool {
        match &self.authorizer {
            None => true,
            Some(authorizer) => authorizer.authorize_by_resource_type(
                &self.requester.principal,
                self.host,
                operation,
                resource_type,
            ),
        }
    }

    /// The authorized-operations bit field of a resource (every supported operation when
    /// authorization is off, as Kafka reports it).
    pub fn operations(&self, resource_type: ResourceType, name: &str) -> i32 {
        match &self.authorizer {
            None => all_operations(resource_type),
            Some(authorizer) => authorizer.authorized_operations(
                &self.requester.principal,
                self.host,
                resource_type,
                name,
            ),
        }
    }

    fn decide(
        &self,
        operation: Operation,
        resource_type: ResourceType,
        name: &str,
        log_denial: bool,
    ) -> bool {
        let Some(authorizer) = &self.authorizer else {
            return true;
        };
        let action = Action {
            principal: &self.requester.principal,
            host: self.host,
            operation,
            resource_type,
            name,
        };
        let decision = authorizer.authorize(&action);
        let allowed = decision.allowed();
        if !allowed && log_denial {
            tracing::info!(
                target: "weir::authorizer",
                principal = %self.requester.principal,
                host = %self.host,
                operation = %operation,
                resource = %format_args!("{resource_type}:{name}"),
                api = ?self.api,
                "denied: {decision}"
            );
        } else {
            tracing::trace!(
                target: "weir::authorizer",
                principal = %self.requester.principal,
                operation = %operation,
                resource = %format_args!("{resource_type}:{name}"),
                "{}: {decision}",
                if allowed { "allowed" } else { "denied" }
            );
        }
        allowed
    }
}
