//! Finding traces on disk the way babeltrace2's `src.ctf.fs` does: every
//! directory holding a `metadata` file is a trace; directories whose
//! metadata share a UUID (session rotation chunks, snapshots) form one
//! logical trace; data files with the same stream class and instance id
//! form one logical stream, read in time order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::compiled::CompiledTrace;
use crate::metadata::{self, Metadata};
use crate::stream::{Item, PacketRef, StreamReader};
use crate::Error;

/// A stream made of one or more data files.
#[derive(Debug, Clone)]
pub struct LogicalStream {
    pub stream_class_id: u64,
    pub instance_id: Option<u64>,
    /// Files in reading order.
    pub files: Vec<PathBuf>,
    /// For a stream spread over several files: its packets in time order,
    /// duplicates (overlapping snapshots) removed.
    pub packets: Option<Vec<PacketRef>>,
}

/// One trace: one or more directories sharing a UUID.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Trace directories, in the order given / found.
    pub dirs: Vec<PathBuf>,
    pub compiled: Arc<CompiledTrace>,
    pub streams: Vec<LogicalStream>,
}

impl Trace {
    pub fn metadata(&self) -> &Metadata {
        &self.compiled.metadata
    }
}

/// Every directory at or below `path` that holds a `metadata` file, sorted.
pub fn find_trace_dirs(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut found = Vec::new();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        walk(path, &mut found)?;
    }
    found.sort();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Error> {
    if dir.join("metadata").is_file() {
        found.push(dir.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut subdirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for d in subdirs {
        walk(&d, found)?;
    }
    Ok(())
}

/// Reads and parses the metadata of a trace directory.
pub fn read_metadata(dir: &Path) -> Result<Metadata, Error> {
    let path = dir.join("metadata");
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    metadata::read_metadata(&bytes).map_err(|error| Error::Metadata { path, error })
}

/// The data files of a trace directory: non-empty regular files not named
/// `metadata` and not hidden, sorted by name.
pub fn data_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name == "metadata" || name.starts_with('.') {
            continue;
        }
        let meta = e.metadata().map_err(|err| Error::io(&e.path(), err))?;
        if meta.is_file() && meta.len() > 0 {
            files.push(e.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Opens one trace made of `dirs` (one directory, or several sharing a
/// UUID: session rotation chunks, snapshots).
pub fn open_trace(dirs: &[PathBuf]) -> Result<Trace, Error> {
    let mut best: Option<(PathBuf, Metadata)> = None;
    for dir in dirs {
        let m = read_metadata(dir)?;
        if let Some((first, fm)) = &best {
            if fm.trace.uuid != m.trace.uuid || m.trace.uuid.is_none() {
                return Err(Error::trace(
                    dir,
                    format!(
                        "not the same trace as {} (trace UUIDs differ): open them separately",
                        first.display()
                    ),
                ));
            }
        }
        // Metadata only grows during tracing: the largest document declares
        // every class the chunks use.
        let larger = best.as_ref().is_none_or(|(_, b)| {
            (m.events.len(), m.streams.len()) > (b.events.len(), b.streams.len())
        });
        if larger {
            best = Some((dir.clone(), m));
        }
    }
    let Some((meta_dir, metadata)) = best else {
        return Err(Error::trace(Path::new("."), "no trace directory given"));
    };
    let compiled = CompiledTrace::new(metadata)
        .map_err(|e| Error::trace(&meta_dir.join("metadata"), e.to_string()))?;
    let compiled = Arc::new(compiled);
    let mut files = Vec::new();
    for d in dirs {
        files.extend(data_files(d)?);
    }
    let streams = group_streams(&compiled, files)?;
    Ok(Trace {
        dirs: dirs.to_vec(),
        compiled,
        streams,
    })
}

/// The packets of a stream's files in time order (by beginning time, then
/// file order), each identical packet once: babeltrace2's merged index.
fn packet_plan(trace: &Arc<CompiledTrace>, files: &[PathBuf]) -> Result<Vec<PacketRef>, Error> {
    let mut packets = Vec::new();
    for (i, f) in files.iter().enumerate() {
        // The LTTng index when valid, else a scan of the packet headers.
        match crate::index::read_index(f, i) {
            Some(p) => packets.extend(p),
            None => {
                let mut scanned = StreamReader::new(Arc::clone(trace), vec![f.clone()]).scan()?;
                scanned.iter_mut().for_each(|p| p.file = i);
                packets.extend(scanned);
            }
        }
    }
    packets.sort_by_key(|p| (p.timestamp_begin, p.file, p.offset));
    packets.dedup_by(|b, a| {
        a.packet_size == b.packet_size
            && a.timestamp_begin == b.timestamp_begin
            && a.timestamp_end == b.timestamp_end
            && a.seq_num == b.seq_num
    });
    Ok(packets)
}

/// Groups data files into logical streams by (stream class, instance id),
/// each ordered by its first packet's beginning time.
fn group_streams(
    trace: &Arc<CompiledTrace>,
    files: Vec<PathBuf>,
) -> Result<Vec<LogicalStream>, Error> {
    struct First {
        file: PathBuf,
        class: u64,
        instance: Option<u64>,
        begin: Option<u64>,
    }
    let mut firsts = Vec::with_capacity(files.len());
    for file in files {
        let mut r = StreamReader::new(Arc::clone(trace), vec![file.clone()]);
        match r.next_item()? {
            Item::PacketBegin => {
                let p = r.packet();
                firsts.push(First {
                    class: trace.streams[p.stream_class].id,
                    instance: p.stream_instance_id,
                    begin: p.timestamp_begin,
                    file,
                });
            }
            _ => continue,
        }
    }
    let mut keyed: BTreeMap<(u64, u64), Vec<First>> = BTreeMap::new();
    let mut alone = Vec::new();
    for f in firsts {
        match f.instance {
            Some(i) => keyed.entry((f.class, i)).or_default().push(f),
            None => alone.push(vec![f]),
        }
    }
    let mut streams = Vec::new();
    for mut group in keyed.into_values().chain(alone) {
        group.sort_by(|a, b| a.begin.cmp(&b.begin).then_with(|| a.file.cmp(&b.file)));
        let files: Vec<PathBuf> = group.iter().map(|f| f.file.clone()).collect();
        let packets = if files.len() > 1 {
            Some(packet_plan(trace, &files)?)
        } else {
            None
        };
        streams.push(LogicalStream {
            stream_class_id: group[0].class,
            instance_id: group[0].instance,
            files,
            packets,
        });
    }
    streams.sort_by(|a, b| a.files[0].cmp(&b.files[0]));
    Ok(streams)
}
