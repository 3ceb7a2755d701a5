//! Lines to requests and back. STUB: being written.
