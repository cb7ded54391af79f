//! `kafka/group-leader` (in progress).
