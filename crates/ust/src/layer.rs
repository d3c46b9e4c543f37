//! A [`tracing`] layer recording a Rust program's `tracing` events and
//! spans as ltt events (cargo feature `tracing`):
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//! tracing_subscriber::registry().with(ltt_ust::LttLayer).init();
//! tracing::info!(answer = 42, "hello");
//! ```
//!
//! Events go to `rust_tracing:error` … `rust_tracing:trace`, one per level
//! with the matching LTTng log level (so `enable-event --loglevel` works),
//! with the target, the message, the other fields as `name=value` text,
//! and the source location. Span entries and exits go to
//! `rust_tracing:span_enter` and `rust_tracing:span_exit` with the span's
//! id and name. A disabled level costs one load in `enabled`.

use std::cell::RefCell;
use std::fmt::Write;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

crate::provider! {
    /// Events of the `tracing` layer.
    pub mod rust_tracing {
        /// A `tracing` event at level ERROR.
        event error(target: &str, message: &str, fields: &str, file: &str, line: u32) loglevel(Err);
        /// A `tracing` event at level WARN.
        event warn(target: &str, message: &str, fields: &str, file: &str, line: u32) loglevel(Warning);
        /// A `tracing` event at level INFO.
        event info(target: &str, message: &str, fields: &str, file: &str, line: u32) loglevel(Info);
        /// A `tracing` event at level DEBUG.
        event debug(target: &str, message: &str, fields: &str, file: &str, line: u32) loglevel(DebugLine);
        /// A `tracing` event at level TRACE.
        event trace(target: &str, message: &str, fields: &str, file: &str, line: u32) loglevel(Debug);
        /// A span was entered.
        event span_enter(id: u64, name: &str, target: &str, fields: &str) loglevel(DebugLine);
        /// A span was exited.
        event span_exit(id: u64, name: &str) loglevel(DebugLine);
    }
}

/// The layer; add it to a `tracing_subscriber::registry()`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LttLayer;

/// The span's fields as text, kept in its extensions for `span_enter`.
struct SpanFields(String);

/// Formats fields: `message` apart, the others as `name=value`.
struct Text<'a> {
    message: &'a mut String,
    fields: &'a mut String,
}

impl Visit for Text<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.sep();
            let _ = write!(self.fields, "{}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.sep();
            let _ = write!(self.fields, "{}={value:?}", field.name());
        }
    }
}

impl Text<'_> {
    fn sep(&mut self) {
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
    }
}

thread_local! {
    /// Reused text buffers: no allocation per event once warm.
    static BUFFERS: RefCell<(String, String)> = const { RefCell::new((String::new(), String::new())) };
}

fn level_site(level: &Level) -> &'static crate::CallSite {
    match *level {
        Level::ERROR => &rust_tracing::error::CALLSITE,
        Level::WARN => &rust_tracing::warn::CALLSITE,
        Level::INFO => &rust_tracing::info::CALLSITE,
        Level::DEBUG => &rust_tracing::debug::CALLSITE,
        _ => &rust_tracing::trace::CALLSITE,
    }
}

impl<S> Layer<S> for LttLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// Ask again at every hit: sessions enable and disable events at any
    /// time.
    fn register_callsite(&self, _: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        if metadata.is_span() {
            return rust_tracing::span_enter::CALLSITE.is_enabled()
                || rust_tracing::span_exit::CALLSITE.is_enabled();
        }
        level_site(metadata.level()).is_enabled()
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let _ = BUFFERS.try_with(|b| {
            let Ok(mut b) = b.try_borrow_mut() else {
                return;
            };
            let (message, fields) = &mut *b;
            message.clear();
            fields.clear();
            event.record(&mut Text { message, fields });
            let (target, file, line) = (
                meta.target(),
                meta.file().unwrap_or(""),
                meta.line().unwrap_or(0),
            );
            match *meta.level() {
                Level::ERROR => {
                    crate::tracepoint!(rust_tracing::error(target, message, fields, file, line))
                }
                Level::WARN => {
                    crate::tracepoint!(rust_tracing::warn(target, message, fields, file, line))
                }
                Level::INFO => {
                    crate::tracepoint!(rust_tracing::info(target, message, fields, file, line))
                }
                Level::DEBUG => {
                    crate::tracepoint!(rust_tracing::debug(target, message, fields, file, line))
                }
                _ => crate::tracepoint!(rust_tracing::trace(target, message, fields, file, line)),
            }
        });
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !rust_tracing::span_enter::CALLSITE.is_enabled() {
            return;
        }
        let (mut message, mut fields) = (String::new(), String::new());
        attrs.record(&mut Text {
            message: &mut message,
            fields: &mut fields,
        });
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let ext = span.extensions();
            let fields = ext.get::<SpanFields>().map_or("", |f| f.0.as_str());
            let meta = span.metadata();
            crate::tracepoint!(rust_tracing::span_enter(
                id.into_u64(),
                meta.name(),
                meta.target(),
                fields
            ));
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            crate::tracepoint!(rust_tracing::span_exit(
                id.into_u64(),
                span.metadata().name()
            ));
        }
    }
}
