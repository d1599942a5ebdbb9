//! Migrations run at start-up; the full up → down → up cycle is in `migration/tests`.

use entity::jobs;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::db_test;
use crate::helpers::{Db, spawn_app};

async fn start_up_migrates_and_seeds_exactly_two_jobs(db: Db) {
    let app = spawn_app(db).await;
    assert_eq!(jobs::Entity::find().count(&app.db).await.unwrap(), 2);
    // A second start on the same database is a no-op, not a duplicate seed.
    pulse_etl::db::migrate(&app.db).await.unwrap();
    assert_eq!(jobs::Entity::find().count(&app.db).await.unwrap(), 2);
}
db_test!(start_up_migrates_and_seeds_exactly_two_jobs);
