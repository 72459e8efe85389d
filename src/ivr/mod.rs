//! The IVR, provider-neutral and pure: the reply type every provider
//! renders, what the menus say in each language, and the menu step that
//! turns a call's progress and keys into its next reply. No I/O here; the
//! service stores the progress, providers render the reply.

pub mod menu;
pub mod prompts;
pub mod reply;
#[cfg(test)]
mod tests;
mod words;

pub use menu::{Caller, Input, MenuEvent, Menus, Outcome, Progress};
pub use reply::{Enqueue, Gather, Reply, Say, Step, Task, Verb};
pub use words::hours_in_words;
