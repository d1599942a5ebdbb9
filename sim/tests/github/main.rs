#![allow(clippy::unwrap_used)] // tests fail loudly by design

//! Black-box tests of the simulated GitHub (REST and GraphQL, github.com and Enterprise):
//! the real simulator server on port 0 with a hand-built dataset, real HTTP with reqwest.

mod dataset;
mod helpers;

mod graphql;
mod rest;
mod shapes;
