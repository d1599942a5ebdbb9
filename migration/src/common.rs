//! Small schema-builder helpers shared by the migrations, so that every table
//! gets the same primary key, timestamp and JSON conventions on SQLite and
//! PostgreSQL alike.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

/// `CREATE TABLE <name> (id BIGINT auto-increment PRIMARY KEY, ...)`.
pub(crate) fn table<T: IntoIden>(name: T) -> TableCreateStatement {
    Table::create().table(name).col(big_pk_auto("id")).take()
}

const CREATED_AT: &str = "created_at";
const UPDATED_AT: &str = "updated_at";

/// Appends `created_at` / `updated_at` (timestamptz, NOT NULL, default now)
/// and returns the finished statement.
pub(crate) fn stamped(table: &mut TableCreateStatement, backend: DbBackend) -> TableCreateStatement {
    table
        .col(timestamp_with_time_zone(CREATED_AT).default(now(backend)))
        .col(timestamp_with_time_zone(UPDATED_AT).default(now(backend)))
        .take()
}

/// Server-side "now" default for a timestamptz column.
///
/// SQLite stores timestamps as text and compares them as text. Its
/// `CURRENT_TIMESTAMP` gives `2026-01-02 03:04:05`, while sqlx writes
/// `DateTime<Utc>` as RFC 3339 (`2026-01-02T03:04:05.678+00:00`), so defaulted
/// and application-written values would not sort together. The SQLite default
/// therefore writes RFC 3339 too.
fn now(backend: DbBackend) -> Expr {
    match backend {
        DbBackend::Sqlite => Expr::cust("strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"),
        _ => Expr::current_timestamp(),
    }
}

/// Boolean column, NOT NULL, with a default.
pub(crate) fn flag<T: IntoIden>(col: T, default: bool) -> ColumnDef {
    boolean(col).default(default).take()
}

/// Integer column, NOT NULL, with a default.
pub(crate) fn int_default<T: IntoIden>(col: T, default: i32) -> ColumnDef {
    integer(col).default(default).take()
}

/// Big-integer column, NOT NULL, with a default.
pub(crate) fn bigint_default<T: IntoIden>(col: T, default: i64) -> ColumnDef {
    big_integer(col).default(default).take()
}

/// JSON object column, NOT NULL, default `'{}'`.
///
/// `JsonBinary` is `jsonb` on PostgreSQL (the type sqlx binds
/// `serde_json::Value` as, and one that supports `=`) and a TEXT-affinity
/// `jsonb_text` column on SQLite.
pub(crate) fn json_object<T: IntoIden>(col: T) -> ColumnDef {
    json_binary(col).default("{}").take()
}

/// Foreign key `<from_table>.<from_col> -> <to_table>.id`.
pub(crate) fn fk<F, C, T>(
    name: &str,
    from_table: F,
    from_col: C,
    to_table: T,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement
where
    F: IntoIden,
    C: IntoIden,
    T: IntoIden,
{
    ForeignKey::create()
        .name(name)
        .from(from_table, from_col)
        .to(to_table, "id")
        .on_delete(on_delete)
        .take()
}

/// Plain (non-unique) index on `cols`.
pub(crate) fn index<T, C>(name: &str, table: T, cols: impl IntoIterator<Item = C>) -> IndexCreateStatement
where
    T: IntoIden,
    C: IntoIden,
{
    let mut idx = Index::create();
    idx.name(name).table(table);
    for col in cols {
        idx.col(col);
    }
    idx.take()
}

/// Unique index on `cols`.
pub(crate) fn unique<T, C>(name: &str, table: T, cols: impl IntoIterator<Item = C>) -> IndexCreateStatement
where
    T: IntoIden,
    C: IntoIden,
{
    index(name, table, cols).unique().take()
}

/// Runs every create-index statement in order.
pub(crate) async fn create_indexes(
    manager: &SchemaManager<'_>,
    indexes: Vec<IndexCreateStatement>,
) -> Result<(), DbErr> {
    for idx in indexes {
        manager.create_index(idx).await?;
    }
    Ok(())
}

/// Drops the given tables in the given order (children first).
pub(crate) async fn drop_tables(manager: &SchemaManager<'_>, tables: Vec<DynIden>) -> Result<(), DbErr> {
    for table in tables {
        manager.drop_table(Table::drop().table(table).take()).await?;
    }
    Ok(())
}
