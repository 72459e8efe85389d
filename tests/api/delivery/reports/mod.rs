//! Delivery reports: a provider saying what became of a message, by
//! webhook (moved forward only), in duplicate and out of order, and before
//! the worker has recorded the send (kept, then applied).

mod callbacks;
mod early;
mod forward_only;
