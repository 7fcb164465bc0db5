//! Reading the topics out of a ConsumerProtocol subscription (the member metadata of groups
//! with protocol type "consumer"), for OffsetDelete and offset expiry.
//!
//! Every version starts with the v0 layout: `int16 version`, `array(int32 count)` of topic
//! `string (int16 length + UTF-8)`, then fields this code does not need. The broker never
//! interprets anything else in assignor bytes.

/// The topics of a subscription, or `None` if the bytes are not a subscription.
pub fn subscribed_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut buf = metadata;
    let version = take_i16(&mut buf)?;
    if version < 0 {
        return None;
    }
    let count = take_i32(&mut buf)?;
    if count < 0 {
        return None;
    }
    let mut topics = Vec::new();
    for _ in 0..count {
        let len = usize::try_from(take_i16(&mut buf)?).ok()?;
        if buf.len() < len {
            return None;
        }
        let (name, rest) = buf.split_at(len);
        topics.push(std::str::from_utf8(name).ok()?.to_string());
        buf = rest;
    }
    Some(topics)
}

fn take_i16(buf: &mut &[u8]) -> Option<i16> {
    let (head, rest) = buf.split_first_chunk::<2>()?;
    *buf = rest;
    Some(i16::from_be_bytes(*head))
}

fn take_i32(buf: &mut &[u8]) -> Option<i32> {
    let (head, rest) = buf.split_first_chunk::<4>()?;
    *buf = rest;
    Some(i32::from_be_bytes(*head))
}

/// Encodes a v0 subscription: what a classic consumer sends (DescribeGroups shows consumer-group
/// members this way).
pub fn encode_subscription(topics: &[impl AsRef<str>]) -> bytes::Bytes {
    let mut out = Vec::new();
    out.extend_from_slice(&0i16.to_be_bytes());
    put_len(&mut out, topics.len());
    for t in topics {
        put_str(&mut out, t.as_ref());
    }
    out.extend_from_slice(&(-1i32).to_be_bytes()); // null user data
    bytes::Bytes::from(out)
}

/// Encodes a v0 ConsumerProtocol assignment: `int16 version`, `array` of (topic `string`,
/// `array(int32)` partitions), null user data.
pub fn encode_assignment(topics: &[(String, Vec<i32>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0i16.to_be_bytes());
    put_len(&mut out, topics.len());
    for (topic, partitions) in topics {
        put_str(&mut out, topic);
        put_len(&mut out, partitions.len());
        for p in partitions {
            out.extend_from_slice(&p.to_be_bytes());
        }
    }
    out.extend_from_slice(&(-1i32).to_be_bytes());
    out
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&i32::try_from(n).unwrap_or(i32::MAX).to_be_bytes());
}

/// Topic names are at most 249 bytes, well within an int16 length.
fn put_str(out: &mut Vec<u8>, s: &str) {
    let len = i16::try_from(s.len()).unwrap_or(i16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..len as usize]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_topics_and_ignores_the_rest() {
        let b = encode_subscription(&["orders", "payments"]);
        assert_eq!(subscribed_topics(&b).unwrap(), vec!["orders", "payments"]);
        let mut v3 = b.to_vec();
        v3[1] = 3;
        v3.extend_from_slice(&[0, 0, 0, 0, 1, 2, 3]);
        assert_eq!(subscribed_topics(&v3).unwrap(), vec!["orders", "payments"]);
    }

    #[test]
    fn garbage_is_not_a_subscription() {
        assert_eq!(subscribed_topics(&[]), None);
        assert_eq!(subscribed_topics(&[0, 0, 0, 0, 0, 5, 0, 3, b'a']), None);
        assert_eq!(subscribed_topics(&[0xff, 0xff, 0, 0, 0, 0]), None);
        assert_eq!(subscribed_topics(&[0, 0, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(
            subscribed_topics(&[0, 0, 0, 0, 0, 1, 0, 2, 0xff, 0xfe]),
            None
        );
    }
}
