//! Length-prefixed frames: a big-endian i32 size, then that many bytes.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

const INITIAL_BUFFER: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame size {size} is outside 1..={max}")]
    BadSize { size: i32, max: usize },
    #[error("connection closed in the middle of a frame")]
    Partial,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Splits frames off a read buffer without copying them.
pub struct FrameReader<R> {
    inner: R,
    buf: BytesMut,
    max: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R, max: usize) -> Self {
        FrameReader {
            inner,
            buf: BytesMut::with_capacity(INITIAL_BUFFER),
            max,
        }
    }

    /// The next frame, or `None` on a clean end of stream between frames.
    pub async fn next(&mut self) -> Result<Option<Bytes>, FrameError> {
        loop {
            if let Some(frame) = self.split_frame()? {
                return Ok(Some(frame));
            }
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Partial)
                };
            }
        }
    }

    /// The stream underneath, for writing responses (reads and writes never overlap).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Changes the largest frame accepted from now on.
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Whether a whole frame is already buffered (so responses can wait to be flushed together).
    pub fn has_frame(&self) -> bool {
        match self.declared_size() {
            Some(Ok(size)) => self.buf.len() >= 4 + size,
            _ => false,
        }
    }

    fn declared_size(&self) -> Option<Result<usize, FrameError>> {
        let head: [u8; 4] = self.buf.get(..4)?.try_into().ok()?;
        let size = i32::from_be_bytes(head);
        // The size is checked before any buffer is grown for it.
        Some(match usize::try_from(size) {
            Ok(n) if n > 0 && n <= self.max => Ok(n),
            _ => Err(FrameError::BadSize {
                size,
                max: self.max,
            }),
        })
    }

    fn split_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        let size = match self.declared_size() {
            None => return Ok(None),
            Some(size) => size?,
        };
        if self.buf.len() < 4 + size {
            self.buf.reserve(4 + size - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(4);
        Ok(Some(self.buf.split_to(size).freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], max: usize) -> Vec<Result<Option<Bytes>, String>> {
        let mut reader = FrameReader::new(input, max);
        let mut out = Vec::new();
        loop {
            let next = reader.next().await.map_err(|e| e.to_string());
            let done = !matches!(next, Ok(Some(_)));
            out.push(next);
            if done {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn splits_pipelined_frames() {
        let input = [0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, b'c'];
        let got = frames(&input, 10).await;
        assert_eq!(got[0].as_ref().unwrap().as_deref(), Some(&b"ab"[..]));
        assert_eq!(got[1].as_ref().unwrap().as_deref(), Some(&b"c"[..]));
        assert!(matches!(got[2], Ok(None)));
    }

    #[tokio::test]
    async fn refuses_bad_sizes_and_partial_frames() {
        for input in [&[0u8, 0, 0, 0][..], &[255, 255, 255, 255], &[0, 0, 0, 11]] {
            let got = frames(input, 10).await;
            assert!(got[0].as_ref().unwrap_err().contains("outside"), "{got:?}");
        }
        let got = frames(&[0, 0, 0, 5, 1, 2], 10).await;
        assert!(got[0].as_ref().unwrap_err().contains("middle"));
    }
}
