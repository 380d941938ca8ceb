//! Writing the demo data set.
