//! `filter.utils.muxer`: merges upstream iterators into one time-ordered
//! sequence. Messages without a clock snapshot take the last returned time
//! (so they go out as soon as possible); ties are broken exactly like
//! babeltrace2 (trace UUID, trace name, stream class id, stream id, message
//! type, then message contents), so equal inputs give identical outputs.

use std::cmp::Ordering;

use ltt_ctf::body::Bodies;

use crate::iter::MessageIterator;
use crate::message::{Message, MessageKind};
use crate::Error;

/// The muxer. Its upstreams are all of one type: boxed iterators of any
/// kind, or stream iterators (then reading the next message of an upstream
/// is inlined instead of a dynamic call).
pub struct Muxer<U = Box<dyn MessageIterator>> {
    upstreams: Vec<U>,
    /// Upstreams that need an advance before the next pick.
    stale: Vec<usize>,
    /// Time of each upstream's current message, `None` if it has none.
    times: Vec<Option<i64>>,
    current: Option<usize>,
    last_ns: i64,
    /// The earliest time of the upstreams other than `current` when all
    /// of them have one: while the current upstream's next message is
    /// strictly earlier, it wins without a scan (one stream often leads
    /// for a long run of events; with two streams, either way).
    bound: Option<i64>,
}

impl<U: MessageIterator> Muxer<U> {
    pub fn new(upstreams: Vec<U>) -> Self {
        let n = upstreams.len();
        Muxer {
            upstreams,
            stale: (0..n).collect(),
            times: vec![None; n],
            current: None,
            last_ns: i64::MIN,
            bound: None,
        }
    }
}

impl<U: MessageIterator> Muxer<U> {
    /// Advances upstream `i`; returns its new time, `None` when it ended
    /// (then it is dropped).
    #[inline(always)]
    fn refill(&mut self, i: usize) -> Result<Option<Option<i64>>, Error> {
        let t = self.upstreams[i].advance_timed()?;
        match t {
            Some(t) => self.times[i] = t,
            None => self.drop_upstream(i),
        }
        Ok(t)
    }

    #[cold]
    fn drop_upstream(&mut self, i: usize) {
        self.upstreams.remove(i);
        self.times.remove(i);
    }
}

impl<U: MessageIterator> MessageIterator for Muxer<U> {
    fn advance(&mut self) -> Result<bool, Error> {
        if let Some(c) = self.current.take() {
            // Others' times only change when they are current: the bound
            // holds while no upstream was removed.
            if let (Some(Some(t)), Some(bound)) = (self.refill(c)?, self.bound) {
                if t < bound {
                    self.current = Some(c);
                    self.last_ns = t;
                    return Ok(true);
                }
                // With two upstreams the bound is the other's time:
                // strictly earlier, it goes next, and the current
                // one's time becomes the bound (no tie to break).
                if t > bound && self.upstreams.len() == 2 {
                    self.current = Some(1 - c);
                    self.last_ns = bound;
                    self.bound = Some(t);
                    return Ok(true);
                }
            }
        }
        self.pick()
    }

    fn current(&self) -> Message<'_> {
        self.upstreams[self.current.expect("advance returned true")].current()
    }

    fn current_ns(&self) -> Option<i64> {
        self.upstreams[self.current?].current_ns()
    }

    /// Ordering looks at headers only (times, classes).
    fn set_bodies(&mut self, bodies: Bodies) {
        for u in &mut self.upstreams {
            u.set_bodies(bodies);
        }
    }
}

impl<U: MessageIterator> Muxer<U> {
    /// Starts the upstreams not yet started, then picks the upstream with
    /// the earliest message by a scan. Kept out of `advance` so its fast
    /// paths stay small.
    #[inline(never)]
    fn pick(&mut self) -> Result<bool, Error> {
        // Upstreams not yet started, in reverse order so removals keep
        // the remaining indices valid.
        while let Some(i) = self.stale.pop() {
            self.refill(i)?;
        }
        let last = self.last_ns;
        let mut best: Option<(usize, i64)> = None;
        // The earliest time among the upstreams not chosen, valid as a
        // bound when every upstream has a time (one without follows
        // `last_ns`).
        let mut second = i64::MAX;
        let mut timed = true;
        for (i, t) in self.times.iter().enumerate() {
            timed &= t.is_some();
            let t = t.unwrap_or(last);
            let better = match best {
                None => true,
                Some((b, bt)) => {
                    t < bt
                        || (t == bt
                            && compare(&self.upstreams[i].current(), &self.upstreams[b].current())
                                == Ordering::Less)
                }
            };
            if better {
                if let Some((_, bt)) = best {
                    second = second.min(bt);
                }
                best = Some((i, t));
            } else {
                second = second.min(t);
            }
        }
        self.bound = timed.then_some(second);
        match best {
            Some((i, t)) => {
                self.current = Some(i);
                self.last_ns = t;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

fn cmp_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// babeltrace2's `common_muxing_compare_messages` for messages of equal time.
pub fn compare(a: &Message<'_>, b: &Message<'_>) -> Ordering {
    let (ta, tb) = (&a.stream.trace, &b.stream.trace);
    cmp_opt(ta.uuid, tb.uuid)
        .then_with(|| cmp_opt(ta.name.as_deref(), tb.name.as_deref()))
        .then_with(|| a.stream.class_id.cmp(&b.stream.class_id))
        .then_with(|| a.stream.id.cmp(&b.stream.id))
        .then_with(|| b.kind.weight().cmp(&a.kind.weight()))
        .then_with(|| same_type(a, b))
}

fn same_type(a: &Message<'_>, b: &Message<'_>) -> Ordering {
    let streams = || a.stream.name.cmp(&b.stream.name);
    match (&a.kind, &b.kind) {
        (MessageKind::Event(ea), MessageKind::Event(eb)) => {
            let (ca, cb) = (ea.class(), eb.class());
            ca.id
                .cmp(&cb.id)
                .then_with(|| ca.name.cmp(&cb.name))
                .then_with(|| cmp_opt(ca.loglevel, cb.loglevel))
                .then_with(|| cmp_opt(ca.emf_uri.as_deref(), cb.emf_uri.as_deref()))
                .then_with(streams)
        }
        (MessageKind::DiscardedEvents(da), MessageKind::DiscardedEvents(db))
        | (MessageKind::DiscardedPackets(da), MessageKind::DiscardedPackets(db)) => streams()
            .then_with(|| da.begin.cmp(&db.begin))
            .then_with(|| da.end.cmp(&db.end))
            .then_with(|| cmp_opt(da.count, db.count)),
        _ => streams(),
    }
}
