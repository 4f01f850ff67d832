//! A pipeline as CodePipeline declares it: the typed declaration, reading it from a file, and validating
//! it in CodePipeline's two layers (the model's shapes, then the structural rules).

pub mod declaration;
pub mod file;

pub use declaration::*;
pub use file::{LoadError, PipelineFile};
