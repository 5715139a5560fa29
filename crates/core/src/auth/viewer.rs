//! Who is asking, once the credentials are checked, and what they may read. A refusal is said in auth's own
//! terms ([`AuthError`], [`Refusal`]); the taxii layer words it as a TAXII error.

use super::access::Access;
use super::header::{parse_header, AuthError};
use super::memo;
use super::users::{Grants, User};
use crate::snapshot::CollectionEntry;

/// Who is asking, once the credentials are checked.
#[derive(Clone, Copy, Debug)]
pub struct Viewer<'a> {
    access: &'a Access,
    user: Option<&'a User>,
}

impl<'a> Viewer<'a> {
    /// A caller without credentials.
    pub fn anonymous(access: &'a Access) -> Self {
        Viewer { access, user: None }
    }

    /// The signed-in user's name.
    pub fn name(&self) -> Option<&'a str> {
        self.user.map(|u| u.name.as_str())
    }

    pub fn is_authenticated(&self) -> bool {
        self.user.is_some()
    }

    /// Whether the caller may read this collection (and so know that it exists).
    pub fn may_read(&self, c: &CollectionEntry) -> bool {
        self.access.public.covers(c) || self.user.is_some_and(|u| u.collections.covers(c))
    }

    /// Whether the caller may see discovery, the API root, the collections list and the status.
    pub fn may_see_server(&self) -> bool {
        self.user.is_some() || self.access.discovery_public
    }

    /// The Access the caller was checked against.
    pub fn access(&self) -> &'a Access {
        self.access
    }

    /// How a collection this caller may not read is refused, the same whether it exists or not: it does not
    /// exist for a signed-in caller; an anonymous one is asked to sign in (it may exist for someone who does),
    /// unless every collection is public, where it cannot exist.
    pub fn hidden_collection(&self, id: &str) -> Refusal {
        if self.user.is_none() && self.access.public != Grants::All {
            Refusal::CollectionNeedsCredentials
        } else {
            Refusal::NoSuchCollection(id.to_string())
        }
    }

    /// Whether the caller may see the server (see [`Viewer::may_see_server`]), and if not, why.
    pub fn see_server(&self) -> Result<(), Refusal> {
        if self.may_see_server() {
            Ok(())
        } else {
            Err(Refusal::ServerNeedsCredentials)
        }
    }
}

/// What a caller is refused by the access rules (its credentials themselves are fine).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// An anonymous caller of a server whose discovery is not public: it must sign in.
    ServerNeedsCredentials,
    /// An anonymous caller asked for a collection it may not read, which may exist for someone who signs in.
    CollectionNeedsCredentials,
    /// The collection (by the id or alias asked for) does not exist for this caller.
    NoSuchCollection(String),
}

/// Checks the Authorization header: no header is an anonymous caller; valid credentials a user; anything else
/// an error to answer with 401 (or 503 when the configuration is broken).
pub fn authenticate<'a>(access: &'a Access, header: Option<&str>) -> Result<Viewer<'a>, AuthError> {
    if access.broken {
        return Err(AuthError::Misconfigured);
    }
    // With no users, no credentials can be valid: the header is ignored, as XSOAR ignores it when it has none
    // (a client configured with credentials keeps working against a public feed).
    let Some(header) = header.filter(|h| !h.trim().is_empty() && !access.users.is_empty()) else {
        return Ok(Viewer::anonymous(access));
    };
    let (name, pass) = parse_header(header)?;
    if let Some(i) = memo::recall(access, header) {
        if let Some(user) = access.users.get(i) {
            return Ok(Viewer { access, user: Some(user) });
        }
    }
    // Every check costs the configuration's highest iteration count: a user with fewer is topped up, an unknown
    // name checks a dummy hash of that count (the result ignored).
    let ok = match access.find(&name) {
        Some(user) => user.hash.verify_at_cost(&pass, access.cost).then_some(user),
        None => {
            if let Some(d) = &access.dummy {
                std::hint::black_box(d.verify_at_cost(&pass, access.cost));
            }
            None
        }
    };
    let user = ok.ok_or(AuthError::Wrong)?;
    let i = access.users.iter().position(|u| std::ptr::eq(u, user)).unwrap_or(0);
    memo::remember(access, header, i);
    Ok(Viewer { access, user: Some(user) })
}
