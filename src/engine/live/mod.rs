//! The `live` runtime: the same sans-IO nodes on real threads with a real
//! clock (issue 13). Work in progress: only the mailbox is here so far.

pub mod mailbox;
pub mod word;
