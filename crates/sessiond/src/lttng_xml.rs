//! Saved sessions in LTTng's own format (`lttng save` / `lttng load`
//! files, `NAME.lttng`): what `ltt save` writes, `lttng load` reads, and
//! the other way round. Only the user-space domain is recorded by ltt: a
//! file whose kernel or agent domains have channels is refused, with the
//! reason.

use std::fmt::Display;
use std::path::PathBuf;

use ltt_ust::Context;
use roxmltree::{Document, Node};

use crate::control::{ChannelInfo, ChannelSpec, SessionInfo, Trackers};
use crate::rules::{EventRule, LogLevelRule};

/// The file extension LTTng gives saved sessions.
pub const EXTENSION: &str = "lttng";

type Result<T> = std::result::Result<T, String>;

/// Indented XML, tab per level as LTTng writes it.
struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn indent(&mut self) {
        self.out.extend(std::iter::repeat_n('\t', self.depth));
    }

    fn open(&mut self, tag: &str) {
        self.indent();
        self.out.push_str(&format!("<{tag}>\n"));
        self.depth += 1;
    }

    fn close(&mut self, tag: &str) {
        self.depth -= 1;
        self.indent();
        self.out.push_str(&format!("</{tag}>\n"));
    }

    fn leaf(&mut self, tag: &str, value: impl Display) {
        self.indent();
        let v = escape(&value.to_string());
        self.out.push_str(&format!("<{tag}>{v}</{tag}>\n"));
    }

    fn empty(&mut self, tag: &str) {
        self.indent();
        self.out.push_str(&format!("<{tag}/>\n"));
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The `lttng save` document of `sessions`.
pub fn write(sessions: &[SessionInfo]) -> String {
    let mut x = Xml {
        out: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".into(),
        depth: 0,
    };
    x.open("sessions");
    for s in sessions {
        x.open("session");
        x.leaf("name", &s.name);
        x.open("domains");
        x.open("domain");
        x.leaf("type", "UST");
        let per_pid = s.channels.iter().any(|c| c.spec.buffers_pid);
        x.leaf("buffer_type", if per_pid { "PER_PID" } else { "PER_UID" });
        if s.channels.is_empty() {
            x.empty("channels");
        } else {
            x.open("channels");
            for c in &s.channels {
                write_channel(&mut x, c);
            }
            x.close("channels");
        }
        write_trackers(&mut x, &s.trackers);
        x.close("domain");
        x.close("domains");
        x.leaf("started", s.active);
        x.open("output");
        x.open("consumer_output");
        x.leaf("enabled", true);
        x.open("destination");
        x.leaf("path", s.output.display());
        x.close("destination");
        x.close("consumer_output");
        x.close("output");
        x.close("session");
    }
    x.close("sessions");
    x.out
}

fn write_channel(x: &mut Xml, c: &ChannelInfo) {
    let s = &c.spec;
    x.open("channel");
    x.leaf("name", &s.name);
    x.leaf("enabled", c.enabled);
    x.leaf(
        "overwrite_mode",
        if s.overwrite { "OVERWRITE" } else { "DISCARD" },
    );
    x.leaf("subbuffer_size", s.subbuf_size);
    x.leaf("subbuffer_count", s.num_subbuf);
    x.leaf("switch_timer_interval", s.switch_timer_us);
    x.leaf("read_timer_interval", s.read_timer_us);
    x.leaf("output_type", "MMAP");
    match s.blocking_timeout_us {
        ltt_ust::proto::BLOCK_FOREVER => x.leaf("blocking_timeout", -1),
        us => x.leaf("blocking_timeout", us),
    }
    x.leaf("monitor_timer_interval", s.monitor_timer_us);
    x.leaf("tracefile_size", s.tracefile_size.unwrap_or(0));
    x.leaf("tracefile_count", s.tracefile_count.unwrap_or(0));
    x.leaf("live_timer_interval", 0);
    if c.rules.is_empty() {
        x.empty("events");
    } else {
        x.open("events");
        for r in &c.rules {
            write_event(x, r);
        }
        x.close("events");
    }
    if c.contexts.is_empty() {
        x.empty("contexts");
    } else {
        x.open("contexts");
        for ctx in c.contexts.iter().filter_map(|n| Context::from_name(n)) {
            write_context(x, ctx);
        }
        x.close("contexts");
    }
    x.close("channel");
}

fn write_event(x: &mut Xml, r: &EventRule) {
    x.open("event");
    x.leaf("name", &r.pattern);
    x.leaf("enabled", r.enabled);
    x.leaf("type", "TRACEPOINT");
    match r.loglevel {
        LogLevelRule::All => x.leaf("loglevel_type", "ALL"),
        LogLevelRule::AtLeast(l) => {
            x.leaf("loglevel_type", "RANGE");
            x.leaf("loglevel", l);
        }
        LogLevelRule::Only(l) => {
            x.leaf("loglevel_type", "SINGLE");
            x.leaf("loglevel", l);
        }
    }
    if let Some(f) = &r.filter {
        x.leaf("filter", f);
    }
    if !r.exclude.is_empty() {
        x.open("exclusions");
        for e in &r.exclude {
            x.leaf("exclusion", e);
        }
        x.close("exclusions");
    }
    x.close("event");
}

/// LTTng's name of a perf context: its field name, `perf_thread_...`.
fn perf_name(c: Context) -> String {
    c.field_name().trim_start_matches('_').to_string()
}

fn write_context(x: &mut Xml, c: Context) {
    x.open("context");
    match c.perf() {
        Some((ty, config)) => {
            x.open("perf");
            x.leaf("type", ty);
            x.leaf("config", config);
            x.leaf("name", perf_name(c));
            x.close("perf");
        }
        None => x.leaf("type", c.name().to_ascii_uppercase()),
    }
    x.close("context");
}

fn write_trackers(x: &mut Xml, t: &Trackers) {
    let sets = [("vpid", &t.vpid), ("vuid", &t.vuid), ("vgid", &t.vgid)];
    if sets.iter().all(|(_, s)| s.is_none()) {
        return;
    }
    x.open("process_attr_trackers");
    for (attr, set) in sets {
        let Some(values) = set else { continue };
        x.open(&format!("{attr}_process_attr_tracker"));
        if values.is_empty() {
            x.empty("process_attr_values");
        } else {
            x.open("process_attr_values");
            for v in values {
                x.open(attr);
                x.leaf("id", v);
                x.close(attr);
            }
            x.close("process_attr_values");
        }
        x.close(&format!("{attr}_process_attr_tracker"));
    }
    x.close("process_attr_trackers");
}

/// The sessions of an `lttng save` document; `default_output` gives the
/// output of a session saved without one.
pub fn read(text: &str, default_output: impl Fn(&str) -> PathBuf) -> Result<Vec<SessionInfo>> {
    let doc = Document::parse(text).map_err(|e| format!("not an LTTng session file: {e}"))?;
    let root = doc.root_element();
    if !root.has_tag_name("sessions") {
        return Err(format!(
            "not an LTTng session file: <{}> instead of <sessions>",
            root.tag_name().name()
        ));
    }
    elements(root, "session")
        .map(|s| {
            let name = text_of(s, "name")?;
            read_session(s, &name, &default_output).map_err(|e| format!("session {name}: {e}"))
        })
        .collect()
}

fn read_session(
    s: Node<'_, '_>,
    name: &str,
    default_output: &impl Fn(&str) -> PathBuf,
) -> Result<SessionInfo> {
    let mut info = SessionInfo {
        name: name.to_string(),
        output: default_output(name),
        active: child(s, "started").is_some_and(|n| n.text() == Some("true")),
        channels: Vec::new(),
        trackers: Trackers::default(),
    };
    if let Some(path) = path_at(s, &["output", "consumer_output", "destination", "path"]) {
        info.output = PathBuf::from(path.text().unwrap_or_default().trim());
    } else if path_at(
        s,
        &["output", "consumer_output", "destination", "net_output"],
    )
    .is_some()
    {
        return Err("network outputs are not supported (a local path is)".into());
    }
    for d in child(s, "domains")
        .into_iter()
        .flat_map(|d| elements(d, "domain"))
    {
        let ty = text_of(d, "type")?;
        let channels: Vec<Node> = child(d, "channels")
            .into_iter()
            .flat_map(|c| elements(c, "channel"))
            .collect();
        if ty != "UST" {
            if channels.is_empty() {
                continue;
            }
            return Err(format!(
                "its {ty} domain has channels: ltt sessions record the user-space domain only"
            ));
        }
        let per_pid = match text_of(d, "buffer_type")?.as_str() {
            "PER_UID" => false,
            "PER_PID" => true,
            other => return Err(format!("unknown buffer type {other}")),
        };
        for c in channels {
            let mut ch = read_channel(c).map_err(|e| {
                let n = text_of(c, "name").unwrap_or_default();
                format!("channel {n}: {e}")
            })?;
            ch.spec.buffers_pid = per_pid;
            info.channels.push(ch);
        }
        info.trackers = read_trackers(d)?;
    }
    Ok(info)
}

fn read_channel(c: Node<'_, '_>) -> Result<ChannelInfo> {
    let mut spec = ChannelSpec::new(text_of(c, "name")?);
    spec.overwrite = match text_of(c, "overwrite_mode")?.as_str() {
        "OVERWRITE" => true,
        "DISCARD" => false,
        other => return Err(format!("unknown overwrite mode {other}")),
    };
    spec.subbuf_size = number(c, "subbuffer_size")?;
    spec.num_subbuf = number(c, "subbuffer_count")?;
    spec.switch_timer_us = number(c, "switch_timer_interval")?;
    spec.read_timer_us = number(c, "read_timer_interval")?;
    if child(c, "monitor_timer_interval").is_some() {
        spec.monitor_timer_us = number(c, "monitor_timer_interval")?;
    }
    let size: u64 = number(c, "tracefile_size")?;
    let count: u32 = number(c, "tracefile_count")?;
    spec.tracefile_size = (size > 0).then_some(size);
    spec.tracefile_count = (count > 0).then_some(count);
    if child(c, "blocking_timeout").is_some() {
        spec.blocking_timeout_us = match number::<i64>(c, "blocking_timeout")? {
            -1 => ltt_ust::proto::BLOCK_FOREVER,
            us => u64::try_from(us).map_err(|_| format!("bad blocking timeout {us}"))?,
        };
    }
    let rules = child(c, "events")
        .into_iter()
        .flat_map(|e| elements(e, "event"))
        .map(|e| {
            read_event(e).map_err(|err| {
                let n = text_of(e, "name").unwrap_or_default();
                format!("event {n}: {err}")
            })
        })
        .collect::<Result<_>>()?;
    let contexts = child(c, "contexts")
        .into_iter()
        .flat_map(|e| elements(e, "context"))
        .map(|n| read_context(n).map(|c| c.name().to_string()))
        .collect::<Result<_>>()?;
    Ok(ChannelInfo {
        spec,
        enabled: flag(c, "enabled")?,
        rules,
        contexts,
        discarded: None,
    })
}

fn read_event(e: Node<'_, '_>) -> Result<EventRule> {
    let ty = text_of(e, "type")?;
    if ty != "TRACEPOINT" {
        return Err(format!("{ty} events are not supported (tracepoints are)"));
    }
    let mut rule = EventRule::new(text_of(e, "name")?);
    rule.enabled = flag(e, "enabled")?;
    rule.loglevel = match child(e, "loglevel_type").and_then(|n| n.text()) {
        None | Some("ALL") => LogLevelRule::All,
        Some("RANGE") => LogLevelRule::AtLeast(loglevel(e)?),
        Some("SINGLE") => LogLevelRule::Only(loglevel(e)?),
        Some(other) => return Err(format!("unknown log level type {other}")),
    };
    rule.filter = child(e, "filter")
        .and_then(|n| n.text())
        .map(str::to_string);
    rule.exclude = child(e, "exclusions")
        .into_iter()
        .flat_map(|x| elements(x, "exclusion"))
        .map(|x| x.text().unwrap_or_default().to_string())
        .collect();
    Ok(rule)
}

fn loglevel(e: Node<'_, '_>) -> Result<u8> {
    let l: u8 = number(e, "loglevel")?;
    if l > 14 {
        return Err(format!("log level {l} is not one of LTTng's 0 to 14"));
    }
    Ok(l)
}

fn read_context(n: Node<'_, '_>) -> Result<Context> {
    if let Some(perf) = child(n, "perf") {
        let name = text_of(perf, "name").unwrap_or_default();
        let code = (number::<u32>(perf, "type")?, number::<u64>(perf, "config")?);
        return Context::names()
            .filter_map(Context::from_name)
            .find(|c| perf_name(*c) == name || c.perf() == Some(code))
            .ok_or_else(|| {
                format!(
                    "perf counter {name} (type {}, config {}) is not supported",
                    code.0, code.1
                )
            });
    }
    if child(n, "app").is_some() {
        return Err("application contexts ($app.*) are not supported".into());
    }
    let ty = text_of(n, "type")?;
    Context::from_name(&ty.to_ascii_lowercase())
        .ok_or_else(|| format!("context {ty} is not a user-space context ltt records"))
}

/// The trackers of a domain: LTTng 2.12+'s `process_attr_trackers`, or
/// 2.11's `trackers` (process ids only).
fn read_trackers(d: Node<'_, '_>) -> Result<Trackers> {
    let mut t = Trackers::default();
    if let Some(all) = child(d, "process_attr_trackers") {
        for (attr, set, lookup) in [
            ("vpid", &mut t.vpid, None),
            (
                "vuid",
                &mut t.vuid,
                Some(crate::sys::user_id as fn(&str) -> Option<u32>),
            ),
            (
                "vgid",
                &mut t.vgid,
                Some(crate::sys::group_id as fn(&str) -> Option<u32>),
            ),
        ] {
            let Some(tracker) = child(all, &format!("{attr}_process_attr_tracker")) else {
                continue;
            };
            let values = child(tracker, "process_attr_values")
                .into_iter()
                .flat_map(|v| elements(v, attr))
                .map(|v| match (child(v, "id"), child(v, "name"), lookup) {
                    (Some(_), _, _) => number(v, "id"),
                    (None, Some(n), Some(lookup)) => {
                        let n = n.text().unwrap_or_default();
                        lookup(n).ok_or_else(|| format!("{attr} tracker: no such name {n}"))
                    }
                    _ => Err(format!("{attr} tracker: a value without <id>")),
                })
                .collect::<Result<_>>()?;
            *set = Some(values);
        }
    } else if let Some(pids) = path_at(d, &["trackers", "pid_tracker", "targets"]) {
        let values = elements(pids, "pid_target")
            .map(|p| number(p, "pid"))
            .collect::<Result<_>>()?;
        t.vpid = Some(values);
    }
    Ok(t)
}

fn elements<'a, 'i>(
    n: Node<'a, 'i>,
    tag: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> + use<'a, 'i> {
    n.children().filter(move |c| c.has_tag_name(tag))
}

fn child<'a, 'i>(n: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(tag))
}

fn path_at<'a, 'i>(n: Node<'a, 'i>, tags: &[&str]) -> Option<Node<'a, 'i>> {
    tags.iter().try_fold(n, |n, t| child(n, t))
}

fn text_of(n: Node<'_, '_>, tag: &str) -> Result<String> {
    child(n, tag)
        .map(|c| c.text().unwrap_or_default().trim().to_string())
        .ok_or_else(|| format!("<{}> has no <{tag}>", n.tag_name().name()))
}

fn number<T: std::str::FromStr>(n: Node<'_, '_>, tag: &str) -> Result<T> {
    let t = text_of(n, tag)?;
    t.parse()
        .map_err(|_| format!("<{tag}> {t:?} is not a valid number"))
}

fn flag(n: Node<'_, '_>, tag: &str) -> Result<bool> {
    match text_of(n, tag)?.as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(format!("<{tag}> {other:?} is not true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(name: &str) -> PathBuf {
        PathBuf::from(format!("/default/{name}"))
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let mut ch = ChannelInfo {
            spec: ChannelSpec::new("chA"),
            enabled: true,
            rules: vec![EventRule::new("demo:*"), EventRule::new("a:<b>&\"c\"")],
            contexts: vec![
                "vpid".into(),
                "perf:thread:page-fault".into(),
                "net_ns".into(),
            ],
            discarded: None,
        };
        ch.spec.overwrite = true;
        ch.spec.tracefile_size = Some(1 << 20);
        ch.spec.tracefile_count = Some(3);
        ch.spec.read_timer_us = 2000;
        ch.rules[0].exclude = vec!["demo:x".into(), "demo:y*".into()];
        ch.rules[0].loglevel = LogLevelRule::AtLeast(6);
        ch.rules[1].loglevel = LogLevelRule::Only(4);
        ch.rules[1].filter = Some("v < 10 && s == \"<x>\"".into());
        ch.rules[1].enabled = false;
        let mut off = ChannelInfo {
            spec: ChannelSpec::new("off"),
            enabled: false,
            rules: Vec::new(),
            contexts: Vec::new(),
            discarded: None,
        };
        off.spec.subbuf_size = 8192;
        off.spec.blocking_timeout_us = ltt_ust::proto::BLOCK_FOREVER;
        let info = SessionInfo {
            name: "s".into(),
            output: "/tmp/x y".into(),
            active: true,
            channels: vec![ch, off],
            trackers: Trackers {
                vpid: Some(vec![1, 2]),
                vuid: Some(Vec::new()),
                vgid: None,
            },
        };
        let text = write(std::slice::from_ref(&info));
        assert_eq!(
            read(&text, out).unwrap(),
            std::slice::from_ref(&info),
            "{text}"
        );
        // Per-process buffers are the domain's, as LTTng saves them.
        let mut per_pid = info;
        per_pid
            .channels
            .iter_mut()
            .for_each(|c| c.spec.buffers_pid = true);
        let text = write(std::slice::from_ref(&per_pid));
        assert!(text.contains("<buffer_type>PER_PID</buffer_type>"));
        assert_eq!(read(&text, out).unwrap(), [per_pid]);
    }

    /// Every cut and every one-byte change of a real `lttng save` file
    /// reads as sessions or as an error, never a panic.
    #[test]
    fn damaged_files_never_panic() {
        let good = include_str!("../tests/data/lttng-2.13.9-saved.lttng");
        assert_eq!(read(good, out).unwrap().len(), 1);
        for cut in 0..good.len() {
            if good.is_char_boundary(cut) {
                let _ = read(&good[..cut], out);
            }
        }
        let bytes = good.as_bytes();
        for at in (0..bytes.len()).step_by(7) {
            for b in [b'<', b'>', b'/', b'9', b'-', b'x'] {
                let mut v = bytes.to_vec();
                v[at] = b;
                if let Ok(text) = std::str::from_utf8(&v) {
                    let _ = read(text, out);
                }
            }
        }
    }

    #[test]
    fn bad_files_get_a_reason() {
        let cases = [
            ("<x/>", "instead of <sessions>"),
            ("<sessions><session><name>a", "not an LTTng session file"),
            (
                "<sessions><session><name>a</name><domains><domain><type>KERNEL</type><buffer_type>GLOBAL</buffer_type><channels><channel><name>c</name></channel></channels></domain></domains></session></sessions>",
                "session a: its KERNEL domain has channels",
            ),
            (
                "<sessions><session><name>a</name><domains><domain><type>UST</type><buffer_type>PER_UID</buffer_type><channels><channel><name>c</name><enabled>true</enabled><overwrite_mode>DISCARD</overwrite_mode><subbuffer_size>big</subbuffer_size></channel></channels></domain></domains></session></sessions>",
                "channel c: <subbuffer_size> \"big\" is not a valid number",
            ),
        ];
        for (text, why) in cases {
            let e = read(text, out).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
        // No output: the default one.
        let s = read(
            "<sessions><session><name>n</name></session></sessions>",
            out,
        )
        .unwrap();
        assert_eq!(s[0].output, PathBuf::from("/default/n"));
    }
}
