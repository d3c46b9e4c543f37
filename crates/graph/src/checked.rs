//! Developer mode: an iterator that checks what flows through it against
//! the graph's contract (babeltrace2's message sequence rules), so a bug
//! in a source or filter fails loudly at its first wrong message.

use std::collections::HashMap;

use crate::iter::MessageIterator;
use crate::message::{Message, MessageKind, StreamInfo};
use crate::Error;

/// Where a stream is in `SB (PB (EV|DE|DP)* PE | DE | DP)* SE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Begun,
    InPacket,
    Ended,
}

/// Wraps an iterator and checks every message it yields.
pub struct Checked<I: MessageIterator> {
    inner: I,
    streams: HashMap<*const StreamInfo, State>,
    last_ns: Option<i64>,
    count: u64,
}

impl<I: MessageIterator> Checked<I> {
    pub fn new(inner: I) -> Self {
        Checked {
            inner,
            streams: HashMap::new(),
            last_ns: None,
            count: 0,
        }
    }

    fn check(&mut self) -> Result<(), String> {
        let msg = self.inner.current();
        let key = msg.stream as *const StreamInfo;
        let state = self.streams.get(&key).copied();
        let kind = msg.kind.name();
        let next = match (state, &msg.kind) {
            (None, MessageKind::StreamBeginning) => State::Begun,
            (None, _) => return Err(format!("{kind} before the stream beginning")),
            (Some(State::Ended), _) => return Err(format!("{kind} after the stream end")),
            (Some(_), MessageKind::StreamBeginning) => return Err("second stream beginning".into()),
            (Some(State::Begun), MessageKind::PacketBeginning(_)) => State::InPacket,
            (Some(State::InPacket), MessageKind::PacketBeginning(_)) => {
                return Err("packet beginning inside a packet".into())
            }
            (Some(State::InPacket), MessageKind::PacketEnd(_)) => State::Begun,
            (Some(State::Begun), MessageKind::PacketEnd(_)) => {
                return Err("packet end outside a packet".into())
            }
            (Some(State::Begun), MessageKind::Event(_))
                if msg.stream.stream_class().packet_context.is_some() =>
            {
                return Err("event outside a packet".into())
            }
            (Some(State::InPacket), MessageKind::StreamEnd) => {
                return Err("stream end inside a packet".into())
            }
            (Some(_), MessageKind::StreamEnd) => State::Ended,
            (Some(s), _) => s,
        };
        self.streams.insert(key, next);
        if let Some(ns) = msg.ns() {
            if self.last_ns.is_some_and(|last| ns < last) {
                return Err(format!(
                    "time goes backwards: {ns} ns after {} ns",
                    self.last_ns.unwrap_or_default()
                ));
            }
            self.last_ns = Some(ns);
        }
        Ok(())
    }
}

impl<I: MessageIterator> MessageIterator for Checked<I> {
    fn advance(&mut self) -> Result<bool, Error> {
        if !self.inner.advance()? {
            if let Some((_, s)) = self.streams.iter().find(|(_, s)| **s != State::Ended) {
                return Err(Error::Other(format!(
                    "developer check: a stream ended in state {s:?} without its stream end message"
                )));
            }
            return Ok(false);
        }
        self.count += 1;
        self.check().map_err(|e| {
            let msg = self.inner.current();
            Error::Other(format!(
                "developer check failed at message {} (stream \"{}\"): {e}",
                self.count, msg.stream.name
            ))
        })?;
        Ok(true)
    }

    fn current(&self) -> Message<'_> {
        self.inner.current()
    }

    fn current_ns(&self) -> Option<i64> {
        self.inner.current_ns()
    }
}
