//! The message iterator: a lending iterator, so messages borrow decoded
//! data in place instead of copying it.

use ltt_ctf::body::Bodies;

use crate::message::Message;
use crate::Error;

/// A source of messages in order.
pub trait MessageIterator {
    /// Moves to the next message; `false` at the end.
    fn advance(&mut self) -> Result<bool, Error>;

    /// The current message (valid after `advance` returned `true`).
    fn current(&self) -> Message<'_>;

    /// Nanoseconds from origin of the current message, if it has a time;
    /// iterators override it when they know it without building the message.
    fn current_ns(&self) -> Option<i64> {
        self.current().ns()
    }

    /// Advances, then gives the new message's time: `None` at the end,
    /// `Some(None)` for a message without time. One call where the muxer
    /// would make two (both dynamic) per message.
    fn advance_timed(&mut self) -> Result<Option<Option<i64>>, Error> {
        Ok(self.advance()?.then(|| self.current_ns()))
    }

    /// Tells the sources upstream which event bodies the consumer needs
    /// (see [`Bodies`]). Only iterators that need no bodies themselves
    /// pass it on: by default it stops here and every body is decoded.
    fn set_bodies(&mut self, _bodies: Bodies) {}
}

/// Drains an iterator, calling `f` on every message.
pub fn for_each(
    it: &mut dyn MessageIterator,
    mut f: impl FnMut(&Message<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    while it.advance()? {
        f(&it.current())?;
    }
    Ok(())
}

impl<T: MessageIterator + ?Sized> MessageIterator for Box<T> {
    #[inline]
    fn advance(&mut self) -> Result<bool, Error> {
        (**self).advance()
    }

    #[inline]
    fn current(&self) -> Message<'_> {
        (**self).current()
    }

    #[inline]
    fn current_ns(&self) -> Option<i64> {
        (**self).current_ns()
    }

    #[inline]
    fn advance_timed(&mut self) -> Result<Option<Option<i64>>, Error> {
        (**self).advance_timed()
    }

    fn set_bodies(&mut self, bodies: Bodies) {
        (**self).set_bodies(bodies)
    }
}
