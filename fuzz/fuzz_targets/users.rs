//! The access configuration: the users JSON (`TAXII_USERS`, the CLI's users file), `PUBLIC_COLLECTIONS`,
//! `PUBLIC_DISCOVERY`, the realm, and stored password hashes. Never panics; what parses is consistent:
//! usernames pass `check_username`, a hash prints back to itself, the realm can be quoted in a challenge.
#![no_main]
use libfuzzer_sys::fuzz_target;
use edge_core::auth::password::PasswordHash;
use edge_core::auth::{check_username, parse_users, Access, Grants};
use edge_feed::users as users_file;

fuzz_target!(|data: &[u8]| {
    let p = taxii_edge_fuzz::parts(data, 4);
    let (users, public, discovery, realm) = (&p[0], &p[1], &p[2], &p[3]);
    // Hashes are checked at parse time; cap the iterations so a fuzzed hash cannot make a run slow.
    if let Ok(list) = parse_users(users) {
        for u in &list {
            check_username(&u.name).expect("a parsed username is valid");
            let again = PasswordHash::parse(&u.hash.to_string()).expect("a parsed hash prints back");
            assert!(again == u.hash);
        }
        let listed = users_file::list(users).expect("parsed users list");
        assert_eq!(listed.len(), list.len());
        let loaded = users_file::load(users).expect("parsed users load");
        assert_eq!(loaded.len(), list.len());
    } else if !users.trim().is_empty() {
        assert!(users_file::load(users).is_err());
    }
    if let Ok(h) = PasswordHash::parse(users) {
        assert!(PasswordHash::parse(&h.to_string()).unwrap() == h);
    }
    if let Ok(Grants::Some(items)) = Grants::parse(public) {
        assert!(items.iter().all(|i| !i.trim().is_empty() && i.trim() == i && i != "*"));
    }
    let (d, r) = (Some(discovery.as_str()).filter(|d| !d.is_empty()), Some(realm.as_str()).filter(|r| !r.is_empty()));
    match Access::from_config(Some(users), Some(public), d, r) {
        Ok(a) => {
            assert!(!a.realm().is_empty() && !a.realm().contains(['"', '\\']));
            assert!(!a.realm().chars().any(char::is_control));
            let e = a.challenge("x");
            assert_eq!(e.status, 401);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
