//! Staff accounts, their bearer tokens and browser sessions. Secrets are never stored: passwords
//! as Argon2id hashes, tokens and sessions as SHA-256 digests (domain/credentials.rs).

use serde::Serialize;

use super::Db;
use crate::clock::now_ms;
use crate::domain::credentials::check_user_name;
use crate::domain::roles::Role;
use crate::error::ApiError;

#[derive(sqlx::FromRow)]
struct UserRow {
    name: String,
    role: String,
    created_ms: i64,
    changed_ms: i64,
    disabled_ms: Option<i64>,
}

/// A staff account as listed (never its password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Whether it was disabled (no login, tokens and sessions refused).
    pub disabled: bool,
    /// When it was added (Unix ms).
    pub created_ms: i64,
    /// When its role, password or state last changed (Unix ms).
    pub changed_ms: i64,
}

impl TryFrom<UserRow> for User {
    type Error = ApiError;
    fn try_from(r: UserRow) -> Result<Self, ApiError> {
        Ok(User {
            name: r.name,
            role: r.role.parse().map_err(|_| ApiError::Internal(format!("stored role {}", r.role)))?,
            disabled: r.disabled_ms.is_some(),
            created_ms: r.created_ms,
            changed_ms: r.changed_ms,
        })
    }
}

/// What a login needs to know about a name.
#[derive(Debug, Clone)]
pub struct Login {
    /// Role.
    pub role: Role,
    /// The Argon2id PHC string.
    pub password_hash: String,
    /// Disabled accounts may not log in.
    pub disabled: bool,
}

/// Who a credential belongs to (an enabled account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
}

#[derive(sqlx::FromRow)]
struct HolderRow {
    name: String,
    role: String,
}

fn holder(row: Option<HolderRow>) -> Result<Option<Holder>, ApiError> {
    row.map(|r| {
        Ok(Holder { role: r.role.parse().map_err(|_| ApiError::Internal("stored role".into()))?, name: r.name })
    })
    .transpose()
}

fn missing(name: &str) -> ApiError {
    ApiError::NotFound(format!("no user {name}"))
}

impl Db {
    /// Adds an account; a conflict when the name is taken.
    pub async fn add_user(&self, name: &str, role: Role, password_hash: &str) -> Result<User, ApiError> {
        check_user_name(name)?;
        let now = now_ms();
        let added = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_ms, changed_ms) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(now)
        .bind(now)
        .execute(&self.write)
        .await?;
        if added.rows_affected() == 0 {
            return Err(ApiError::Conflict(format!("user {name} already exists")));
        }
        self.user(name).await?.ok_or_else(|| missing(name))
    }

    /// One account.
    pub async fn user(&self, name: &str) -> Result<Option<User>, ApiError> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT name, role, created_ms, changed_ms, disabled_ms FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.write)
                .await?;
        row.map(User::try_from).transpose()
    }

    /// Whether an enabled administrator account exists (the bootstrap token then stops working).
    pub async fn has_administrator(&self) -> Result<bool, ApiError> {
        let n: i64 =
            sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM users WHERE role = $1 AND disabled_ms IS NULL")
                .bind(Role::Administrator.as_str())
                .fetch_one(&self.write)
                .await?;
        Ok(n > 0)
    }

    /// Every account, by name.
    pub async fn users(&self) -> Result<Vec<User>, ApiError> {
        let rows: Vec<UserRow> =
            sqlx::query_as("SELECT name, role, created_ms, changed_ms, disabled_ms FROM users ORDER BY name")
                .fetch_all(&self.read)
                .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    /// What a password login for `name` checks against.
    pub async fn login_of(&self, name: &str) -> Result<Option<Login>, ApiError> {
        let row: Option<(String, String, Option<i64>)> =
            sqlx::query_as("SELECT role, password_hash, disabled_ms FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.write)
                .await?;
        row.map(|(role, password_hash, disabled)| {
            Ok(Login {
                role: role.parse().map_err(|_| ApiError::Internal("stored role".into()))?,
                password_hash,
                disabled: disabled.is_some(),
            })
        })
        .transpose()
    }

    /// Replaces a password and ends the account's browser sessions.
    pub async fn set_password(&self, name: &str, password_hash: &str) -> Result<(), ApiError> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1, changed_ms = $2 WHERE name = $3")
            .bind(password_hash)
            .bind(now_ms())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(missing(name));
        }
        sqlx::query("DELETE FROM sessions WHERE user_name = $1").bind(name).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disables an account: its sessions and tokens are deleted and no new ones are issued.
    pub async fn disable_user(&self, name: &str) -> Result<User, ApiError> {
        let mut tx = self.write.begin().await?;
        let now = now_ms();
        let done =
            sqlx::query("UPDATE users SET disabled_ms = COALESCE(disabled_ms, $1), changed_ms = $2 WHERE name = $3")
                .bind(now)
                .bind(now)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(missing(name));
        }
        for table in ["sessions", "api_tokens"] {
            let sql = format!("DELETE FROM {table} WHERE user_name = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.user(name).await?.ok_or_else(|| missing(name))
    }

    /// Keeps the digest of a new bearer token for an enabled account.
    pub async fn add_token(&self, name: &str, token_digest: &[u8]) -> Result<(), ApiError> {
        match self.user(name).await? {
            None => return Err(missing(name)),
            Some(u) if u.disabled => return Err(ApiError::Conflict(format!("user {name} is disabled"))),
            Some(_) => {}
        }
        sqlx::query("INSERT INTO api_tokens (token_hash, user_name, created_ms) VALUES ($1, $2, $3)")
            .bind(token_digest)
            .bind(name)
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The enabled account holding the bearer token with this digest.
    pub async fn token_holder(&self, token_digest: &[u8]) -> Result<Option<Holder>, ApiError> {
        let row: Option<HolderRow> = sqlx::query_as(
            "SELECT u.name, u.role FROM api_tokens t JOIN users u ON u.name = t.user_name
             WHERE t.token_hash = $1 AND u.disabled_ms IS NULL",
        )
        .bind(token_digest)
        .fetch_optional(&self.read)
        .await?;
        holder(row)
    }

    /// Starts a browser session (digest of its secret) that ends at `expires_ms`.
    pub async fn add_session(&self, name: &str, session_digest: &[u8], expires_ms: i64) -> Result<(), ApiError> {
        let now = now_ms();
        // Expired sessions of anyone are swept here: logins are rare, so this costs nothing.
        sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1").bind(now).execute(&self.write).await?;
        sqlx::query("INSERT INTO sessions (session_hash, user_name, created_ms, expires_ms) VALUES ($1, $2, $3, $4)")
            .bind(session_digest)
            .bind(name)
            .bind(now)
            .bind(expires_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The enabled account of an unexpired session.
    pub async fn session_holder(&self, session_digest: &[u8]) -> Result<Option<Holder>, ApiError> {
        let row: Option<HolderRow> = sqlx::query_as(
            "SELECT u.name, u.role FROM sessions s JOIN users u ON u.name = s.user_name
             WHERE s.session_hash = $1 AND s.expires_ms > $2 AND u.disabled_ms IS NULL",
        )
        .bind(session_digest)
        .bind(now_ms())
        .fetch_optional(&self.read)
        .await?;
        holder(row)
    }

    /// Ends a browser session.
    pub async fn end_session(&self, session_digest: &[u8]) -> Result<(), ApiError> {
        sqlx::query("DELETE FROM sessions WHERE session_hash = $1").bind(session_digest).execute(&self.write).await?;
        Ok(())
    }
}
