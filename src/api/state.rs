//! The state every handler reaches: the store and the settings.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::error::ApiError;
use crate::config::Settings;
use crate::store::flows::Flow;
use crate::store::{SharedStore, StoreError, StoreResult};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: SharedStore,
    pub settings: Arc<Settings>,
    /// One permit per byte of request body the server may hold at once
    /// (`--max-buffered-body-bytes`).
    pub body_budget: Arc<Semaphore>,
    /// One permit per request being served (`--max-in-flight`).
    pub in_flight: Arc<Semaphore>,
}

impl AppState {
    pub fn new(store: SharedStore, settings: Arc<Settings>) -> Self {
        let permits = settings.max_buffered_body_bytes.min(Semaphore::MAX_PERMITS);
        let body_budget = Arc::new(Semaphore::new(permits));
        let in_flight = Arc::new(Semaphore::new(settings.max_in_flight));
        Self {
            store,
            settings,
            body_budget,
            in_flight,
        }
    }

    /// Runs a store call within the request deadline: 504 `EndPoint.0013` when it is exceeded.
    pub async fn db<T>(&self, call: impl Future<Output = StoreResult<T>>) -> Result<T, ApiError> {
        match tokio::time::timeout(self.settings.request_timeout, call).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(_) => Err(ApiError::from(StoreError::Timeout)),
        }
    }

    /// Runs a storage flow within the request deadline ([`AppState::db`]).
    pub async fn run<F: Flow>(&self, flow: F) -> Result<F::Output, ApiError> {
        self.db(self.store.run(flow)).await
    }
}
