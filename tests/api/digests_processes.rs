//! Multi-process digest runs (written next).
