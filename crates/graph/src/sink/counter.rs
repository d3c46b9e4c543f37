//! `sink.utils.counter`: counts messages by type.

use std::io::Write;

use ltt_ctf::body::Bodies;

use crate::message::{Message, MessageKind};
use crate::sink::Sink;
use crate::Error;

/// Counts per message type, printed every `step` messages and at the end.
pub struct Counter<W: Write> {
    out: W,
    counts: [u64; 8],
    step: u64,
    hide_zero: bool,
    since_print: u64,
}

const WHAT: [&str; 8] = [
    "Event",
    "Stream beginning",
    "Stream end",
    "Packet beginning",
    "Packet end",
    "Discarded event",
    "Discarded packet",
    "Message iterator inactivity",
];

impl<W: Write> Counter<W> {
    pub fn new(out: W, step: u64, hide_zero: bool) -> Self {
        Counter {
            out,
            counts: [0; 8],
            step,
            hide_zero,
            since_print: 0,
        }
    }

    fn print(&mut self) -> Result<(), Error> {
        let mut total = 0;
        for (what, &n) in WHAT.iter().zip(&self.counts) {
            total += n;
            if n == 0 && self.hide_zero {
                continue;
            }
            writeln!(
                self.out,
                "{n:15} {what} message{}",
                if n == 1 { "" } else { "s" }
            )?;
        }
        writeln!(
            self.out,
            "{total:15} message{} (TOTAL)",
            if total == 1 { "" } else { "s" }
        )?;
        self.out.flush()?;
        Ok(())
    }
}

impl<W: Write> Sink for Counter<W> {
    fn consume(&mut self, msg: &Message<'_>) -> Result<(), Error> {
        let i = match msg.kind {
            MessageKind::Event(_) => 0,
            MessageKind::StreamBeginning => 1,
            MessageKind::StreamEnd => 2,
            MessageKind::PacketBeginning(_) => 3,
            MessageKind::PacketEnd(_) => 4,
            MessageKind::DiscardedEvents(_) => 5,
            MessageKind::DiscardedPackets(_) => 6,
            MessageKind::Inactivity => 7,
        };
        self.counts[i] += 1;
        self.since_print += 1;
        if self.step != 0 && self.since_print == self.step {
            self.since_print = 0;
            self.print()?;
            writeln!(self.out)?;
        }
        Ok(())
    }

    fn bodies(&self) -> Bodies {
        Bodies::None
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.print()
    }
}
