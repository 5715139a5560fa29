//! Snapshots: the immutable, content-addressed form of a feed that the CLI builds and the worker serves.
//!
//! A snapshot is a tree of blobs under one store: the `current` pointer names a manifest; the manifest lists the
//! collections, each naming its collection index; an index lists, per stream (every object, or the objects of
//! one STIX type), the segments in date_added order with their first and last date_added, and the id shards
//! that find an object by id. Every blob but the pointer is named by the hash of its bytes, checked on read.

pub mod format;
pub mod pointer;
pub mod reader;
pub mod segment;

pub use format::{CollectionEntry, CollectionIndex, Manifest, Pointer, SegmentRef, Stream};
pub use reader::{Reader, SnapshotError};
