//! What a path names: discovery (of a version), the API root and its resources, parsed once per request.

use super::filters::Endpoint;
use super::media::Version;

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    Discovery(Version),
    ApiRoot,
    Status,
    Collections,
    Collection(&'a str),
    Manifest(&'a str),
    Objects(&'a str),
    Object(&'a str, &'a str),
    Versions(&'a str, &'a str),
}

impl<'a> Route<'a> {
    /// The route of a (percent-decoded) path, for an API root named `api_root` serving `versions`; `None` when
    /// the path names no TAXII resource. A trailing `/` is optional.
    pub fn parse(path: &'a str, api_root: &str, versions: &[Version]) -> Option<Route<'a>> {
        let path = path.trim_end_matches('/');
        let seg: Vec<&str> =
            if path.is_empty() { vec![] } else { path.strip_prefix('/').unwrap_or(path).split('/').collect() };
        let root = api_root;
        let enabled = |v: Version| versions.contains(&v);
        Some(match seg.as_slice() {
            ["taxii2"] if enabled(Version::V21) => Route::Discovery(Version::V21),
            ["taxii"] if enabled(Version::V20) => Route::Discovery(Version::V20),
            [r] if *r == root => Route::ApiRoot,
            [r, "status", _] if *r == root => Route::Status,
            [r, "collections"] if *r == root => Route::Collections,
            [r, "collections", c] if *r == root => Route::Collection(c),
            [r, "collections", c, "manifest"] if *r == root => Route::Manifest(c),
            [r, "collections", c, "objects"] if *r == root => Route::Objects(c),
            [r, "collections", c, "objects", o] if *r == root => Route::Object(c, o),
            [r, "collections", c, "objects", o, "versions"] if *r == root => Route::Versions(c, o),
            _ => return None,
        })
    }

    /// Whether the route is inside a collection: its access is the collection's, not the server's.
    pub fn in_collection(&self) -> bool {
        matches!(self, Route::Collection(_)) || self.is_content()
    }

    /// Whether the route is a content endpoint (objects, manifest, object, versions): paged and filtered.
    pub fn is_content(&self) -> bool {
        matches!(self, Route::Manifest(_) | Route::Objects(_) | Route::Object(..) | Route::Versions(..))
    }

    /// The collection and endpoint of a content route.
    pub fn content(&self) -> Option<(&'a str, Endpoint)> {
        match *self {
            Route::Manifest(c) => Some((c, Endpoint::Manifest)),
            Route::Objects(c) => Some((c, Endpoint::Objects)),
            Route::Object(c, _) => Some((c, Endpoint::Object)),
            Route::Versions(c, _) => Some((c, Endpoint::Versions)),
            _ => None,
        }
    }

    /// The versions the route offers, among those served (in order of preference): discovery prefers its own.
    pub fn offered(&self, served: &[Version]) -> Vec<Version> {
        match *self {
            Route::Discovery(v) => {
                let mut o = vec![v];
                o.extend(served.iter().filter(|&&x| x != v));
                o
            }
            _ => served.to_vec(),
        }
    }
}
