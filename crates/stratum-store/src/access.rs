//! Who may use a Stratum server: users with a role, their browser sessions, API tokens, and the
//! audit log of who changed what. The store keeps only hashes of passwords, session ids and
//! tokens (hashing is the caller's: the server hashes passwords with argon2, and session ids and
//! tokens, which are long random strings, with sha256).
//!
//! The SQL here is written once for both databases (`$1`, `$2`, … in the order they first
//! appear, which SQLite binds by position as PostgreSQL does).

use crate::{Store, StoreError};

/// What a user may do on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Aggregates only: tier sizes, migrations' matrices, data quality; no customer rows.
    Viewer,
    /// Only the customers whose account manager they are, and their action list.
    Manager,
    /// Every customer, runs, previews and exports.
    Analyst,
    /// What an analyst may, and users, schemes, schedules and alert channels.
    Admin,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Manager, Role::Analyst, Role::Admin];

    /// The role's code, as kept and as given on the command line.
    pub fn code(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Manager => "manager",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// The role of `code` (`account_manager` is taken for `manager`).
    pub fn parse(code: &str) -> Option<Role> {
        match code {
            "viewer" => Some(Role::Viewer),
            "manager" | "account_manager" => Some(Role::Manager),
            "analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether the role sees customer rows (every customer, or a manager's own).
    pub fn sees_customers(self) -> bool {
        self != Role::Viewer
    }

    /// Whether the role sees every customer.
    pub fn sees_all_customers(self) -> bool {
        matches!(self, Role::Analyst | Role::Admin)
    }
}

/// A user of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The login name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// For an account manager, the value of the customers' `account_manager` column that is
    /// theirs (their login name when not given).
    pub manager: Option<String>,
    /// The argon2 hash of their password (PHC string); none for a user who signs in with API
    /// tokens only.
    pub password_hash: Option<String>,
    /// When they were added (RFC 3339).
    pub created_at: String,
    /// Whether they are locked out (sessions and tokens stop working).
    pub disabled: bool,
}

impl User {
    /// The `account_manager` value whose customers an account manager sees.
    pub fn book(&self) -> &str {
        self.manager.as_deref().unwrap_or(&self.name)
    }
}

/// An API token, as listed (its secret is never kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token's public id (the start of the token, shown to tell tokens apart).
    pub id: String,
    /// Whose token it is.
    pub user: String,
    /// What it is for.
    pub label: String,
    /// When it was created.
    pub created_at: String,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

/// A browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Whose session it is.
    pub user: User,
    /// The form token of the session (CSRF protection).
    pub csrf: String,
    /// When it ends (RFC 3339).
    pub expires_at: String,
}

/// An entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What, as a code (`user.add`, `scheme.publish`, …).
    pub action: String,
    /// On what, in words.
    pub detail: String,
}

/// A value bound to, or read from, a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<Option<&str>> for Value {
    fn from(s: Option<&str>) -> Self {
        s.map_or(Value::Null, Value::from)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl Value {
    fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// The columns of a user, as the queries below select them.
const USER_COLUMNS: &str = "u.name, u.role, u.manager, u.password_hash, u.created_at, u.disabled";

fn corrupt(what: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        value: value.to_string(),
    }
}

/// Column `i` of `row` as text; a stored `what` that is not is [`StoreError::Corrupt`].
pub(crate) fn text_at(row: &[Value], i: usize, what: &'static str) -> Result<String, StoreError> {
    row.get(i)
        .and_then(Value::text)
        .map(str::to_string)
        .ok_or_else(|| corrupt(what, &format!("{:?}", row.get(i))))
}

/// Column `i` of `row` as an integer; a stored `what` that is not is [`StoreError::Corrupt`].
pub(crate) fn int_at(row: &[Value], i: usize, what: &'static str) -> Result<i64, StoreError> {
    row.get(i)
        .and_then(Value::int)
        .ok_or_else(|| corrupt(what, &format!("{:?}", row.get(i))))
}

/// A `WHERE` clause of `conditions` (each with one `?`, numbered `$1`, `$2`, … in order) and
/// their parameters; empty without conditions.
pub(crate) fn where_of(conditions: Vec<(&str, Value)>) -> (String, Vec<Value>) {
    let mut clauses = Vec::with_capacity(conditions.len());
    let mut params = Vec::with_capacity(conditions.len());
    for (clause, v) in conditions {
        params.push(v);
        clauses.push(clause.replace('?', &format!("${}", params.len())));
    }
    if clauses.is_empty() {
        (String::new(), params)
    } else {
        (format!(" WHERE {}", clauses.join(" AND ")), params)
    }
}

/// Column `i` of `row` as text, `None` when it is null.
pub(crate) fn opt_text_at(row: &[Value], i: usize) -> Option<String> {
    row.get(i).and_then(Value::text).map(str::to_string)
}

fn user_of(row: &[Value]) -> Result<User, StoreError> {
    let role = text_at(row, 1, "role")?;
    Ok(User {
        name: text_at(row, 0, "user name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        manager: row.get(2).and_then(Value::text).map(str::to_string),
        password_hash: row.get(3).and_then(Value::text).map(str::to_string),
        created_at: text_at(row, 4, "time")?,
        disabled: row.get(5).and_then(Value::int).unwrap_or(0) != 0,
    })
}

impl Store {
    /// Adds `user`; [`StoreError::Exists`] when the name is taken.
    pub fn add_user(&mut self, user: &User) -> Result<(), StoreError> {
        self.db
            .execute(
                "INSERT INTO users (name, role, manager, password_hash, created_at, disabled)
             VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    user.name.as_str().into(),
                    user.role.code().into(),
                    user.manager.as_deref().into(),
                    user.password_hash.as_deref().into(),
                    user.created_at.as_str().into(),
                    i64::from(user.disabled).into(),
                ],
            )
            .map_err(|e| match e {
                StoreError::Conflict => StoreError::Exists {
                    what: "user",
                    name: user.name.clone(),
                },
                e => e,
            })?;
        Ok(())
    }

    /// Changes user `user.name`'s role, book, password and whether they are disabled;
    /// [`StoreError::NoUser`] when there is no such user. Disabling a user ends their sessions.
    pub fn update_user(&mut self, user: &User) -> Result<(), StoreError> {
        let n = self.db.execute(
            "UPDATE users SET role = $1, manager = $2, password_hash = $3, disabled = $4
             WHERE name = $5",
            &[
                user.role.code().into(),
                user.manager.as_deref().into(),
                user.password_hash.as_deref().into(),
                i64::from(user.disabled).into(),
                user.name.as_str().into(),
            ],
        )?;
        if n == 0 {
            return Err(StoreError::NoUser(user.name.clone()));
        }
        if user.disabled {
            self.db.execute(
                "DELETE FROM sessions WHERE user_name = $1",
                &[user.name.as_str().into()],
            )?;
        }
        Ok(())
    }

    /// User `name`, if there is one.
    pub fn user(&mut self, name: &str) -> Result<Option<User>, StoreError> {
        let rows = self.db.query(
            &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"),
            &[name.into()],
        )?;
        rows.first().map(|r| user_of(r)).transpose()
    }

    /// Every user, by name.
    pub fn users(&mut self) -> Result<Vec<User>, StoreError> {
        let rows = self.db.query(
            &format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.name"),
            &[],
        )?;
        rows.iter().map(|r| user_of(r)).collect()
    }

    /// Opens a session for `user` under the hash of its id, with form token `csrf`, until
    /// `expires_at`.
    pub fn add_session(
        &mut self,
        id_hash: &str,
        user: &str,
        csrf: &str,
        created_at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO sessions (id_hash, user_name, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                id_hash.into(),
                user.into(),
                csrf.into(),
                created_at.into(),
                expires_at.into(),
            ],
        )?;
        Ok(())
    }

    /// The session kept under `id_hash` while it lasts at `now` and its user is not disabled.
    pub fn session(&mut self, id_hash: &str, now: &str) -> Result<Option<Session>, StoreError> {
        let rows = self.db.query(
            &format!(
                "SELECT {USER_COLUMNS}, s.csrf, s.expires_at
                 FROM sessions s JOIN users u ON u.name = s.user_name
                 WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled = 0"
            ),
            &[id_hash.into(), now.into()],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(Session {
            user: user_of(row)?,
            csrf: text_at(row, 6, "form token")?,
            expires_at: text_at(row, 7, "time")?,
        }))
    }

    /// Ends the session kept under `id_hash`, and every session that ended before `now`.
    pub fn end_session(&mut self, id_hash: &str, now: &str) -> Result<(), StoreError> {
        self.db.execute(
            "DELETE FROM sessions WHERE id_hash = $1 OR expires_at <= $2",
            &[id_hash.into(), now.into()],
        )?;
        Ok(())
    }

    /// Keeps an API token for `user` under the hash of its secret, with public id `id`.
    pub fn add_token(&mut self, token: &Token, secret_hash: &str) -> Result<(), StoreError> {
        self.db
            .execute(
                "INSERT INTO api_tokens (id, user_name, label, secret_hash, created_at)
             VALUES ($1, $2, $3, $4, $5)",
                &[
                    token.id.as_str().into(),
                    token.user.as_str().into(),
                    token.label.as_str().into(),
                    secret_hash.into(),
                    token.created_at.as_str().into(),
                ],
            )
            .map_err(|e| match e {
                StoreError::Conflict => StoreError::Exists {
                    what: "token",
                    name: token.id.clone(),
                },
                e => e,
            })?;
        Ok(())
    }

    /// The user of the token whose secret hashes to `secret_hash`, while the token is not
    /// revoked and the user not disabled.
    pub fn token_user(&mut self, secret_hash: &str) -> Result<Option<User>, StoreError> {
        let rows = self.db.query(
            &format!(
                "SELECT {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.name = t.user_name
                 WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0"
            ),
            &[secret_hash.into()],
        )?;
        rows.first().map(|r| user_of(r)).transpose()
    }

    /// Every API token, newest first.
    pub fn tokens(&mut self) -> Result<Vec<Token>, StoreError> {
        let rows = self.db.query(
            "SELECT id, user_name, label, created_at, revoked_at FROM api_tokens
             ORDER BY created_at DESC, id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Token {
                    id: text_at(r, 0, "token id")?,
                    user: text_at(r, 1, "user name")?,
                    label: text_at(r, 2, "token label")?,
                    created_at: text_at(r, 3, "time")?,
                    revoked_at: r.get(4).and_then(Value::text).map(str::to_string),
                })
            })
            .collect()
    }

    /// Revokes token `id` at `at`; [`StoreError::NoToken`] when there is no such token
    /// not revoked yet.
    pub fn revoke_token(&mut self, id: &str, at: &str) -> Result<(), StoreError> {
        let n = self.db.execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[at.into(), id.into()],
        )?;
        if n == 0 {
            return Err(StoreError::NoToken(id.to_string()));
        }
        Ok(())
    }

    /// Adds `entry` to the audit log.
    pub fn audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
            &[
                entry.at.as_str().into(),
                entry.actor.as_str().into(),
                entry.action.as_str().into(),
                entry.detail.as_str().into(),
            ],
        )?;
        Ok(())
    }

    /// The newest `limit` entries of the audit log, newest first.
    pub fn audit_log(&mut self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self.db.query(
            "SELECT at, actor, action, detail FROM audit_log ORDER BY at DESC, seq DESC LIMIT $1",
            &[(limit.min(i64::MAX as usize) as i64).into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: text_at(r, 0, "time")?,
                    actor: text_at(r, 1, "actor")?,
                    action: text_at(r, 2, "action")?,
                    detail: text_at(r, 3, "detail")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_back_from_their_codes_and_only_viewers_see_no_customers() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.code()), Some(role));
        }
        assert_eq!(Role::parse("account_manager"), Some(Role::Manager));
        assert_eq!(Role::parse("root"), None);
        assert!(!Role::Viewer.sees_customers());
        assert!(Role::Manager.sees_customers() && !Role::Manager.sees_all_customers());
        assert!(Role::Analyst.sees_all_customers() && Role::Admin.sees_all_customers());
    }

    #[test]
    fn a_manager_sees_the_book_named_for_them_or_their_login() {
        let mut u = User {
            name: "zhang".into(),
            role: Role::Manager,
            manager: None,
            password_hash: None,
            created_at: String::new(),
            disabled: false,
        };
        assert_eq!(u.book(), "zhang");
        u.manager = Some("张伟".into());
        assert_eq!(u.book(), "张伟");
    }
}
