//! Request frames out, response frames in, with the `kafka_protocol` codec.
//!
//! A request frame is an `i32` big-endian length, the request header (its version follows from
//! the API and version), then the body. A response frame is a length, the response header
//! (v0: correlation id; v1: plus tagged fields; ApiVersions always v0), then the body.
//!
//! The functions here build any frame, well-formed or not: [`request_frame`] for a typed
//! request, [`frame`] for a header and body bytes chosen by the caller (an unknown API key, a
//! version the codec does not know, a cut or garbage body).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt};

/// A frame could not be built or a response could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("cannot encode: {0}")]
    Encode(String),
    #[error("{0}")]
    Decode(String),
}

/// `"Metadata"` for a known key, `"api 999"` otherwise.
pub fn api_name(key: i16) -> String {
    ApiKey::try_from(key).map_or_else(|_| format!("api {key}"), |api| format!("{api:?}"))
}

/// The request header of `R` at `version`.
pub fn request_header<R: Request>(
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
) -> RequestHeader {
    RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(client_id.map(|id| StrBytes::from_string(id.to_string())))
}

/// A whole request frame (length prefix included) for `request` at `version` under `header`.
pub fn request_frame<R: Request>(
    header: &RequestHeader,
    request: &R,
    version: i16,
) -> Result<BytesMut, WireError> {
    let mut buf = start(header, R::header_version(version))?;
    request
        .encode(&mut buf, version)
        .map_err(|e| WireError::Encode(e.to_string()))?;
    finish(buf)
}

/// A whole frame from a header written at `header_version` and body bytes taken as they are.
pub fn frame(
    header: &RequestHeader,
    header_version: i16,
    body: &[u8],
) -> Result<BytesMut, WireError> {
    let mut buf = start(header, header_version)?;
    buf.extend_from_slice(body);
    finish(buf)
}

fn start(header: &RequestHeader, header_version: i16) -> Result<BytesMut, WireError> {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(&mut buf, header_version)
        .map_err(|e| WireError::Encode(format!("header: {e}")))?;
    Ok(buf)
}

fn finish(mut buf: BytesMut) -> Result<BytesMut, WireError> {
    let len = i32::try_from(buf.len() - 4)
        .map_err(|_| WireError::Encode(format!("{} bytes is too large", buf.len() - 4)))?;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf)
}

/// Reads one response frame (without its length prefix). `Ok(None)` when the stream ends
/// cleanly before a frame starts; a frame shorter than a correlation id or longer than `max`
/// bytes is refused before anything is allocated for it.
pub async fn read_frame<S: AsyncRead + Unpin>(
    stream: &mut S,
    max: usize,
) -> std::io::Result<Option<Bytes>> {
    let mut len = [0u8; 4];
    let first = stream.read(&mut len).await?;
    if first == 0 {
        return Ok(None);
    }
    stream.read_exact(&mut len[first..]).await?;
    let size = i32::from_be_bytes(len);
    let size = usize::try_from(size)
        .ok()
        .filter(|n| (4..=max).contains(n))
        .ok_or_else(|| {
            let hint = if len == *b"HTTP" {
                " (this is an HTTP server, not a Kafka broker)"
            } else {
                ""
            };
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("response frame length {size} is not plausible{hint}"),
            )
        })?;
    let mut body = vec![0; size];
    stream.read_exact(&mut body).await?;
    Ok(Some(Bytes::from(body)))
}

/// The correlation id a response frame starts with.
pub fn correlation_id_of(frame: &[u8]) -> Option<i32> {
    let head: [u8; 4] = frame.get(..4)?.try_into().ok()?;
    Some(i32::from_be_bytes(head))
}

/// Decodes a response frame to `R` at `version`: the correlation id must be `correlation_id`
/// and the body must be used up exactly (a byte left over means the two sides disagree on the
/// layout).
pub fn decode_response<R: Request>(
    mut frame: Bytes,
    version: i16,
    correlation_id: i32,
) -> Result<R::Response, WireError> {
    let header = ResponseHeader::decode(&mut frame, R::Response::header_version(version))
        .map_err(|e| WireError::Decode(format!("header: {e}")))?;
    if header.correlation_id != correlation_id {
        return Err(WireError::Decode(format!(
            "correlation id {} instead of {correlation_id}",
            header.correlation_id
        )));
    }
    let response =
        R::Response::decode(&mut frame, version).map_err(|e| WireError::Decode(e.to_string()))?;
    if frame.has_remaining() {
        return Err(WireError::Decode(format!(
            "{} bytes left over after the response",
            frame.remaining()
        )));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

    #[test]
    fn a_request_frame_carries_its_length_and_header() {
        let header = request_header::<ApiVersionsRequest>(0, 9, Some("me"));
        let frame = request_frame(&header, &ApiVersionsRequest::default(), 0).unwrap();
        let len = i32::from_be_bytes(frame[..4].try_into().unwrap());
        assert_eq!(len as usize, frame.len() - 4);
        // api key 18, version 0, correlation id 9, client id "me"
        assert_eq!(&frame[4..16], &[0, 18, 0, 0, 0, 0, 0, 9, 0, 2, b'm', b'e']);
    }

    #[tokio::test]
    async fn frames_are_read_whole_and_implausible_lengths_refused() {
        let mut input: &[u8] = &[0, 0, 0, 5, 0, 0, 0, 7, 1, 0, 0, 0, 4];
        let got = read_frame(&mut input, 100).await.unwrap().unwrap();
        assert_eq!(&got[..], &[0, 0, 0, 7, 1]);
        assert!(read_frame(&mut input, 100).await.is_err(), "cut frame");
        assert!(read_frame(&mut &b""[..], 100).await.unwrap().is_none());
        for bad in [
            &[0u8, 0, 0, 3][..],
            &[255, 255, 255, 255],
            &[0, 0, 0, 101],
            b"HTTP",
        ] {
            let e = read_frame(&mut &bad[..], 100).await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{bad:?}");
        }
    }

    #[test]
    fn responses_must_match_the_correlation_id_and_be_used_up() {
        let mut buf = BytesMut::new();
        ResponseHeader::default()
            .with_correlation_id(4)
            .encode(&mut buf, 0)
            .unwrap();
        ApiVersionsResponse::default().encode(&mut buf, 0).unwrap();
        let good = buf.clone().freeze();
        assert!(decode_response::<ApiVersionsRequest>(good.clone(), 0, 4).is_ok());
        assert!(decode_response::<ApiVersionsRequest>(good, 0, 5).is_err());
        buf.put_u8(0);
        assert!(decode_response::<ApiVersionsRequest>(buf.freeze(), 0, 4).is_err());
    }
}
