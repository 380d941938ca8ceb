//! The signatures receivers check: Standard Webhooks', DingTalk's and Feishu's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A secret that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signing secret is not `whsec_` and base64")]
pub struct BadSecret;

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The `webhook-signature` header of Standard Webhooks: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}`, keyed by the secret (`whsec_` and base64, or the bytes of any
/// other text).
pub fn standard_webhook(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, BadSecret> {
    let key = match secret.strip_prefix("whsec_") {
        Some(b64) => STANDARD.decode(b64).map_err(|_| BadSecret)?,
        None => secret.as_bytes().to_vec(),
    };
    let signed = format!("{id}.{timestamp}.{body}");
    Ok(format!(
        "v1,{}",
        STANDARD.encode(hmac(&key, signed.as_bytes()))
    ))
}

/// DingTalk's `sign`: the base64 HMAC-SHA256 of `{timestamp}\n{secret}` keyed by the secret
/// (the timestamp in milliseconds).
pub fn dingtalk(secret: &str, timestamp_ms: i64) -> String {
    let signed = format!("{timestamp_ms}\n{secret}");
    STANDARD.encode(hmac(secret.as_bytes(), signed.as_bytes()))
}

/// Feishu's `sign`: the base64 HMAC-SHA256 of nothing, keyed by `{timestamp}\n{secret}` (the
/// timestamp in seconds).
pub fn feishu(secret: &str, timestamp: i64) -> String {
    let key = format!("{timestamp}\n{secret}");
    STANDARD.encode(hmac(key.as_bytes(), b""))
}

/// `text` percent-encoded for a URL's query (every byte but letters, digits and `-._~`).
pub fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    #[test]
    fn the_standard_webhooks_example_signs_as_published() {
        let signature = standard_webhook(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signature.as_deref(),
            Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(standard_webhook("whsec_!!", "m", 1, "{}"), Err(BadSecret));
    }

    /// RFC 4231, test case 2: HMAC-SHA256 with the key "Jefe".
    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn robots_sign_their_timestamp_and_secret() {
        // the same HMAC, keyed and fed as each robot's documentation says
        let secret = "SEC0123456789abcdef";
        assert_eq!(
            dingtalk(secret, 1_700_000_000_000),
            STANDARD.encode(hmac(
                secret.as_bytes(),
                b"1700000000000\nSEC0123456789abcdef"
            ))
        );
        assert_eq!(
            feishu(secret, 1_700_000_000),
            STANDARD.encode(hmac(b"1700000000\nSEC0123456789abcdef", b""))
        );
        assert_eq!(percent("a+b/c=="), "a%2Bb%2Fc%3D%3D");
    }
}
