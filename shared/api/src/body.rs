//! Reading a request body, at most [`MAX_REQUEST_BODY_BYTES`] of it.
//!
//! A body over the limit is refused with `RequestEntityTooLargeException` (HTTP 413) in the protocol's error
//! shape, without being held in memory: a `Content-Length` over the limit is refused before a byte of the body
//! is read, and a chunked body as soon as it passes the limit. What is left of a refused body is then read and
//! thrown away (up to [`DISCARD_AT_MOST_BYTES`]), because HTTP/1.1 clients such as the aws CLI and the SDKs
//! send the whole body before they read the answer: closing the connection on them would lose the answer and
//! show them a reset connection instead. A client that sent `Expect: 100-continue` is answered at once, since
//! it waits for the server before sending the body at all.

use std::future::poll_fn;
use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderMap, header};
use sluice_core::problem::Exception;

use crate::error::ApiError;

/// The largest request body the API takes: 4 MiB (docs/decisions.md, "The CodePipeline API").
pub const MAX_REQUEST_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How much of a refused body is read and thrown away so the client gets to read the answer; a body declared
/// larger than this is answered at once, and the connection closed.
pub const DISCARD_AT_MOST_BYTES: u64 = 256 * 1024 * 1024;

/// Reads the whole body if it is at most [`MAX_REQUEST_BODY_BYTES`]; otherwise refuses it as described in the
/// module documentation. A body that cannot be read (the client went away) is a SerializationException.
pub async fn read(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    read_at_most(headers, body, MAX_REQUEST_BODY_BYTES, "API").await
}

/// [`read`] with another limit, for another reader (`who`, in the messages): the webhook receiver
/// takes GitHub's 25 MB.
pub async fn read_at_most(
    headers: &HeaderMap,
    mut body: Body,
    max: usize,
    who: &str,
) -> Result<Bytes, ApiError> {
    let size = in_units(max);
    let limit = u64::try_from(max).unwrap_or(u64::MAX);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if let Some(length) = declared.filter(|&length| length > limit) {
        let waits_to_send = headers
            .get(header::EXPECT)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if !waits_to_send && length <= DISCARD_AT_MOST_BYTES {
            discard(&mut body, DISCARD_AT_MOST_BYTES).await;
        }
        return Err(too_large(format!(
            "The request body is {length} bytes; the {who} takes at most {max} bytes ({size})"
        )));
    }
    let capacity = declared
        .and_then(|length| usize::try_from(length).ok())
        .unwrap_or(0);
    let mut out = Vec::with_capacity(capacity);
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| {
            ApiError::serialization(format!("The request body could not be read: {e}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if out.len() + data.len() > max {
            let read = u64::try_from(out.len() + data.len()).unwrap_or(u64::MAX);
            discard(&mut body, DISCARD_AT_MOST_BYTES.saturating_sub(read)).await;
            return Err(too_large(format!(
                "The request body is over {max} bytes, the most the {who} takes ({size})"
            )));
        }
        out.extend_from_slice(&data);
    }
    Ok(Bytes::from(out))
}

/// A limit as people say it: `4 MiB`, `16 KiB`.
fn in_units(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

fn too_large(message: String) -> ApiError {
    ApiError::new(Exception::RequestEntityTooLargeException, message)
}

/// Reads and drops up to `at_most` more bytes of the body, stopping at its end or at an error.
async fn discard(body: &mut Body, at_most: u64) {
    let mut left = at_most;
    while let Some(Ok(frame)) = poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
        let length = frame
            .data_ref()
            .map_or(0, |data| u64::try_from(data.len()).unwrap_or(u64::MAX));
        match left.checked_sub(length) {
            Some(rest) => left = rest,
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::task::{Context, Poll};

    use axum::http::HeaderValue;

    use super::*;

    const MIB: u64 = 1024 * 1024;

    /// A body of `total` bytes (`None`: endless) in 64 KiB chunks, counting the bytes it handed out.
    struct Counted {
        total: Option<u64>,
        handed_out: Arc<AtomicU64>,
    }

    impl HttpBody for Counted {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            let sent = self.handed_out.load(Ordering::Relaxed);
            let left = self.total.map_or(64 * 1024, |total| total - sent);
            if left == 0 {
                return Poll::Ready(None);
            }
            let chunk = left.min(64 * 1024);
            self.handed_out.fetch_add(chunk, Ordering::Relaxed);
            let data = Bytes::from(vec![b'x'; usize::try_from(chunk).unwrap()]);
            Poll::Ready(Some(Ok(http_body::Frame::data(data))))
        }
    }

    fn body(total: Option<u64>) -> (Body, Arc<AtomicU64>) {
        let handed_out = Arc::new(AtomicU64::new(0));
        let body = Counted {
            total,
            handed_out: handed_out.clone(),
        };
        (Body::new(body), handed_out)
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn refused(result: Result<Bytes, ApiError>) -> ApiError {
        let error = result.expect_err("the body is refused");
        assert_eq!(
            (error.error_type.as_str(), error.status),
            ("RequestEntityTooLargeException", 413)
        );
        error
    }

    #[tokio::test]
    async fn a_body_of_exactly_the_limit_is_read_whole_with_or_without_a_length() {
        let limit = u64::try_from(MAX_REQUEST_BODY_BYTES).unwrap();
        let (chunked, _) = body(Some(limit));
        assert_eq!(
            read(&HeaderMap::new(), chunked).await.unwrap().len(),
            MAX_REQUEST_BODY_BYTES
        );
        let (sized, _) = body(Some(limit));
        let length = headers(&[(header::CONTENT_LENGTH, &limit.to_string())]);
        assert_eq!(
            read(&length, sized).await.unwrap().len(),
            MAX_REQUEST_BODY_BYTES
        );
    }

    #[tokio::test]
    async fn a_chunked_body_one_byte_over_is_refused_and_the_rest_thrown_away() {
        let limit = u64::try_from(MAX_REQUEST_BODY_BYTES).unwrap();
        let (chunked, handed_out) = body(Some(limit + 1));
        let error = refused(read(&HeaderMap::new(), chunked).await);
        assert_eq!(
            error.message,
            "The request body is over 4194304 bytes, the most the API takes (4 MiB)"
        );
        assert_eq!(handed_out.load(Ordering::Relaxed), limit + 1, "drained");
    }

    #[tokio::test]
    async fn an_endless_chunked_body_is_refused_after_at_most_the_discard_bound() {
        let (endless, handed_out) = body(None);
        refused(read(&HeaderMap::new(), endless).await);
        let read = handed_out.load(Ordering::Relaxed);
        assert!(
            (DISCARD_AT_MOST_BYTES..=DISCARD_AT_MOST_BYTES + 64 * 1024).contains(&read),
            "{read}"
        );
    }

    #[tokio::test]
    async fn a_content_length_over_the_limit_is_refused_before_the_body_is_kept() {
        let (sized, handed_out) = body(Some(5 * MIB));
        let length = headers(&[(header::CONTENT_LENGTH, &(5 * MIB).to_string())]);
        let error = refused(read(&length, sized).await);
        assert_eq!(
            error.message,
            "The request body is 5242880 bytes; the API takes at most 4194304 bytes (4 MiB)"
        );
        // Thrown away, so the client that is still sending reads the answer.
        assert_eq!(handed_out.load(Ordering::Relaxed), 5 * MIB);
    }

    #[tokio::test]
    async fn a_client_waiting_for_100_continue_or_declaring_too_much_to_discard_is_answered_unread()
    {
        for pairs in [
            vec![
                (header::CONTENT_LENGTH, (5 * MIB).to_string()),
                (header::EXPECT, "100-Continue".to_string()),
            ],
            vec![(header::CONTENT_LENGTH, "1000000000000".to_string())],
        ] {
            let (endless, handed_out) = body(None);
            let pairs: Vec<_> = pairs.iter().map(|(n, v)| (n.clone(), v.as_str())).collect();
            refused(read(&headers(&pairs), endless).await);
            assert_eq!(handed_out.load(Ordering::Relaxed), 0, "{pairs:?}");
        }
    }
}
