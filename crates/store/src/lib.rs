//! Meridian's metric store. So far: the chunk encoding that keeps samples compact
//! (delta-of-delta timestamps, XOR-encoded floats, as Prometheus and Gorilla do).

mod bits;
pub mod chunk;

pub use chunk::{AppendError, ChunkEncoder, ChunkIter, STALE_NAN};
