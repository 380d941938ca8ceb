//! Seeded synthetic customers and transactions for demos and benchmarks.
