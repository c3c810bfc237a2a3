//! Text log fields that a client's input cannot break into forged lines.

use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::FormatFields;

/// The text format's fields with every control character escaped (`\n`, `\u{1b}`, ...): a
/// value a client chose (a user name, a path) can neither start a forged line nor colour the
/// terminal. The JSON format needs none of this, serde escapes its strings.
#[derive(Debug, Default)]
pub struct EscapedFields {
    inner: DefaultFields,
}

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        // Formatted without colours first: the only control characters left are the values'.
        let mut plain = String::new();
        self.inner.format_fields(Writer::new(&mut plain), fields)?;
        for c in plain.chars() {
            if c.is_control() {
                write!(writer, "{}", c.escape_debug())?;
            } else {
                writer.write_char(c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::EscapedFields;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_value_can_neither_start_a_line_nor_carry_an_escape() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .fmt_fields(EscapedFields::default())
            .finish();
        let forged = "eve\n2026-01-01T00:00:00Z  INFO login username=admin\r\x1b[31mred\x07";
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("http", route = %forged);
            let _in = span.enter();
            tracing::warn!(username = %forged, "login failed for {forged}");
        });
        let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.ends_with('\n'));
        let line = out.trim_end_matches('\n');
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(
            line.contains(
                r"username=eve\n2026-01-01T00:00:00Z  INFO login username=admin\r\u{1b}[31mred\u{7}"
            ),
            "{line}"
        );
        assert!(line.contains(r"route=eve\n2026"), "{line}");
        assert!(line.contains(r"login failed for eve\n2026"), "{line}");
    }
}
