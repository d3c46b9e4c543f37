//! The application-side tracer: declare events, hit them, and their records
//! land in the session daemon's shared-memory ring buffers as CTF.
//!
//! The one idea: each declared event is a `static` [`CallSite`] whose state
//! one relaxed load checks before any argument is evaluated; a disabled event
//! costs that load and a not-taken branch. An enabled one takes a timestamp,
//! reserves space in the current CPU's buffer (rseq, no lock), writes the
//! LTTng event header, the vpid/vtid/procname context and the payload in
//! place, and commits: no system call, no allocation.
//!
//! ```
//! ltt_ust::ctf_enum! {
//!     /// What a worker does.
//!     pub enum State: i32 { IDLE = 0, BUSY = 1..=3 }
//! }
//!
//! ltt_ust::provider! {
//!     /// Events of my program.
//!     pub mod myapp {
//!         /// A request was served.
//!         event request(id: u64, path: &str, status: u16, flags: u32 as hex) loglevel(Info);
//!         event state(s: State, history: &[u8]);
//!     }
//! }
//!
//! fn serve(id: u64) {
//!     // Arguments are evaluated only when the event is enabled.
//!     ltt_ust::tracepoint!(myapp::request(id, &format!("/item/{id}"), 200, 0x10));
//!     ltt_ust::tracepoint!(myapp::state(State::BUSY, &[1, 2]));
//! }
//! # fn main() { serve(1); }
//! ```
//!
//! Tracing turns on when the process runs under `ltt record` (which sets
//! [`SOCKET_ENV`]): the first hit of a provider's event connects to the
//! session daemon, sends the provider's event schemas, and receives the ring
//! buffer and which events are enabled. Without a daemon, or if it fails or
//! misbehaves, every event stays disabled and the program runs on.
//!
//! Field types (`NAME: TYPE [as FORMAT]`): `i8`…`i64`, `u8`…`u64`,
//! `isize`/`usize`, `f32`, `f64`, `&str`, `[INT; N]` (array), `&[INT]`
//! (sequence, length written as `u64`), and enums from [`ctf_enum!`].
//! Formats: `hex` (integers, arrays and sequences of integers), `network`
//! and `network_hex` (integers stored big-endian; pass host-order values),
//! `text` (`[u8; N]`/`&[u8]` shown as strings). A format that does not fit
//! its type fails the build.

mod context;
#[cfg(feature = "tracing")]
mod layer;
pub mod proto;
mod schema;
mod tracer;

/// A field's value as `ltt record --filter` expressions see it
/// ([`Field::filter_value`]).
pub use context::{Context, ContextKind, DEFAULT_CONTEXTS};
#[cfg(feature = "tracing")]
pub use layer::{rust_tracing, LttLayer};
pub use ltt_filter::Value as FilterValue;
pub use schema::{
    apply_format, EnumEntry, EventDesc, Field, FieldDesc, FieldKind, Format, IntField, IntKind,
    LogLevel, Out,
};
#[doc(hidden)]
pub use tracer::Hit;
pub use tracer::{
    app_socket_path, daemon_dir, is_tracing, CallSite, Provider, ALLOW_BLOCKING_ENV,
    APP_SOCKET_NAME, DEBUG_ENV, HEADER_LEN, HOME_ENV, PROCNAME_LEN, SOCKET_ENV,
};

/// Declares a provider and its events.
///
/// ```
/// ltt_ust::provider! {
///     pub mod demo {
///         event empty();
///         /// One integer.
///         event one_int(v: i32) loglevel(DebugUnit);
///     }
/// }
/// ltt_ust::tracepoint!(demo::one_int(42));
/// demo::one_int::record(43); // same, but the argument is always evaluated
/// demo::register();          // register now instead of at the first hit
/// ```
///
/// For each event `E` of provider `P`, module `P::E` holds `CALLSITE`,
/// `EVENT` (the schema), `record(...)` (check then emit) and `emit(...)`.
/// The event is named `P:E` in the trace. Log levels are the [`LogLevel`]
/// variants; the default is LTTng's, `DebugLine`.
#[macro_export]
macro_rules! provider {
    (
        $(#[$pmeta:meta])*
        $vis:vis mod $prov:ident {
            $(
                $(#[$emeta:meta])*
                event $ev:ident ( $( $f:ident : $ty:ty $(as $fmt:ident)? ),* $(,)? )
                    $(loglevel($lvl:ident))? ;
            )*
        }
    ) => {
        $(#[$pmeta])*
        $vis mod $prov {
            #[allow(unused_imports)]
            use super::*;

            /// The provider: all its events, registered together.
            pub static PROVIDER: $crate::Provider =
                $crate::Provider::new(stringify!($prov), &[ $( &$ev::CALLSITE ),* ]);

            /// Listed before `main`, so that the first hit of any provider
            /// registers this one too.
            #[used]
            #[unsafe(link_section = ".init_array")]
            static __LTT_LIST_PROVIDER: extern "C" fn() = {
                extern "C" fn list() {
                    PROVIDER.list()
                }
                list
            };

            /// Register the provider's events now rather than at the first hit.
            #[allow(dead_code)]
            pub fn register() {
                PROVIDER.register()
            }

            $(
                $(#[$emeta])*
                pub mod $ev {
                    #[allow(unused_imports)]
                    use super::*;

                    #[allow(non_upper_case_globals, unused_imports)]
                    mod kinds {
                        use super::*;
                        $(
                            pub const $f: $crate::FieldKind = $crate::apply_format(
                                <$ty as $crate::Field>::KIND,
                                $crate::__format!($($fmt)?),
                            );
                        )*
                    }

                    /// The event's schema.
                    pub static EVENT: $crate::EventDesc = $crate::EventDesc {
                        name: concat!(stringify!($prov), ":", stringify!($ev)),
                        loglevel: $crate::__loglevel!($($lvl)?),
                        fields: &[ $( $crate::FieldDesc { name: stringify!($f), kind: kinds::$f } ),* ],
                    };

                    /// The event's call site.
                    pub static CALLSITE: $crate::CallSite =
                        $crate::CallSite::new(&super::PROVIDER, &EVENT);

                    /// Record the event if it is enabled.
                    #[allow(dead_code, clippy::too_many_arguments)]
                    #[inline(always)]
                    pub fn record($($f: $ty),*) {
                        if CALLSITE.is_enabled() {
                            emit($($f),*)
                        }
                    }

                    /// Record the event (enabled or not: the check is
                    /// [`CALLSITE`]'s); kept out of line so call sites stay small.
                    #[allow(clippy::too_many_arguments)]
                    #[inline(never)]
                    pub fn emit($($f: $ty),*) {
                        let mut hit = CALLSITE.hit();
                        if hit.needs_filter() {
                            // On the stack, borrowed from the arguments.
                            let fields: &[$crate::FilterValue<'_>] = &[
                                $( $crate::Field::filter_value(&$f, &kinds::$f) ),*
                            ];
                            hit = CALLSITE.filter(hit, fields);
                        }
                        if hit.is_none() {
                            return;
                        }
                        let len = 0 $( + $crate::Field::encoded_len(&$f) )*;
                        CALLSITE.write_records(hit, len, |_out| {
                            $( $crate::Field::encode(&$f, &kinds::$f, _out); )*
                        });
                    }
                }
            )*
        }
    };
}

/// Hits an event declared with [`provider!`]: `tracepoint!(prov::event(args...))`.
/// The arguments are evaluated only if the event is enabled (or not yet
/// registered).
#[macro_export]
macro_rules! tracepoint {
    ($($path:ident)::+ ( $($arg:expr),* $(,)? )) => {
        if $($path)::+::CALLSITE.is_enabled() {
            $crate::__enabled(|| $($path)::+::emit($($arg),*))
        }
    };
}

/// The enabled path of a tracepoint, out of line: the caller's disabled
/// path stays a load, a test and a branch, without the register saves and
/// stack frame that computing the arguments would need. Not `#[cold]`:
/// that moved the enabled path far enough to cost a filtered-out hit 4 ns.
#[doc(hidden)]
#[inline(never)]
pub fn __enabled(hit: impl FnOnce()) {
    hit()
}

#[doc(hidden)]
#[macro_export]
macro_rules! __format {
    () => {
        $crate::Format::Plain
    };
    (hex) => {
        $crate::Format::Hex
    };
    (network) => {
        $crate::Format::Network
    };
    (network_hex) => {
        $crate::Format::NetworkHex
    };
    (text) => {
        $crate::Format::Text
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __loglevel {
    () => {
        $crate::LogLevel::DEFAULT
    };
    ($lvl:ident) => {
        $crate::LogLevel::$lvl
    };
}
