use actix_web::{HttpResponse, web};

use crate::views::assets;

/// Asset URLs carry a content hash, so browsers may keep them for a year.
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

pub async fn serve(name: web::Path<String>) -> HttpResponse {
    match assets::find(&name) {
        Some(a) => HttpResponse::Ok()
            .content_type(a.content_type)
            .insert_header(("Cache-Control", CACHE_FOREVER))
            .body(a.bytes),
        None => HttpResponse::NotFound().finish(),
    }
}

pub async fn favicon() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header(("Location", assets::url("favicon.svg")))
        .finish()
}
