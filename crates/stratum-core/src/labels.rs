//! Labels in Chinese and English.
//!
//! Every class, segment and tier Stratum shows has a stable machine code (used in files that are
//! re-imported and in rule expressions) and a human label in each supported language.

use std::fmt;
use std::str::FromStr;

/// The language of human-facing labels.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// Picks the Chinese or English text.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Ok(Lang::En),
            "zh" | "cn" | "zh-cn" | "chinese" | "中文" => Ok(Lang::Zh),
            other => Err(format!("language must be `zh` or `en`, got `{other}`")),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.pick("zh", "en"))
    }
}

/// Something with a stable code and a label in each language.
pub trait Labelled {
    /// The stable machine code, e.g. `important_value`.
    fn code(&self) -> &'static str;
    /// The human label in `lang`.
    fn label(&self, lang: Lang) -> &'static str;
}
