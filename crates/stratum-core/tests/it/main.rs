//! Integration tests of the engine against published results.

mod cluster;
mod clv;
