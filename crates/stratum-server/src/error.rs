//! Every error a request can end in, mapped to its HTTP answer in one place: a 4xx says what
//! was wrong; a 5xx logs its cause and says nothing internal.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use stratum_store::StoreError;

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What kind of error: `unauthorized`, `forbidden`, `not_found`, `bad_request`,
    /// `conflict`, `too_many_requests`, `unavailable` or `internal`.
    pub error: String,
    /// What was wrong, in words (for a 5xx only that it failed).
    pub message: String,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid session or token.
    #[error("sign in first, or give an API token (Authorization: Bearer …)")]
    Unauthorized,
    /// The caller's role may not do this.
    #[error("your role ({0}) may not do this")]
    Forbidden(&'static str),
    /// A form or API call with a cookie and without the session's form token.
    #[error("the form token (CSRF) is missing or wrong: reload the page")]
    Csrf,
    /// No such thing, or none the caller may see (the same answer, so nothing leaks).
    #[error("no {what} `{id}`")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id as asked.
        id: String,
    },
    /// A parameter or body that does not make sense.
    #[error("{0}")]
    BadRequest(String),
    /// A name taken, or a state that forbids the change.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed sign-ins.
    #[error("too many failed sign-ins; try again in {0} seconds")]
    TooManyRequests(u64),
    /// The store has no run yet.
    #[error("the store has no run yet: record one (stratum segment --db …, or backfill)")]
    NoRuns,
    /// The store cannot be reached.
    #[error("the store is unavailable")]
    Unavailable(#[source] StoreError),
    /// Anything else: a bug or the machine.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) | ApiError::Csrf => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound { .. } | ApiError::NoRuns => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The status and body of the answer; a 5xx's cause is logged here.
    pub(crate) fn answer(&self) -> (StatusCode, ErrorBody) {
        let (status, code) = self.parts();
        match self {
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Unavailable(cause) => tracing::error!(%cause, "store unavailable"),
            _ => {}
        }
        (
            status,
            ErrorBody {
                error: code.into(),
                message: self.to_string(),
            },
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoRun(id) => ApiError::NotFound {
                what: "run",
                id: id.to_string(),
            },
            StoreError::NoVersion(id) => ApiError::NotFound {
                what: "scheme version",
                id: id.to_string(),
            },
            StoreError::NoReview(id) => ApiError::NotFound {
                what: "review",
                id: id.to_string(),
            },
            StoreError::NoUser(name) => ApiError::NotFound {
                what: "user",
                id: name,
            },
            StoreError::NoToken(id) => ApiError::NotFound {
                what: "API token",
                id,
            },
            StoreError::NoRuns => ApiError::NoRuns,
            e @ (StoreError::NoDimension { .. }
            | StoreError::NoProfile(_)
            | StoreError::Draft(_)) => ApiError::BadRequest(e.to_string()),
            e @ StoreError::Exists { .. } => ApiError::Conflict(e.to_string()),
            StoreError::Pool(stratum_store::pool::PoolRefusal::NoCustomer(id)) => {
                ApiError::NotFound {
                    what: "customer",
                    id,
                }
            }
            e @ StoreError::Pool(_) => ApiError::Conflict(e.to_string()),
            e @ (StoreError::Sqlite(_) | StoreError::Postgres(_) | StoreError::Io(_)) => {
                ApiError::Unavailable(e)
            }
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        ApiError::BadRequest(format!("the path: {}", e.body_text()))
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(format!("the query: {}", e.body_text()))
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::BadRequest(format!("the body: {}", e.body_text()))
    }
}

impl From<axum::extract::multipart::MultipartRejection> for ApiError {
    fn from(e: axum::extract::multipart::MultipartRejection) -> Self {
        ApiError::BadRequest(format!("the upload: {}", e.body_text()))
    }
}

/// A multipart body; a bad one is a JSON 400.
#[derive(Debug)]
pub(crate) struct ApiMultipart(pub(crate) axum::extract::Multipart);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ApiMultipart {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(ApiMultipart)
            .map_err(ApiError::from)
    }
}

/// A path parameter; a bad one is a JSON 400 like every other error.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(crate) struct ApiPath<T>(pub(crate) T);

/// Query parameters; bad ones are a JSON 400.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct ApiQuery<T>(pub(crate) T);

/// A JSON body; a bad one is a JSON 400.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = match &self {
            ApiError::TooManyRequests(s) => Some(*s),
            _ => None,
        };
        let (status, body) = self.answer();
        let mut response = (status, Json(body)).into_response();
        if let Some(s) = retry
            && let Ok(v) = s.to_string().parse()
        {
            response.headers_mut().insert("retry-after", v);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_what_the_caller_can_act_on() {
        let not_found = ApiError::from(StoreError::NoRun(7));
        assert_eq!(not_found.parts().0, StatusCode::NOT_FOUND);
        assert_eq!(not_found.to_string(), "no run `7`");
        let taken = ApiError::from(StoreError::Exists {
            what: "user",
            name: "ada".into(),
        });
        assert_eq!(taken.parts().0, StatusCode::CONFLICT);
        let broken = ApiError::from(StoreError::Corrupt {
            what: "chunk",
            value: "secret detail".into(),
        });
        let (status, body) = broken.answer();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.message.contains("secret"), "{}", body.message);
    }
}
