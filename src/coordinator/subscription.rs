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

/// Encodes a v0 subscription (tests only: what a consumer sends).
#[cfg(test)]
pub fn encode_subscription(topics: &[&str]) -> bytes::Bytes {
    let mut out = Vec::new();
    out.extend_from_slice(&0i16.to_be_bytes());
    out.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for t in topics {
        out.extend_from_slice(&(t.len() as i16).to_be_bytes());
        out.extend_from_slice(t.as_bytes());
    }
    out.extend_from_slice(&(-1i32).to_be_bytes()); // null user data
    bytes::Bytes::from(out)
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
