//! Per-CPU ring buffers in shared memory, the tracer's event store.
//!
//! The one idea: each CPU has its own ring of sub-buffers in a memfd that
//! several processes map; a writer reserves space in its CPU's ring with an
//! rseq critical section (no lock prefix, no system call), writes its record
//! and commits it with a single store into the record's own index entry. The
//! consumer hands out each closed sub-buffer whose entries are all committed
//! as a CTF packet, header and context filled in the space writers left at its
//! start; a record whose writer died is found by its entry, and the packet is
//! cut before it after a timeout, with the loss counted.
//!
//! - [`Channel`]: create ([`Config`]) or open (from a passed fd) the shared
//!   memory; [`Channel::reserve`] → [`Reservation`] → commit.
//! - [`Consumer`]: [`Consumer::try_next`] packets, [`Consumer::flush_all`],
//!   [`Consumer::wait`], [`Consumer::finish`].
//! - [`packet`]: the CTF packet header and LTTng packet context bytes.
//! - [`send_fd`] / [`recv_fd`]: pass the channel to another process.

mod channel;
mod consumer;
mod error;
pub mod packet;
mod sys;
mod writer;

#[cfg(feature = "bench")]
pub mod bench;

pub use channel::{Channel, Config, Mode, Reserve, StreamStats, MAX_RECORDS_LIMIT};
pub use consumer::{Consumer, ConsumerConfig, ConsumerStats, Packet, PacketInfo};
pub use error::{Error, ReserveError};
pub use sys::{monotonic_ns, recv_fd, send_fd};
pub use writer::{FlushOutcome, Reservation};
