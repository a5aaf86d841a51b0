//! Meridian's metric store. So far: series identity (label sets, fingerprints, matchers) and
//! the chunk encoding that keeps samples compact (delta-of-delta timestamps, XOR-encoded
//! floats, as Prometheus and Gorilla do).

mod bits;
pub mod chunk;
pub mod labels;

pub use chunk::{AppendError, ChunkEncoder, ChunkIter, STALE_NAN};
pub use labels::{matches_all, LabelError, Labels, MatchOp, Matcher, METRIC_NAME};
