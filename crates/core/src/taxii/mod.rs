//! The TAXII protocol, free of any runtime: requests, responses, negotiation, errors, filters and tokens.
//!
//! The modules, from the bottom up (each imports only those above it): [`http`] (requests and responses),
//! [`media`] (negotiation), [`error`] (the TAXII error), [`refusal`] (auth's refusals as TAXII errors),
//! [`filters`], [`range`] (2.0's `Range: items`), [`limits`], [`token`] (`next`), [`route`] (what a path
//! names); then, over [`crate::settings`], [`context`] (one request's [`Ctx`]), [`page`] (a selection and its
//! pages), [`resources`], [`v20`] and [`content`] (the endpoints).

pub mod content;
pub mod context;
pub mod error;
pub mod filters;
pub mod http;
pub mod limits;
pub mod media;
pub mod page;
pub mod range;
pub mod refusal;
pub mod resources;
pub mod route;
pub mod token;
pub mod v20;

pub use context::Ctx;
pub use http::{percent_decode, Request, Response};
pub use route::Route;
