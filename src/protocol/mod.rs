//! The Kafka wire codec: request frames in, response frames out.
//!
//! This is the only module that encodes or decodes with `kafka_protocol`; handlers see typed
//! request and response messages only. `strings.rs` applies Kafka's 32,767-byte string limit
//! to what the codec decoded.

mod response_buffer;
mod strings;
pub mod versions;

use std::collections::VecDeque;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, RequestHeader, RequestKind, ResponseHeader, ResponseKind,
};
use kafka_protocol::protocol::{Decodable, Encodable};

use response_buffer::Gather;
pub use response_buffer::{ResponseBuffer, SHARE_MIN};

/// A decoded request.
#[derive(Debug)]
pub struct Request {
    pub header: RequestHeader,
    pub api_key: ApiKey,
    pub version: i16,
    pub body: RequestKind,
}

/// What a request frame decoded to.
#[derive(Debug)]
pub enum Decoded {
    Request(Box<Request>),
    /// ApiVersions at a version we do not know: answer UNSUPPORTED_VERSION in a v0 body so the
    /// client can retry at a version we both know.
    ApiVersionsTooNew {
        correlation_id: i32,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("frame of {0} bytes is too short for a request header")]
    Truncated(usize),
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    #[error("{api:?} v{version} is not supported")]
    UnsupportedVersion { api: ApiKey, version: i16 },
    #[error("malformed {api:?} v{version} request: {reason}")]
    Malformed {
        api: ApiKey,
        version: i16,
        reason: String,
    },
    #[error("cannot encode response: {0}")]
    Encode(String),
}

/// Decodes one request frame (the bytes after the length prefix).
pub fn decode(mut frame: Bytes) -> Result<Decoded, ProtocolError> {
    if frame.len() < 8 {
        return Err(ProtocolError::Truncated(frame.len()));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let api_key = ApiKey::try_from(raw_key).map_err(|_| ProtocolError::UnknownApiKey(raw_key))?;
    if !versions::is_supported(api_key, version) {
        if api_key == ApiKey::ApiVersions && version > 0 {
            return Ok(Decoded::ApiVersionsTooNew { correlation_id });
        }
        return Err(ProtocolError::UnsupportedVersion {
            api: api_key,
            version,
        });
    }
    let malformed = |reason: String| ProtocolError::Malformed {
        api: api_key,
        version,
        reason,
    };
    let header_version = api_key.request_header_version(version);
    let header = RequestHeader::decode(&mut frame, header_version)
        .map_err(|e| malformed(format!("header: {e}")))?;
    let body =
        RequestKind::decode(api_key, &mut frame, version).map_err(|e| malformed(e.to_string()))?;
    strings::check(&body).map_err(malformed)?;
    Ok(Decoded::Request(Box::new(Request {
        header,
        api_key,
        version,
        body,
    })))
}

/// Appends a whole response frame (length prefix, header, body) to `out`. Large fetched
/// record sets are not copied: see [`ResponseBuffer`].
pub fn encode_response(
    out: &mut ResponseBuffer,
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<(), ProtocolError> {
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = api_key.response_header_version(version);
    if let ResponseKind::Fetch(fetch) = body {
        let shared: VecDeque<Bytes> = fetch
            .responses
            .iter()
            .flat_map(|t| &t.partitions)
            .filter_map(|p| p.records.clone())
            .filter(|r| r.len() >= SHARE_MIN)
            .collect();
        if !shared.is_empty() {
            // Encoded on the side, so a failure leaves `out` untouched.
            let mut gather = Gather::new(shared);
            header
                .encode(&mut gather, header_version)
                .and_then(|()| fetch.encode(&mut gather, version))
                .map_err(|e| encode_error(api_key, version, e))?;
            let len = gather.len();
            let len =
                i32::try_from(len).map_err(|_| ProtocolError::Encode(format!("{len} bytes")))?;
            out.tail().put_i32(len);
            for chunk in gather.chunks {
                out.put_shared(chunk);
            }
            out.tail().extend_from_slice(&gather.tail);
            return Ok(());
        }
    }
    let out = out.tail();
    let start = out.len();
    out.put_i32(0);
    let encoded = header
        .encode(out, header_version)
        .and_then(|()| body.encode(out, version))
        .map_err(|e| encode_error(api_key, version, e))
        .and_then(|()| patch_length(out, start));
    if encoded.is_err() {
        // Leave no half-written frame behind for the connection to flush.
        out.truncate(start);
    }
    encoded
}

/// The UNSUPPORTED_VERSION answer to an ApiVersions request newer than we know: v0 body,
/// header v0, with our supported ranges.
pub fn encode_api_versions_too_new(
    out: &mut ResponseBuffer,
    correlation_id: i32,
) -> Result<(), ProtocolError> {
    let body = ApiVersionsResponse::default()
        .with_error_code(kafka_protocol::error::ResponseError::UnsupportedVersion.code())
        .with_api_keys(supported_api_versions());
    encode_response(
        out,
        ApiKey::ApiVersions,
        0,
        correlation_id,
        &ResponseKind::ApiVersions(body),
    )
}

/// Our supported ranges in the shape ApiVersions reports them.
pub fn supported_api_versions() -> Vec<ApiVersion> {
    versions::SUPPORTED
        .iter()
        .map(|(key, min, max)| {
            ApiVersion::default()
                .with_api_key(*key as i16)
                .with_min_version(*min)
                .with_max_version(*max)
        })
        .collect()
}

fn encode_error(api_key: ApiKey, version: i16, e: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::Encode(format!("{api_key:?} v{version}: {e}"))
}

fn patch_length(out: &mut BytesMut, start: usize) -> Result<(), ProtocolError> {
    let len = out.len() - start - 4;
    let len = i32::try_from(len).map_err(|_| ProtocolError::Encode(format!("{len} bytes")))?;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Reads the request's api key without decoding the rest, for log lines about bad frames.
pub fn peek_api_key(frame: &[u8]) -> Option<i16> {
    let mut head = frame.get(..2)?;
    Some(head.get_i16())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ApiVersionsRequest;

    fn frame(api: ApiKey, version: i16, body: &impl Encodable) -> Bytes {
        let mut buf = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(7)
            .encode(&mut buf, api.request_header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        buf.freeze()
    }

    #[test]
    fn decodes_a_supported_request() {
        let f = frame(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
        match decode(f).unwrap() {
            Decoded::Request(r) => {
                assert_eq!(r.api_key, ApiKey::ApiVersions);
                assert_eq!(r.header.correlation_id, 7);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn too_new_api_versions_gets_a_fallback() {
        let mut raw = BytesMut::new();
        raw.put_i16(ApiKey::ApiVersions as i16);
        raw.put_i16(99);
        raw.put_i32(5);
        raw.put_slice(b"garbage");
        assert!(matches!(
            decode(raw.freeze()).unwrap(),
            Decoded::ApiVersionsTooNew { correlation_id: 5 }
        ));
    }

    /// The gathered encoding of a fetch response with large record sets is byte for byte
    /// the plain encoding, at every flexible and non-flexible version.
    #[test]
    fn gathered_fetch_response_matches_the_plain_encoding() {
        use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
        use kafka_protocol::messages::{FetchResponse, TopicName};
        use kafka_protocol::protocol::StrBytes;

        let records = |fill: u8, len: usize| Some(Bytes::from(vec![fill; len]));
        let partition = |i: i32, r: Option<Bytes>| {
            PartitionData::default()
                .with_partition_index(i)
                .with_high_watermark(10)
                .with_records(r)
        };
        let topic = |name: &str, parts: Vec<PartitionData>| {
            FetchableTopicResponse::default()
                .with_topic(TopicName(StrBytes::from_string(name.into())))
                .with_partitions(parts)
        };
        let body = ResponseKind::Fetch(FetchResponse::default().with_responses(vec![
            topic(
                "a",
                vec![
                    partition(0, records(1, SHARE_MIN * 3)),
                    partition(1, records(2, 100)),
                    partition(2, Some(Bytes::new())),
                ],
            ),
            topic("b", vec![partition(0, records(3, SHARE_MIN))]),
        ]));
        for version in [4, 11, 12, 13, 16, 17] {
            let mut plain = BytesMut::new();
            plain.put_i32(0);
            ResponseHeader::default()
                .with_correlation_id(9)
                .encode(&mut plain, ApiKey::Fetch.response_header_version(version))
                .unwrap();
            body.encode(&mut plain, version).unwrap();
            patch_length(&mut plain, 0).unwrap();

            let mut out = ResponseBuffer::default();
            out.tail().extend_from_slice(b"earlier");
            encode_response(&mut out, ApiKey::Fetch, version, 9, &body).unwrap();
            let gathered: Vec<u8> = out.io_slices(64).iter().flat_map(|s| s.to_vec()).collect();
            assert_eq!(&gathered[..7], b"earlier");
            assert_eq!(&gathered[7..], &plain[..], "v{version}");
            assert!(
                out.io_slices(64).len() >= 4,
                "records were copied at v{version}"
            );
        }
    }

    #[test]
    fn rejects_short_unknown_and_truncated_frames() {
        assert!(decode(Bytes::from_static(&[0, 18, 0])).is_err());
        assert!(decode(Bytes::from_static(&[3, 231, 0, 0, 0, 0, 0, 1])).is_err());
        let f = frame(
            ApiKey::Metadata,
            9,
            &kafka_protocol::messages::MetadataRequest::default(),
        );
        assert!(decode(f.slice(..f.len() - 1)).is_err());
    }
}
