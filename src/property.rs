//! String property values as C applications hand them over: bytes, not always UTF-8.
//! glib's `Value::get::<String>` panics on invalid UTF-8, and a panic inside a GObject
//! setter aborts the host process, so every string property is read through here.

use std::ffi::OsString;
use std::path::PathBuf;

/// A string property's value that is not UTF-8; `lossy` is safe to show in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8 {
    pub lossy: String,
}

impl NotUtf8 {
    /// What to tell the user about property `name`; `secret` leaves the value out.
    pub fn message(&self, name: &str, secret: bool) -> String {
        if secret {
            format!("{name}: the value is not valid UTF-8 and was refused")
        } else {
            format!(
                "{name}: '{}' is not valid UTF-8 and was refused; use a UTF-8 value",
                self.lossy
            )
        }
    }
}

/// The raw bytes of a string value; None for NULL or a value that holds no string.
fn bytes(value: &glib::Value) -> Option<Vec<u8>> {
    // PathBuf's FromValue copies the bytes as they are, whatever their encoding.
    let path = value.get::<Option<PathBuf>>().ok().flatten()?;
    Some(std::os::unix::ffi::OsStringExt::into_vec(
        path.into_os_string(),
    ))
}

/// A path property: any bytes are a valid Linux file name. Empty means unset.
pub fn path(value: &glib::Value) -> Option<PathBuf> {
    let raw = bytes(value).filter(|b| !b.is_empty())?;
    Some(PathBuf::from(
        <OsString as std::os::unix::ffi::OsStringExt>::from_vec(raw),
    ))
}

/// A text property: Ok(None) for NULL, Err for bytes that are not UTF-8.
pub fn text(value: &glib::Value) -> Result<Option<String>, NotUtf8> {
    match bytes(value) {
        None => Ok(None),
        Some(raw) => String::from_utf8(raw).map(Some).map_err(|e| NotUtf8 {
            lossy: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }),
    }
}

/// A value as a message quotes it: whole up to `chars` characters, else its start and
/// its size, so a refused megabyte is not sent back to the bus and the log.
pub fn excerpt(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        None => text.to_string(),
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
    }
}

/// Refuses a property value: logged, because gst-launch sets properties before the
/// element has a bus, and posted as a warning for applications watching the bus.
/// Call with no lock held: a bus sync handler may read properties.
pub fn refuse(element: &gst::Element, cat: gst::DebugCategory, text: &str) {
    gst::warning!(cat, obj = element, "{}", text);
    gst::element_warning!(element, gst::LibraryError::Settings, ("{}", text));
}

/// A deprecated property was set: the value applies, and the user is told as a refusal
/// is, logged and posted. Call with no lock held.
pub fn deprecated(element: &gst::Element, cat: gst::DebugCategory, text: &str) {
    refuse(element, cat, text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use glib::prelude::*;

    fn raw(bytes: &[u8]) -> glib::Value {
        PathBuf::from(<OsString as std::os::unix::ffi::OsStringExt>::from_vec(
            bytes.to_vec(),
        ))
        .to_value()
    }

    #[test]
    fn an_excerpt_keeps_short_values_and_cuts_long_ones_at_a_character() {
        assert_eq!(excerpt("door:1,2,3,4", 12), "door:1,2,3,4");
        assert_eq!(excerpt("ééééé", 2), "éé… (10 bytes)");
        assert_eq!(excerpt(&"a;".repeat(50_000), 4), "a;a;… (100000 bytes)");
    }

    #[test]
    fn latin1_paths_keep_their_bytes() {
        let value = raw(b"/tmp/caf\xe9.onnx");
        assert_eq!(value.type_(), glib::Type::STRING);
        let path = path(&value).expect("a path");
        assert_eq!(
            std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()),
            b"/tmp/caf\xe9.onnx"
        );
        assert_eq!(
            path.to_value().get::<Option<PathBuf>>().ok().flatten(),
            Some(path)
        );
    }

    #[test]
    fn text_refuses_invalid_utf8_and_the_secret_message_hides_it() {
        let err = text(&raw(b"car\xff")).expect_err("not UTF-8");
        assert_eq!(err.lossy, "car\u{fffd}");
        assert!(err.message("region-types", false).contains("car\u{fffd}"));
        assert!(!err.message("password", true).contains("car"));
        assert_eq!(text(&"ok".to_value()), Ok(Some("ok".to_string())));
        assert_eq!(text(&None::<String>.to_value()), Ok(None));
        assert_eq!(path(&"".to_value()), None);
    }
}
