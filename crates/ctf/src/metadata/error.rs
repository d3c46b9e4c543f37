//! The one error type of metadata reading: where it went wrong (a line and
//! column in the TSDL text, or a byte offset in a packetized stream) and why.

/// A metadata stream that cannot be read.
///
/// `line` and `column` are 1-based and point into the TSDL text (for
/// packetized metadata: into the concatenated payloads); they are 0 when the
/// problem is not in the text (a bad metadata packet header, say), and then
/// `offset` gives the byte offset of the bad packet in the stream. For text
/// errors `offset` is the byte offset in the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", location(*.line, *.column, *.offset))]
pub struct MetadataError {
    pub line: u32,
    pub column: u32,
    pub offset: Option<u64>,
    pub message: String,
}

fn location(line: u32, column: u32, offset: Option<u64>) -> String {
    match (line, offset) {
        (0, Some(off)) => format!("at byte offset {off}: "),
        (0, None) => String::new(),
        _ => format!("line {line}, column {column}: "),
    }
}

impl MetadataError {
    /// An error at byte `offset` of `text`; the line and column are computed
    /// here, only when an error happens, so the lexer need not track them.
    pub(crate) fn in_text(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let bytes = text.as_bytes();
        let offset = offset.min(bytes.len());
        let before = &bytes[..offset];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        // Count characters, not bytes: UTF-8 continuation bytes are skipped.
        let column = 1 + before[line_start..]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count();
        MetadataError {
            line: saturate(line),
            column: saturate(column),
            offset: Some(offset as u64),
            message: message.into(),
        }
    }

    /// An error about the byte stream itself (no text position applies).
    pub(crate) fn at_offset(offset: u64, message: impl Into<String>) -> Self {
        MetadataError {
            line: 0,
            column: 0,
            offset: Some(offset),
            message: message.into(),
        }
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let e = MetadataError::in_text("ab\ncé;x", 6, "boom");
        assert_eq!((e.line, e.column, e.offset), (2, 3, Some(6)));
        assert_eq!(e.to_string(), "line 2, column 3: boom");
    }

    #[test]
    fn offset_only_errors_say_so() {
        let e = MetadataError::at_offset(4096, "bad packet");
        assert_eq!(e.to_string(), "at byte offset 4096: bad packet");
    }
}
