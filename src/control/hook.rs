//! The control plane's one hook in the request path: each connection passes every decoded
//! request it admits through its [`Hook`] on the way to the handler. Without a control plane,
//! or while it has no rule and capture is off, the hook hands the request straight to the
//! handler.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, ResponseKind};

use super::answer;
use super::capture::{Captured, Outcome};
use super::names::error_name;
use super::rules::{Action, Fired, Subject};
use super::summary::{summarize, Summary};
use super::Control;
use crate::broker::Broker;
use crate::clock::monotonic::{self, Deadline, Stopwatch};
use crate::handler::{self, Requester};
use crate::protocol::{self, ProtocolError, Request, ResponseBuffer};

/// What the connection does after a request passed the hook.
pub enum Pass {
    /// The request was handled (or answered by a fault): go on with the next one.
    Answered(Result<(), ProtocolError>),
    /// Close the connection (after flushing what earlier requests were answered with).
    Close,
    /// Answer nothing more on this connection: the request was swallowed.
    Swallow,
}

/// One connection's hook.
pub struct Hook {
    control: Option<Arc<Control>>,
    /// A throttled connection reads nothing until then (KIP-219).
    muted: Option<Deadline>,
}

impl Hook {
    pub fn new(broker: &Broker) -> Hook {
        Hook {
            control: broker.control().cloned(),
            muted: None,
        }
    }

    /// Hands `request` from `requester` to the handler, or does what a fault rule says.
    pub async fn pass(
        &mut self,
        broker: &Arc<Broker>,
        requester: &Requester,
        request: Request,
        out: &mut ResponseBuffer,
    ) -> Pass {
        let control = match &self.control {
            Some(c) if c.is_armed() || self.muted.is_some() => c.clone(),
            _ => return Pass::Answered(handler::respond(broker, requester, request, out).await),
        };
        if let Some(until) = self.muted.take() {
            until.reached().await;
        }
        self.screen(&control, broker, requester, request, out).await
    }

    async fn screen(
        &mut self,
        control: &Control,
        broker: &Arc<Broker>,
        requester: &Requester,
        request: Request,
        out: &mut ResponseBuffer,
    ) -> Pass {
        let watch = Stopwatch::start();
        let received_ms = broker.clock().now_ms();
        let (api, version) = (request.api_key, request.version);
        let correlation_id = request.header.correlation_id;
        let client_id = request
            .header
            .client_id
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default();
        let mut summary: Option<Summary> = None;
        let fired = {
            let subject = Subject {
                api,
                version,
                client_id: &client_id,
                listener: &requester.listener,
            };
            let body = &request.body;
            let summary = &mut summary;
            control.rules().decide(&subject, &mut || {
                summary
                    .get_or_insert_with(|| summarize(body, &broker.topics))
                    .facts()
            })
        };
        let capturing = control.capture().enabled();
        if capturing && summary.is_none() {
            summary = Some(summarize(&request.body, &broker.topics));
        }
        if let Some(f) = &fired {
            tracing::debug!(rule = f.rule, api = ?api, peer = %requester.peer, action = ?f.action, "fault rule fired");
        }
        let (outcome, answered) = match fired.as_ref().map(|f| f.action) {
            None => (
                Outcome::Answered,
                self.handle(broker, requester, request).await,
            ),
            Some(Action::Latency(delay)) => {
                monotonic::sleep(delay).await;
                (
                    Outcome::Answered,
                    self.handle(broker, requester, request).await,
                )
            }
            Some(Action::Throttle(time)) => {
                let mut answered = self.handle(broker, requester, request).await;
                if let Ok(Some(response)) = &mut answered {
                    let ms = i32::try_from(time.as_millis()).unwrap_or(i32::MAX);
                    answer::set_throttle(response, ms);
                }
                self.muted = Some(Deadline::after(time));
                (Outcome::Answered, answered)
            }
            Some(Action::Close) => (Outcome::Closed, Ok(None)),
            Some(Action::Swallow) => (Outcome::Swallowed, Ok(None)),
            Some(Action::Error { code, scope }) => {
                let answered = match fired.as_ref() {
                    Some(f) if api == ApiKey::Metadata => {
                        self.metadata_error(broker, requester, request, code, f)
                            .await
                    }
                    _ => match answer::error_response(&request, code, scope) {
                        Some(response) => Ok(Some(response)),
                        // Rules only fire for APIs with an error table; handled as usual if not.
                        None => self.handle(broker, requester, request).await,
                    },
                };
                (Outcome::Injected, answered)
            }
        };
        let result = match &answered {
            Ok(Some(response)) => {
                protocol::encode_response(out, api, version, correlation_id, response)
            }
            Ok(None) => Ok(()),
            Err(_) => Ok(()),
        };
        if capturing {
            let mut summary = summary.unwrap_or_default();
            let error = match &answered {
                Ok(Some(response)) => top_error(response, &mut summary),
                _ => None,
            };
            control.capture().push(Captured {
                seq: 0,
                time_ms: received_ms,
                client_id,
                peer: requester.peer.to_string(),
                listener: requester.listener.to_string(),
                api: format!("{api:?}"),
                api_key: api as i16,
                version,
                correlation_id,
                summary,
                outcome,
                error,
                fault: fired.as_ref().map(|f| f.rule),
                duration_us: u64::try_from(watch.elapsed().as_micros()).unwrap_or(u64::MAX),
            });
        }
        match outcome {
            Outcome::Closed => Pass::Close,
            Outcome::Swallowed => Pass::Swallow,
            _ => Pass::Answered(answered.and(result)),
        }
    }

    async fn handle(
        &self,
        broker: &Arc<Broker>,
        requester: &Requester,
        request: Request,
    ) -> Result<Option<ResponseKind>, ProtocolError> {
        handler::handle(broker, requester, request).await
    }

    /// Metadata is answered for real (clients still learn the brokers), with the error set on
    /// the rule's topic or partition.
    async fn metadata_error(
        &self,
        broker: &Arc<Broker>,
        requester: &Requester,
        request: Request,
        code: i16,
        fired: &Fired,
    ) -> Result<Option<ResponseKind>, ProtocolError> {
        let mut answered = self.handle(broker, requester, request).await;
        if let Ok(Some(ResponseKind::Metadata(response))) = &mut answered {
            answer::metadata_errors(response, code, fired.topic.as_deref(), fired.partition);
        }
        answered
    }
}

/// Writes the answer's per-partition errors into `summary` and returns its top-level error.
fn top_error(response: &ResponseKind, summary: &mut Summary) -> Option<String> {
    let (top, parts) = answer::errors(response);
    for (topic, partition, code) in parts {
        let name = error_name(code);
        match summary
            .partitions
            .iter_mut()
            .find(|p| p.topic == topic && p.partition == partition)
        {
            Some(p) => p.error = Some(name),
            None => summary.partitions.push(super::summary::PartitionSummary {
                topic,
                partition,
                error: Some(name),
                ..Default::default()
            }),
        }
    }
    (top != 0).then(|| error_name(top))
}
