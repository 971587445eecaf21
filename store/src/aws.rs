//! What the AWS stores share (feature `aws`): one small tokio runtime that drives the AWS SDK
//! from this crate's synchronous API, the SDK's configuration, and error messages.
//!
//! The SDK is async; keyroll's stores are not (the CLI and every binding call them from plain
//! threads). A single current-thread runtime, built on first use and kept for the process,
//! runs each request to completion inside `block_on`: no worker threads, and many threads may
//! call at once (tokio lets one of them drive the I/O while the others wait). Do not call these
//! stores from inside another tokio runtime (tokio refuses to nest `block_on`).
//!
//! Region, endpoint and credentials come from the SDK's own chain: `AWS_REGION`,
//! `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL_KMS`),
//! `AWS_PROFILE` and `~/.aws/config`, web identity and container/instance roles.

use crate::{Error, Result};
use aws_config::BehaviorVersion;
// The SDK crates share these types (smithy's); any one re-export names them.
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::future::Future;
use std::sync::OnceLock;

static RUNTIME: OnceLock<core::result::Result<tokio::runtime::Runtime, String>> = OnceLock::new();

/// Runs `future` to completion on the shared runtime.
pub(crate) fn block_on<F: Future>(location: &str, future: F) -> Result<F::Output> {
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match runtime {
        Ok(rt) => Ok(rt.block_on(future)),
        Err(message) => Err(Error::Unavailable {
            location: location.to_string(),
            op: "start the AWS client runtime",
            message: message.clone(),
        }),
    }
}

/// The SDK configuration from the environment (see the module docs). Credentials are
/// resolved lazily, on the first request.
///
/// Every request gives up after 10 s per attempt and 30 s in all (the SDK's own retries
/// included), so a partitioned endpoint fails a reload or a command with `store_unavailable`
/// instead of hanging it.
pub(crate) fn sdk_config(location: &str) -> Result<aws_config::SdkConfig> {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .operation_attempt_timeout(std::time::Duration::from_secs(10))
        .operation_timeout(std::time::Duration::from_secs(30))
        .build();
    block_on(
        location,
        aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts)
            .load(),
    )
}

/// A request's failure as text for [`Error::Unavailable`]: the service's error code and
/// message, or the client's (no credentials, signatures or request bodies are in either).
pub(crate) fn message<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: core::fmt::Debug,
{
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(e).to_string(),
    }
}

/// The service's error code of a failed request (`ResourceNotFoundException`, …), if the
/// service answered.
pub(crate) fn code<E, R>(e: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    e.code()
}
