//! LTTng's session verbs (`create`, `enable-event`, `start`, `list`, …),
//! carried out by the user's `ltt-sessiond`, started on demand.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use ltt_sessiond::control::{
    self, AppView, ChannelSpec, Client, ProcessAttr, Reply, Request, SessionInfo,
};
use ltt_sessiond::rules::{parse_loglevel, EventRule, LogLevelRule, LOGLEVEL_NAMES};

use crate::record::parse_size;

/// The tracing domain; only user space is driven by these verbs.
#[derive(Args, Debug, Default)]
pub struct Domain {
    /// User-space domain (the default).
    #[arg(short = 'u', long = "userspace")]
    userspace: bool,
    /// Kernel domain: not available through sessions yet.
    #[arg(short = 'k', long = "kernel", conflicts_with = "userspace")]
    kernel: bool,
}

impl Domain {
    fn check(&self) -> Result<()> {
        if self.kernel {
            bail!("the kernel domain is not available in ltt sessions yet: use -u (user space)");
        }
        Ok(())
    }
}

/// Where an event rule or context goes: `-u`, `-s SESSION`, `-c CHANNEL`.
#[derive(Args, Debug)]
pub struct ChannelArgs {
    #[command(flatten)]
    domain: Domain,
    /// Session (default: the current one).
    #[arg(short, long, value_name = "NAME")]
    session: Option<String>,
    /// Channel (default: channel0, created if needed).
    #[arg(short, long, value_name = "NAME")]
    channel: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum SessionCommand {
    /// Create a tracing session (it becomes the current session).
    Create {
        /// Session name (default: auto-YYYYmmdd-HHMMSS).
        name: Option<String>,
        /// Where traces go (default: $HOME/ltt-traces/NAME-YYYYmmdd-HHMMSS).
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
    },
    /// Destroy a session, finishing its trace (stops it if active).
    Destroy {
        /// Session (default: the current one).
        name: Option<String>,
        /// Destroy every session.
        #[arg(short, long)]
        all: bool,
    },
    /// Make NAME the current session.
    SetSession { name: String },
    /// Create or re-enable a channel with its buffer settings.
    EnableChannel(EnableChannel),
    /// Disable a channel (before the session starts).
    DisableChannel {
        #[command(flatten)]
        domain: Domain,
        /// Session (default: the current one).
        #[arg(short, long, value_name = "NAME")]
        session: Option<String>,
        name: String,
    },
    /// Enable events by name or glob, optionally filtered.
    EnableEvent(EnableEvent),
    /// Disable event rules by name (or all of them with -a).
    DisableEvent {
        #[command(flatten)]
        at: ChannelArgs,
        /// Disable every rule of the channel.
        #[arg(short, long)]
        all_events: bool,
        /// Event rule names, comma-separated.
        #[arg(value_delimiter = ',', required_unless_present = "all_events")]
        names: Vec<String>,
    },
    /// Add context fields to a channel's events.
    AddContext {
        #[command(flatten)]
        at: ChannelArgs,
        /// Context type: vpid, vtid, procname, pthread_id, cpu_id, ip, vuid,
        /// veuid, vsuid, vgid, vegid, vsgid, vppid, cgroup_ns, ipc_ns, mnt_ns,
        /// net_ns, pid_ns, time_ns, user_ns, uts_ns, perf:thread:task-clock,
        /// perf:thread:page-fault, perf:thread:major-faults,
        /// perf:thread:minor-faults, perf:thread:context-switches,
        /// perf:thread:cpu-migrations, perf:thread:cpu-cycles,
        /// perf:thread:instructions. Repeat for several.
        #[arg(short = 't', long = "type", required = true, value_name = "TYPE")]
        types: Vec<String>,
    },
    /// Start tracing (default: the current session).
    Start { name: Option<String> },
    /// Stop tracing and flush the buffers to the trace.
    Stop { name: Option<String> },
    /// List sessions, one session's details, or (-u) the events of running apps.
    List {
        name: Option<String>,
        /// List the tracepoints of the running traced apps.
        #[arg(short = 'u', long = "userspace")]
        userspace: bool,
        /// With -u: the payload fields of each event too.
        #[arg(short = 'f', long = "fields", requires = "userspace")]
        fields: bool,
    },
    /// Show the current session.
    Status,
    /// Record only the processes with these ids (vpid, vuid, vgid).
    Track(Track),
    /// Stop recording the processes with these ids.
    Untrack(Track),
    /// Save sessions' configuration in LTTng's format (to
    /// ~/.ltt/sessions/NAME.lttng, which `lttng load` reads too).
    Save {
        name: Option<String>,
        #[arg(short, long)]
        all: bool,
        /// Directory to save into.
        #[arg(short, long, value_name = "DIR")]
        output_path: Option<PathBuf>,
        /// Overwrite existing files.
        #[arg(short, long)]
        force: bool,
    },
    /// Load saved sessions (all of them, or NAME), from `ltt save` or
    /// `lttng save` files (e.g. `-i ~/.lttng/sessions`); a session saved
    /// while tracing starts tracing.
    Load {
        name: Option<String>,
        /// File or directory to load from.
        #[arg(short, long, value_name = "PATH")]
        input_path: Option<PathBuf>,
        /// Replace existing sessions of the same name.
        #[arg(short, long)]
        force: bool,
    },
}

#[derive(Args, Debug)]
pub struct EnableChannel {
    #[command(flatten)]
    domain: Domain,
    /// Session (default: the current one).
    #[arg(short, long, value_name = "NAME")]
    session: Option<String>,
    /// Size of each per-CPU sub-buffer (power of two; suffixes k, M, G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    subbuf_size: Option<u32>,
    /// Sub-buffers per CPU (power of two).
    #[arg(long, value_name = "N")]
    num_subbuf: Option<u32>,
    /// Overwrite the oldest records when full (flight-recorder mode).
    #[arg(long, conflicts_with = "discard")]
    overwrite: bool,
    /// Discard new records when full (the default).
    #[arg(long)]
    discard: bool,
    /// Switch timer period in µs: close partly filled sub-buffers this
    /// often, so that slow streams reach the trace while tracing goes on.
    #[arg(long, value_name = "US")]
    switch_timer: Option<u64>,
    /// Read timer period in µs: the consumer looks for full sub-buffers
    /// this often instead of being woken by the writers (default: woken).
    #[arg(long, value_name = "US")]
    read_timer: Option<u64>,
    /// Monitor timer period in µs (kept with the session and saved; LTTng
    /// samples buffer usage with it for triggers, which ltt has not yet).
    #[arg(long, value_name = "US")]
    monitor_timer: Option<u64>,
    /// Let writers wait up to US µs (or `inf`) for room in a full buffer
    /// instead of discarding the event, in apps started with
    /// LTT_UST_ALLOW_BLOCKING=1 (discard mode only; default 0: never wait).
    #[arg(long, value_name = "US|inf", value_parser = parse_blocking)]
    blocking_timeout: Option<u64>,
    /// Per-user buffers (the default).
    #[arg(long)]
    buffers_uid: bool,
    /// Per-process buffers: one trace per traced process
    /// (`ust/pid/PROCNAME-PID-DATETIME/`).
    #[arg(long, conflicts_with = "buffers_uid")]
    buffers_pid: bool,
    /// Start a new trace file (`channel0_CPU_N`) before one grows past
    /// SIZE (suffixes k, M, G; at least the sub-buffer size).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    tracefile_size: Option<u32>,
    /// Keep at most N trace files per stream, replacing the oldest (needs
    /// --tracefile-size).
    #[arg(long, value_name = "N", requires = "tracefile_size", value_parser = clap::value_parser!(u32).range(1..))]
    tracefile_count: Option<u32>,
    /// Channel name.
    name: String,
}

#[derive(Args, Debug)]
pub struct Track {
    #[command(flatten)]
    domain: Domain,
    /// Session (default: the current one).
    #[arg(short, long, value_name = "NAME")]
    session: Option<String>,
    /// Every value of the given attributes (track: all processes again;
    /// untrack: none).
    #[arg(short, long)]
    all: bool,
    /// Process ids (in the app's PID namespace), comma-separated.
    #[arg(long, value_name = "PID", value_delimiter = ',', num_args = 0..)]
    vpid: Option<Vec<u32>>,
    /// Users, by id or name, comma-separated.
    #[arg(long, value_name = "USER", value_delimiter = ',', num_args = 0..)]
    vuid: Option<Vec<String>>,
    /// Groups, by id or name, comma-separated.
    #[arg(long, value_name = "GROUP", value_delimiter = ',', num_args = 0..)]
    vgid: Option<Vec<String>>,
}

#[derive(Args, Debug)]
pub struct EnableEvent {
    #[command(flatten)]
    at: ChannelArgs,
    /// Enable every event (`*`).
    #[arg(short, long)]
    all: bool,
    /// Record only events this LTTng filter expression accepts.
    #[arg(short, long, value_name = "EXPR")]
    filter: Option<String>,
    /// Event names excluded from the glob, comma-separated.
    #[arg(short = 'x', long, value_name = "LIST", value_delimiter = ',')]
    exclude: Vec<String>,
    /// Events of this log level or more severe (e.g. TRACE_WARNING).
    #[arg(long, value_name = "LEVEL", conflicts_with = "loglevel_only")]
    loglevel: Option<String>,
    /// Events of exactly this log level.
    #[arg(long, value_name = "LEVEL")]
    loglevel_only: Option<String>,
    /// Event names or globs, comma-separated.
    #[arg(value_delimiter = ',', required_unless_present = "all")]
    names: Vec<String>,
}

/// A blocking timeout: µs, or `inf` (`-1` as LTTng also takes it).
pub fn parse_blocking(s: &str) -> std::result::Result<u64, String> {
    match s {
        "inf" | "-1" => Ok(ltt_ust::proto::BLOCK_FOREVER),
        _ => s
            .parse::<u64>()
            .ok()
            .filter(|&us| us != ltt_ust::proto::BLOCK_FOREVER)
            .ok_or_else(|| format!("{s:?} is not a number of µs or `inf`")),
    }
}

/// Numbers as they are; names through `lookup` (users or groups).
fn ids(
    values: Option<Vec<String>>,
    what: &str,
    lookup: fn(&str) -> Option<u32>,
) -> Result<Option<Vec<u32>>> {
    values
        .map(|v| {
            v.iter()
                .map(|s| {
                    s.parse()
                        .ok()
                        .or_else(|| lookup(s))
                        .ok_or_else(|| anyhow::anyhow!("no {what} {s:?} (give a name or a number)"))
                })
                .collect()
        })
        .transpose()
}

fn loglevel(s: &str) -> Result<u8> {
    parse_loglevel(s).ok_or_else(|| {
        anyhow!(
            "unknown log level {s:?} (one of TRACE_{} or 0-14)",
            LOGLEVEL_NAMES.join(", TRACE_")
        )
    })
}

/// Where `ltt-sessiond` is: beside this program, else on `PATH`.
fn daemon_program() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("ltt-sessiond")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("ltt-sessiond"))
}

fn client() -> Result<Client> {
    let dir = control::daemon_dir().map_err(|e| anyhow!(e))?;
    Client::connect_or_spawn(&dir, &daemon_program()).map_err(|e| anyhow!(e))
}

fn call(req: Request) -> Result<Reply> {
    match client()?.call(&req).map_err(|e| anyhow!(e))? {
        Reply::Error { message } => bail!(message),
        r => Ok(r),
    }
}

fn absolute(p: PathBuf) -> Result<PathBuf> {
    Ok(if p.is_absolute() {
        p
    } else {
        std::env::current_dir()?.join(p)
    })
}

pub fn run(cmd: SessionCommand) -> Result<()> {
    let req = match cmd {
        SessionCommand::Create { name, output } => Request::Create {
            name,
            output: output.map(absolute).transpose()?,
        },
        SessionCommand::Destroy { name, all } => Request::Destroy { session: name, all },
        SessionCommand::SetSession { name } => Request::SetSession { name },
        SessionCommand::EnableChannel(c) => enable_channel(c)?,
        SessionCommand::DisableChannel {
            domain,
            session,
            name,
        } => {
            domain.check()?;
            Request::DisableChannel { session, name }
        }
        SessionCommand::EnableEvent(e) => return enable_event(e),
        SessionCommand::DisableEvent {
            at:
                ChannelArgs {
                    domain,
                    session,
                    channel,
                },
            all_events,
            names,
        } => {
            domain.check()?;
            if all_events {
                return print(call(Request::DisableEvent {
                    session,
                    channel,
                    pattern: None,
                })?);
            }
            for name in names {
                print(call(Request::DisableEvent {
                    session: session.clone(),
                    channel: channel.clone(),
                    pattern: Some(name),
                })?)?;
            }
            return Ok(());
        }
        SessionCommand::AddContext {
            at:
                ChannelArgs {
                    domain,
                    session,
                    channel,
                },
            types,
        } => {
            domain.check()?;
            Request::AddContext {
                session,
                channel,
                types,
            }
        }
        SessionCommand::Track(t) => return track(t, true),
        SessionCommand::Untrack(t) => return track(t, false),
        SessionCommand::Start { name } => Request::Start { session: name },
        SessionCommand::Stop { name } => Request::Stop { session: name },
        SessionCommand::List {
            userspace: true,
            fields,
            ..
        } => {
            return match call(Request::ListApps)? {
                Reply::Apps { apps } => {
                    print_apps(apps, fields);
                    Ok(())
                }
                other => print(other),
            };
        }
        SessionCommand::List { name: Some(n), .. } => Request::ShowSession { session: Some(n) },
        SessionCommand::List { name: None, .. } => Request::ListSessions,
        SessionCommand::Status => Request::ShowSession { session: None },
        SessionCommand::Save {
            name,
            all,
            output_path,
            force,
        } => Request::Save {
            session: name,
            all,
            output: output_path.map(absolute).transpose()?,
            force,
        },
        SessionCommand::Load {
            name,
            input_path,
            force,
        } => Request::Load {
            name,
            input: input_path.map(absolute).transpose()?,
            force,
        },
    };
    print(call(req)?)
}

fn track(t: Track, track: bool) -> Result<()> {
    t.domain.check()?;
    let attrs = [
        (ProcessAttr::Vpid, t.vpid),
        (
            ProcessAttr::Vuid,
            ids(t.vuid, "user", ltt_sessiond::sys::user_id)?,
        ),
        (
            ProcessAttr::Vgid,
            ids(t.vgid, "group", ltt_sessiond::sys::group_id)?,
        ),
    ];
    let mut any = false;
    for (attr, values) in attrs {
        let Some(values) = values else { continue };
        any = true;
        if values.is_empty() && !t.all {
            bail!("--{} needs values, or --all", attr.name());
        }
        print(call(Request::Track {
            session: t.session.clone(),
            attr,
            values,
            all: t.all,
            track,
        })?)?;
    }
    if !any {
        bail!("say which processes: --vpid, --vuid or --vgid (with values or --all)");
    }
    Ok(())
}

fn enable_channel(c: EnableChannel) -> Result<Request> {
    c.domain.check()?;
    let mut spec = ChannelSpec::new(c.name);
    spec.subbuf_size = c.subbuf_size.unwrap_or(spec.subbuf_size);
    spec.num_subbuf = c.num_subbuf.unwrap_or(spec.num_subbuf);
    spec.overwrite = c.overwrite;
    spec.buffers_pid = c.buffers_pid;
    spec.tracefile_size = c.tracefile_size.map(u64::from);
    spec.tracefile_count = c.tracefile_count;
    spec.switch_timer_us = c.switch_timer.unwrap_or(0);
    spec.read_timer_us = c.read_timer.unwrap_or(0);
    spec.monitor_timer_us = c.monitor_timer.unwrap_or(spec.monitor_timer_us);
    spec.blocking_timeout_us = c.blocking_timeout.unwrap_or(0);
    Ok(Request::EnableChannel {
        session: c.session,
        spec,
    })
}

fn enable_event(e: EnableEvent) -> Result<()> {
    e.at.domain.check()?;
    let level = match (&e.loglevel, &e.loglevel_only) {
        (Some(l), _) => LogLevelRule::AtLeast(loglevel(l)?),
        (_, Some(l)) => LogLevelRule::Only(loglevel(l)?),
        _ => LogLevelRule::All,
    };
    if let Some(f) = &e.filter {
        // The daemon checks it too; checking here gives the caret display.
        ltt_sessiond::parse_filter(f).map_err(|e| anyhow!(e))?;
    }
    let names = if e.all {
        vec!["*".to_string()]
    } else {
        e.names
    };
    if !e.exclude.is_empty() && !names.iter().all(|n| n.ends_with('*')) {
        bail!("--exclude applies to globs ending in `*` only");
    }
    for pattern in names {
        print(call(Request::EnableEvent {
            session: e.at.session.clone(),
            channel: e.at.channel.clone(),
            rule: EventRule {
                exclude: e.exclude.clone(),
                loglevel: level,
                filter: e.filter.clone(),
                ..EventRule::new(pattern)
            },
        })?)?;
    }
    Ok(())
}

fn print(reply: Reply) -> Result<()> {
    match reply {
        Reply::Done { message } => println!("{message}"),
        Reply::Error { message } => bail!(message),
        Reply::Sessions { sessions } => print_sessions(&sessions),
        Reply::Session { session } => print_session(&session),
        Reply::Apps { apps } => print_apps(apps, false),
    }
    Ok(())
}

/// `list -u` (`-f`: with each event's fields).
fn print_apps(apps: Vec<AppView>, show_fields: bool) {
    println!("UST events:\n-------------");
    if apps.is_empty() {
        println!("None");
    }
    for app in apps {
        println!("\nPID: {} - Name: {}", app.pid, app.procname);
        for ev in app.events {
            let level = ev.loglevel;
            let lname = LOGLEVEL_NAMES.get(level as usize).unwrap_or(&"?");
            println!(
                "      {} (loglevel: TRACE_{lname} ({level})) (type: tracepoint)",
                ev.name
            );
            if show_fields {
                for (name, kind) in &ev.fields {
                    println!("        field: {name} ({kind})");
                }
            }
        }
    }
    println!();
}

fn print_sessions(sessions: &[SessionInfo]) {
    if sessions.is_empty() {
        println!("Currently no available tracing session");
        return;
    }
    println!("Available tracing sessions:");
    for (i, s) in sessions.iter().enumerate() {
        let state = if s.active { " [active]" } else { " [inactive]" };
        println!("  {}) {} ({}){state}", i + 1, s.name, s.output.display());
    }
    println!("\nUse ltt list <session_name> for more details");
}

fn print_session(s: &SessionInfo) {
    let state = if s.active { "active" } else { "inactive" };
    println!("Tracing session {}: [{state}]", s.name);
    println!("    Trace output: {}\n", s.output.display());
    let shown = |set: &Option<Vec<u32>>| match set {
        None => "all".to_string(),
        Some(v) if v.is_empty() => "none".to_string(),
        Some(v) => v.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
    };
    let t = &s.trackers;
    println!(
        "    Tracked processes: vpid {}; vuid {}; vgid {}\n",
        shown(&t.vpid),
        shown(&t.vuid),
        shown(&t.vgid)
    );
    if s.channels.is_empty() {
        return;
    }
    println!("=== Domain: User space ===\n");
    let scheme = if s.channels.iter().any(|c| c.spec.buffers_pid) {
        "per-process"
    } else {
        "per-user"
    };
    println!("Buffering scheme: {scheme}\n");
    println!("Channels:\n-------------");
    for c in &s.channels {
        let timer = |us: u64| {
            if us == 0 {
                "inactive".to_string()
            } else {
                format!("{us} µs")
            }
        };
        let enabled = if c.enabled { "enabled" } else { "disabled" };
        println!("- {}: [{enabled}]\n", c.spec.name);
        println!("    Attributes:");
        let mode = if c.spec.overwrite {
            "overwrite"
        } else {
            "discard"
        };
        println!("      Event-loss mode:  {mode}");
        println!("      Sub-buffer size:  {} bytes", c.spec.subbuf_size);
        println!("      Sub-buffer count: {}", c.spec.num_subbuf);
        println!("      Switch timer:     {}", timer(c.spec.switch_timer_us));
        println!("      Read timer:       {}", timer(c.spec.read_timer_us));
        println!("      Monitor timer:    {}", timer(c.spec.monitor_timer_us));
        match c.spec.blocking_timeout_us {
            ltt_ust::proto::BLOCK_FOREVER => println!("      Blocking timeout: infinite"),
            us => println!("      Blocking timeout: {us} µs"),
        }
        match c.spec.tracefile_count {
            Some(n) => println!("      Trace file count: {n} per stream"),
            None => println!("      Trace file count: unlimited"),
        }
        match c.spec.tracefile_size {
            Some(n) => println!("      Trace file size:  {n} bytes"),
            None => println!("      Trace file size:  unlimited"),
        }
        if let Some(d) = c.discarded {
            println!("\n    Statistics:\n      Discarded events: {d}");
        }
        if !c.contexts.is_empty() {
            println!("\n    Contexts:\n      {}", c.contexts.join(", "));
        }
        println!("\n    Event rules:");
        if c.rules.is_empty() {
            println!("      None");
        }
        for r in &c.rules {
            let mut line = format!("      {}", r.pattern);
            if !r.exclude.is_empty() {
                line.push_str(&format!(" [exclusions: {}]", r.exclude.join(",")));
            }
            match r.loglevel {
                LogLevelRule::All => {}
                LogLevelRule::AtLeast(l) => line.push_str(&format!(
                    " (loglevel <= TRACE_{})",
                    LOGLEVEL_NAMES[l as usize]
                )),
                LogLevelRule::Only(l) => line.push_str(&format!(
                    " (loglevel == TRACE_{})",
                    LOGLEVEL_NAMES[l as usize]
                )),
            }
            line.push_str(" (type: tracepoint)");
            line.push_str(if r.enabled {
                " [enabled]"
            } else {
                " [disabled]"
            });
            if let Some(f) = &r.filter {
                line.push_str(&format!(" [filter: {f}]"));
            }
            println!("{line}");
        }
        println!();
    }
}

/// `ltt view` without a path shows the current session's trace; `ltt view
/// NAME` the trace of session NAME when NAME is no path.
pub fn resolve_view_paths(paths: &mut Vec<PathBuf>) -> Result<()> {
    let session = match paths.as_slice() {
        [] => None,
        [one] if !Path::new(one).exists() && !one.to_string_lossy().contains('/') => {
            Some(one.to_string_lossy().into_owned())
        }
        _ => return Ok(()),
    };
    let dir = control::daemon_dir().map_err(|e| anyhow!(e))?;
    let no_session =
        || anyhow!("no trace given and no current session (ltt view PATH, or ltt create first)");
    let mut client = Client::connect(&dir).map_err(|_| no_session())?;
    let reply = client
        .call(&Request::ShowSession {
            session: session.clone(),
        })
        .map_err(|e| anyhow!(e))?;
    match reply {
        Reply::Session { session } => {
            *paths = vec![session.output];
            Ok(())
        }
        Reply::Error { message } if session.is_some() => {
            bail!(
                "{}: no such trace or session ({message})",
                paths[0].display()
            )
        }
        _ => Err(no_session()),
    }
}
