//! Where failed sign-ins are counted: the Workers rate-limiting binding `SIGNIN_LIMITER` (wrangler.toml's
//! `[[ratelimits]]`, shared by the isolates of a Cloudflare location and simulated by `wrangler dev`), or, when
//! the binding is absent, the isolate's own counter. See `edge_core::auth::throttle`.

use edge_core::auth::throttle::{FailureCounter, LocalCounter};
use edge_core::time::Timestamp;
use std::rc::Rc;
use worker::{Env, RateLimiter};

/// The binding's name in wrangler.toml.
pub const BINDING: &str = "SIGNIN_LIMITER";

/// The counter a request uses.
pub enum Counter {
    Binding(RateLimiter, Rc<LocalCounter>),
    Local(Rc<LocalCounter>),
}

impl Counter {
    /// The binding when the deployment has it, else the isolate's counter.
    pub fn of(env: &Env, local: Rc<LocalCounter>) -> Counter {
        match env.rate_limiter(BINDING) {
            Ok(binding) => Counter::Binding(binding, local),
            Err(_) => Counter::Local(local),
        }
    }
}

impl FailureCounter for Counter {
    async fn count(&self, key: &str, now: Timestamp) -> bool {
        match self {
            Counter::Binding(binding, local) => match binding.limit(key.to_string()).await {
                Ok(outcome) => outcome.success,
                Err(e) => {
                    // The binding failed: count here rather than not at all.
                    worker::console_error!("taxii-edge: the {BINDING} rate-limiting binding failed: {e}");
                    local.count(key, now).await
                }
            },
            Counter::Local(local) => local.count(key, now).await,
        }
    }
}
