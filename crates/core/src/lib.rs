//! edge-core: taxii-edge's platform-free core. Plain Rust with no Workers types, compiled natively for the CLI and
//! the tests, and to wasm32 for the worker. It answers a request from a store; it never touches the network.
//!
//! The modules, from the bottom up (each imports only those above it in this list):
//! - [`time`]: STIX timestamps (microseconds), parsed and shown as STIX writes them; [`duration`]: durations as
//!   operators write them (`24h`).
//! - [`text`]: client-supplied text as messages show it.
//! - [`store`]: the blob store the snapshots live in (R2 at the edge, memory in tests, a directory for the CLI),
//!   and [`faults`]: its read deadline, the snapshot a request read, the error log.
//! - [`stix_id`]: the STIX ids the server derives itself (bundle ids, the STIX 2.0 form of an id).
//! - [`snapshot`]: the snapshot format (pointer, manifest, collection index, segments, id shards), the reader
//!   that finds a page in it, and the publish pointer as a request pins it.
//! - [`retention`]: which snapshots are kept and which blobs may be deleted.
//! - [`wire`]: the admin API's contract, shared by the worker and the CLI.
//! - [`auth`]: users, passwords, HTTP Basic and API keys, and what a caller may read (no TAXII types: it refuses
//!   in its own terms).
//! - [`taxii`], its protocol half: requests and responses, negotiation, TAXII errors (and auth's refusals as
//!   TAXII errors), filters, `Range`, limits, `next` tokens, routes.
//! - [`settings`]: the deployment's settings (access, versions, limits, page sizes, secrets), parsed from the
//!   worker's vars.
//! - [`taxii`], its endpoint half: one request's context, selections and pages, the resources and the content
//!   endpoints of 2.1 and 2.0, which read the settings.
//! - [`server`]: the request → response service (route, token and version found once per request), the admin
//!   handler, the edge cache key.
//!
//! docs/ARCHITECTURE.md shows the path of the data and the crates around this one.

pub mod auth;
pub mod duration;
pub mod faults;
pub mod retention;
pub mod server;
pub mod settings;
pub mod snapshot;
pub mod stix_id;
pub mod store;
pub mod taxii;
pub mod text;
pub mod time;
pub mod wire;
