use ltt_ctf::metadata::*;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    PathBuf::from(std::env::var("LTT_FIXTURES").unwrap_or("/work/shared/fixtures".into()))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { walk(&p, out) } else if p.file_name().unwrap() == "metadata" { out.push(p) }
    }
}

#[test]
fn sweep() {
    let mut all = vec![];
    walk(&fixtures(), &mut all);
    all.sort();
    for p in all {
        let b = std::fs::read(&p).unwrap();
        match read_metadata(&b) {
            Ok(m) => println!("OK   {} ({} events)", p.display(), m.events.len()),
            Err(e) => println!("FAIL {}: {e}", p.display()),
        }
    }
}

#[test]
fn dump() {
    let t = std::fs::read_to_string(fixtures().join("lttng/basic.metadata.tsdl.txt")).unwrap();
    let m = parse(&t).unwrap();
    println!("{:#?}", m.streams[0].event_header);
    println!("{:#?}", &m.events[0].fields.as_ref().unwrap().members[18..]);
    println!("{:?} {:?}", m.clocks, m.env);
}
