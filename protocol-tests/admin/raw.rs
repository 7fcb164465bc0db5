//! A minimal Kafka client for exact checks: sends one request at a chosen version and decodes
//! the response. Shows error codes that client libraries turn into exceptions, and covers every
//! advertised version, not only the newest one a client picks.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Raw {
    stream: TcpStream,
    correlation_id: i32,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).await.expect("connect to broker");
        Raw {
            stream,
            correlation_id: 0,
        }
    }

    /// Sends `request` at `version` and returns the decoded response; panics (naming the API
    /// and version) if the broker closes the connection or answers something undecodable.
    pub async fn call<R: Request>(&mut self, version: i16, request: &R) -> R::Response {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("weir-admin-raw")));
        let mut frame = BytesMut::new();
        header
            .encode(&mut frame, R::header_version(version))
            .expect("encode header");
        request.encode(&mut frame, version).expect("encode request");
        let what = format!("api {} v{version}", R::KEY);
        let len = i32::try_from(frame.len()).expect("small request");
        let io = async {
            self.stream.write_all(&len.to_be_bytes()).await?;
            self.stream.write_all(&frame).await?;
            let len = self.stream.read_i32().await?;
            let mut body = vec![0; usize::try_from(len).unwrap_or(0)];
            self.stream.read_exact(&mut body).await?;
            Ok::<_, std::io::Error>(body)
        };
        let body = tokio::time::timeout(Duration::from_secs(10), io)
            .await
            .unwrap_or_else(|_| panic!("{what}: no response within 10 s"))
            .unwrap_or_else(|e| panic!("{what}: connection failed (the broker closes it when it cannot encode a response): {e}"));
        let mut body = Bytes::from(body);
        let header = ResponseHeader::decode(&mut body, R::Response::header_version(version))
            .unwrap_or_else(|e| panic!("{what}: bad response header: {e}"));
        assert_eq!(
            header.correlation_id, self.correlation_id,
            "{what}: correlation id"
        );
        let response = R::Response::decode(&mut body, version)
            .unwrap_or_else(|e| panic!("{what}: undecodable response: {e}"));
        assert!(
            body.is_empty(),
            "{what}: {} bytes left after the response",
            body.len()
        );
        response
    }
}

pub fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

pub fn topic(name: &str) -> TopicName {
    TopicName(s(name))
}
