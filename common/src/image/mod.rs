//! Image references and what is chosen from them: the reference grammar, tag selection
//! (`nginx:1.25*`, `@latest=N`), where an image lands in the target (mapping and the naming rules
//! of registry types), the include/exclude filters and platforms of multi-arch images.
pub mod codes;
pub mod filter;
pub mod mapping;
pub mod naming;
pub mod platform;
pub mod reference;
pub mod selection;

pub use filter::{FilterDecision, ImageFilter};
pub use platform::Platform;
pub use reference::{ImageRef, ImageRefError};
