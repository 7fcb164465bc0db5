//! [`ResponseBuffer`]: encoded response frames waiting to be written, where large record sets
//! stay the buffers they were read into instead of being copied into the output.
//!
//! A fetch response is mostly record bytes read from segment files. Encoding it into one
//! buffer would copy every record byte once more; instead the encoder's output is gathered as
//! `[encoded prefix][records][encoded bytes][records]...[suffix]` and written with vectored
//! writes. Small pieces are still copied: below [`SHARE_MIN`] a copy is cheaper than another
//! iovec.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::ops::Range;

use bytes::buf::UninitSlice;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::ByteBufMut;

/// Record sets at least this large are written from their own buffer, not copied.
pub const SHARE_MIN: usize = 16 * 1024;

/// Pending output: `chunks` (oldest first), then `tail`, where new bytes are encoded.
#[derive(Default)]
pub struct ResponseBuffer {
    chunks: VecDeque<Bytes>,
    tail: BytesMut,
}

impl ResponseBuffer {
    pub fn with_capacity(capacity: usize) -> ResponseBuffer {
        ResponseBuffer {
            chunks: VecDeque::new(),
            tail: BytesMut::with_capacity(capacity),
        }
    }

    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum::<usize>() + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.tail.is_empty()
    }

    /// The buffer encoders append to.
    pub fn tail(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Capacity held by the encode buffer.
    pub fn capacity(&self) -> usize {
        self.tail.capacity()
    }

    /// Appends `bytes`: kept as it is if large, else copied.
    pub fn put_shared(&mut self, bytes: Bytes) {
        if bytes.len() < SHARE_MIN {
            self.tail.extend_from_slice(&bytes);
            return;
        }
        if !self.tail.is_empty() {
            self.chunks.push_back(self.tail.split().freeze());
        }
        self.chunks.push_back(bytes);
    }

    /// Moves everything pending in `other` behind what is pending here, leaving `other`
    /// empty (with its encode buffer, so it keeps being reused).
    pub fn append(&mut self, other: &mut ResponseBuffer) {
        if self.is_empty() {
            std::mem::swap(self, other);
            return;
        }
        for chunk in other.chunks.drain(..) {
            self.put_shared(chunk);
        }
        let tail = other.tail.split().freeze();
        if !tail.is_empty() {
            self.put_shared(tail);
        }
    }

    /// Up to `max` slices covering the pending bytes in order, for a vectored write.
    pub fn io_slices(&self, max: usize) -> Vec<IoSlice<'_>> {
        self.chunks
            .iter()
            .map(|c| &c[..])
            .chain(std::iter::once(&self.tail[..]))
            .filter(|s| !s.is_empty())
            .take(max)
            .map(IoSlice::new)
            .collect()
    }

    /// Drops the first `n` pending bytes (they were written).
    pub fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.chunks.pop_front();
        }
        let n = n.min(self.tail.len());
        self.tail.advance(n);
        if self.tail.is_empty() {
            self.tail.clear();
        }
    }

    /// Replaces the encode buffer with a small one if it grew past `keep` bytes of capacity
    /// (one large response must not pin its buffer for the connection's lifetime). Only
    /// when nothing is pending.
    pub fn shrink(&mut self, keep: usize, fresh: usize) {
        if self.is_empty() && self.tail.capacity() > keep {
            self.tail = BytesMut::with_capacity(fresh);
        }
    }
}

/// An encoder's output buffer that keeps the expected record sets (in encode order) as
/// shared chunks when the encoder writes them, and copies everything else.
pub(super) struct Gather {
    pub(super) chunks: Vec<Bytes>,
    pub(super) tail: BytesMut,
    /// Record sets the encoder is about to write, in the order it writes them.
    expected: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    chunked: usize,
}

impl Gather {
    pub(super) fn new(expected: VecDeque<Bytes>) -> Gather {
        Gather {
            chunks: Vec::with_capacity(expected.len() * 2 + 1),
            tail: BytesMut::with_capacity(256),
            expected,
            chunked: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.chunked + self.tail.len()
    }
}

unsafe impl BufMut for Gather {
    fn remaining_mut(&self) -> usize {
        self.tail.remaining_mut()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: forwarded; the caller initialised `cnt` bytes of `chunk_mut()`, which is
        // the tail's.
        unsafe { self.tail.advance_mut(cnt) }
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.tail.chunk_mut()
    }

    fn put_slice(&mut self, src: &[u8]) {
        let is_next = self
            .expected
            .front()
            .is_some_and(|b| b.as_ptr() == src.as_ptr() && b.len() == src.len());
        if is_next {
            if let Some(shared) = self.expected.pop_front() {
                if !self.tail.is_empty() {
                    let head = self.tail.split().freeze();
                    self.chunked += head.len();
                    self.chunks.push(head);
                }
                self.chunked += shared.len();
                self.chunks.push(shared);
                return;
            }
        }
        self.tail.extend_from_slice(src);
    }
}

/// Encoders only seek and index within what they have just written, in the tail; the
/// kafka-protocol message encoders never do.
impl ByteBufMut for Gather {
    fn offset(&self) -> usize {
        self.len()
    }

    fn seek(&mut self, offset: usize) {
        let in_tail = offset.saturating_sub(self.chunked);
        self.tail.resize(in_tail, 0);
    }

    fn range(&mut self, r: Range<usize>) -> &mut [u8] {
        let start = r.start.saturating_sub(self.chunked);
        let end = r.end.saturating_sub(self.chunked).min(self.tail.len());
        let start = start.min(end);
        &mut self.tail[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_keeps_order_and_empties_the_other_buffer() {
        let big = Bytes::from(vec![5u8; SHARE_MIN]);
        let mut out = ResponseBuffer::default();
        let mut next = ResponseBuffer::default();
        next.tail().extend_from_slice(b"ab");
        out.append(&mut next);
        assert!(next.is_empty());
        next.tail().extend_from_slice(b"c");
        next.put_shared(big.clone());
        next.tail().extend_from_slice(b"d");
        out.append(&mut next);
        assert!(next.is_empty());
        let joined: Vec<u8> = out.io_slices(64).iter().flat_map(|s| s.to_vec()).collect();
        assert_eq!(joined.len(), 4 + SHARE_MIN);
        assert_eq!(&joined[..3], b"abc");
        assert_eq!(joined[joined.len() - 1], b'd');
        assert!(
            out.chunks.iter().any(|c| c.as_ptr() == big.as_ptr()),
            "large chunk copied"
        );
    }

    #[test]
    fn gathers_expected_record_sets_without_copying() {
        let big = Bytes::from(vec![7u8; SHARE_MIN]);
        let other = Bytes::from(vec![9u8; SHARE_MIN]);
        let mut g = Gather::new(VecDeque::from([big.clone()]));
        g.put_i32(1);
        g.put_slice(&other); // not expected: copied
        g.put_slice(&big); // expected: shared
        g.put_i16(2);
        assert_eq!(g.len(), 4 + 2 * SHARE_MIN + 2);
        assert_eq!(g.chunks.len(), 2);
        assert_eq!(g.chunks[1].as_ptr(), big.as_ptr());

        let mut out = ResponseBuffer::default();
        out.tail().extend_from_slice(b"x");
        for c in g.chunks {
            out.put_shared(c);
        }
        out.tail().extend_from_slice(&g.tail);
        assert_eq!(out.len(), 1 + 4 + 2 * SHARE_MIN + 2);
        let joined: Vec<u8> = out.io_slices(64).iter().flat_map(|s| s.to_vec()).collect();
        assert_eq!(joined.len(), out.len());
        assert_eq!(&joined[..5], &[b'x', 0, 0, 0, 1]);
        assert_eq!(&joined[joined.len() - 2..], &[0, 2]);

        out.advance(3);
        assert_eq!(out.len(), joined.len() - 3);
        out.advance(out.len());
        assert!(out.is_empty());
    }
}
