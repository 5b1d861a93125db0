//! Label selector matching: the shared implementation in `refkube_helpers::labels`,
//! re-exported under the name the controllers' modules already use.

pub use refkube_helpers::labels::{SelectorError, from_label_selector, from_map, matches};
