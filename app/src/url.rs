//! Percent-encoding for the query strings the pages build and read (filters, `next`, form
//! errors): one encoder for the browser and the server.

/// Encodes everything but RFC 3986's unreserved characters.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `key=value&…` of the pairs that have a value (missing or empty ones are left out), each value
/// encoded: the address of a filtered page or a filled form.
pub fn query<'a, V: Into<Option<&'a str>>>(
    pairs: impl IntoIterator<Item = (&'a str, V)>,
) -> String {
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.into().filter(|v| !v.is_empty())?)))
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes `%XX` and `+` (a space in form encoding); a malformed escape is kept as it is.
pub fn decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) =
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or(""), 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for text in ["plain", "a b/c?d=e&f", "ümlaut", "100%"] {
            assert_eq!(decode(&encode(text)), text);
        }
        assert_eq!(encode("a b@c"), "a%20b%40c");
        assert_eq!(decode("a%20b+c%2Fd%"), "a b c/d%");
    }
}
