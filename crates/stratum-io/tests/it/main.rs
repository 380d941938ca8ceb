//! stratum-io integration tests: real files in, hand-computed numbers out.

mod bad_rows;
mod common;
mod formats;
mod parallel;
mod parquet_files;
mod pipeline;
mod properties;
mod workbooks;
