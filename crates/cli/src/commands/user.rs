//! `taxii-edge user add|remove|list`: manage the readers of the TAXII_USERS secret (HTTP Basic or Bearer API
//! key, per-collection access) in a users file, and say how to set the secret.

use crate::fail::Fail;
use clap::Subcommand;
use edge_feed::users::{self as users_file, UsersFileError};
use std::path::{Path, PathBuf};

/// Why `taxii-edge user` failed: a users file that could not be read, written or changed, or no password.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The users file exists but could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// The users file could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: std::io::Error },
    /// `--password-stdin` and standard input could not be read.
    #[error("cannot read the password: {0}")]
    ReadPassword(std::io::Error),
    /// The users file (named) or the change asked for is not valid.
    #[error("{}{source}", .path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Users { path: Option<PathBuf>, source: UsersFileError },
}

impl UserError {
    /// A [`UsersFileError`] about the users file at `path` (or about a one-user value when `None`).
    fn users(path: Option<&Path>) -> impl FnOnce(UsersFileError) -> UserError + '_ {
        move |source| UserError::Users { path: path.map(Path::to_path_buf), source }
    }
}

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Add a user (or give one a new password), print its password once and the TAXII_USERS value to set.
    Add {
        /// The username (no ':').
        name: String,
        /// What the user may read: collection ids, titles or aliases, comma-separated, or "*" for all.
        #[arg(long)]
        collections: String,
        /// The users file to update (created if missing); without it, prints a one-user TAXII_USERS value.
        #[arg(long)]
        users: Option<PathBuf>,
        /// Read the password from standard input (e.g. to keep an XSOAR password) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// PBKDF2 iterations (each costs CPU on a user's first request per worker isolate).
        #[arg(long, default_value_t = edge_core::auth::password::DEFAULT_ITERATIONS)]
        iterations: u32,
    },
    /// Remove a user from a users file.
    Remove {
        name: String,
        #[arg(long)]
        users: PathBuf,
    },
    /// List the users of a users file and what they may read (and check the file).
    List {
        #[arg(long)]
        users: PathBuf,
    },
}

/// A missing users file reads as empty (`add` creates it).
fn read_users(path: &Path) -> Result<String, UserError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(UserError::Read { path: path.to_path_buf(), source }),
    }
}

fn write_users(path: &Path, document: &str) -> Result<(), UserError> {
    std::fs::write(path, format!("{document}\n"))
        .map_err(|source| UserError::Write { path: path.to_path_buf(), source })
}

pub fn run(args: Args) -> Result<(), Fail> {
    match args.action {
        Action::Add { name, collections, users, password_stdin, iterations } => {
            add(&name, &collections, users.as_deref(), password_stdin, iterations)
        }
        Action::Remove { name, users } => {
            let document = users_file::remove(&read_users(&users)?, &name).map_err(UserError::users(Some(&users)))?;
            write_users(&users, &document)?;
            say!("removed user {name:?} from {}; set the secret again:", users.display());
            say!("  npx wrangler secret put TAXII_USERS < {}", users.display());
            Ok(())
        }
        Action::List { users } => {
            let lines = users_file::list(&read_users(&users)?).map_err(UserError::users(Some(&users)))?;
            if lines.is_empty() {
                say!("no users in {}", users.display());
            }
            for l in lines {
                say!("{l}");
            }
            Ok(())
        }
    }
    .map_err(Fail::from)
}

fn add(
    name: &str,
    collections: &str,
    users: Option<&Path>,
    password_stdin: bool,
    iterations: u32,
) -> Result<(), UserError> {
    let text = match users {
        Some(p) => read_users(p)?,
        None => String::new(),
    };
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(UserError::ReadPassword)?;
        Some(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        None
    };
    let added = users_file::add(&text, name, collections, password, iterations).map_err(UserError::users(users))?;
    let verb = if added.replaced { "updated" } else { "added" };
    say!("{verb} user {name:?}, who may read: {collections}");
    if added.generated {
        say!("  password: {}", added.password);
        say!("  (shown once: give it to the user now; only its salted hash is kept)");
    } else if added.password.chars().count() < 16 {
        eprintln!("warning: a password of fewer than 16 characters can be guessed from its hash if the secret leaks; prefer a generated one");
    }
    if added.password.contains('.') {
        say!("  API key: none (the password contains '.'); use HTTP Basic");
    } else {
        say!(
            "  API key (Authorization: Bearer …): {name}.{}",
            if added.generated { added.password.as_str() } else { "<password>" }
        );
    }
    match users {
        Some(p) => {
            write_users(p, &added.document)?;
            say!("wrote {} ({} bytes). Set it as the worker's secret:", p.display(), added.document.len());
            say!("  npx wrangler secret put TAXII_USERS < {}", p.display());
        }
        None => {
            say!("set the worker's secret (one user, all its access in one line):");
            say!("  echo '{}' | npx wrangler secret put TAXII_USERS", added.document);
        }
    }
    say!("for a local run, this line in .dev.vars:");
    say!("  TAXII_USERS='{}'", added.document);
    if added.document.len() > 5000 {
        eprintln!("warning: TAXII_USERS is over 5 KB, the size Cloudflare allows one secret");
    }
    Ok(())
}

impl From<UserError> for Fail {
    /// A users file could not be read, written or changed: exit code 1.
    fn from(e: UserError) -> Fail {
        Fail::from(e.to_string())
    }
}
