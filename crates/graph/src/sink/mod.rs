//! Sinks: where messages end up.

pub mod counter;
pub mod ctf;
pub mod details;
pub mod pretty;

use ltt_ctf::body::Bodies;

use crate::iter::MessageIterator;
use crate::message::Message;
use crate::Error;

/// A component that consumes messages.
pub trait Sink {
    /// Consumes one message.
    fn consume(&mut self, msg: &Message<'_>) -> Result<(), Error>;

    /// Which event bodies (contexts and payload) the sink reads.
    fn bodies(&self) -> Bodies {
        Bodies::All
    }

    /// Whether the sink looks at messages at all: when not, the graph
    /// only advances upstream, without building each message for it.
    fn reads_messages(&self) -> bool {
        true
    }

    /// Called once after the last message.
    fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// `sink.utils.dummy`: consumes and discards.
#[derive(Debug, Default)]
pub struct Dummy;

impl Sink for Dummy {
    #[inline]
    fn consume(&mut self, _msg: &Message<'_>) -> Result<(), Error> {
        Ok(())
    }

    fn bodies(&self) -> Bodies {
        Bodies::None
    }

    fn reads_messages(&self) -> bool {
        false
    }
}

/// Runs a graph: pulls every message from `it` into `sink`. The sink is
/// finished (its output flushed) even when reading fails midway, so what
/// was read before a corrupt packet is not lost.
pub fn run(it: &mut dyn MessageIterator, sink: &mut dyn Sink) -> Result<(), Error> {
    it.set_bodies(sink.bodies());
    let reads = sink.reads_messages();
    let mut pump = || -> Result<(), Error> {
        while it.advance()? {
            if reads {
                sink.consume(&it.current())?;
            }
        }
        Ok(())
    };
    let result = pump();
    let finished = sink.finish();
    result.and(finished)
}
