//! PromQL evaluation on top of `promql-parser`'s syntax tree, independent of where series are
//! stored: the server reads Meridian's store, the tests read memory (`MemorySource`).

mod aggregate;
mod binary;
mod eval;
mod functions;
mod memory;
pub mod notation;
pub mod syntax;
pub mod value;

pub use eval::{parse, Engine, EvalResult, Source, TIMED_OUT, TOO_MANY_SAMPLES};
pub use memory::MemorySource;
pub use value::{
    format_float, parse_duration, parse_seconds_or_duration, Labels, Sample, Series, Value,
};
