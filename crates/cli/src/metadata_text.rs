//! `-o ctf-metadata`: print a trace's metadata text, as `babeltrace2
//! --output-format=ctf-metadata` does: packetized metadata decoded, the
//! text unchanged and not checked (a reader of this output may be looking
//! for what is wrong with it).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ltt_ctf::metadata::{decode_packetized, is_packetized};

/// Print the metadata of the one trace directory in `paths`.
pub fn print(paths: &[PathBuf]) -> Result<()> {
    let [dir] = paths else {
        bail!("-o ctf-metadata takes exactly one trace directory");
    };
    let path = dir.join("metadata");
    let bytes = std::fs::read(&path)
        .with_context(|| format!("cannot read the metadata of a trace in {}", dir.display()))?;
    let text = if is_packetized(&bytes) {
        decode_packetized(&bytes)
            .with_context(|| format!("{}", path.display()))?
            .text
    } else {
        String::from_utf8(bytes)
            .map_err(|e| anyhow::anyhow!("{}: not UTF-8 text: {e}", path.display()))?
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    // babeltrace2 ends the text with one more newline.
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}
