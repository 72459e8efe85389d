//! The languages callers are served in: prompts, menus and PIN messages
//! exist in each. Parsed from a language tag ("zh-CN", "es-MX", "de").

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    En,
    Es,
    De,
    Fr,
    ZhCn,
}

impl Language {
    pub const ALL: [Language; 5] = [
        Language::En,
        Language::Es,
        Language::De,
        Language::Fr,
        Language::ZhCn,
    ];

    /// By primary subtag: "pt-BR" is none of ours; "zh", "zh-CN" and
    /// "zh-Hans" are Mandarin in simplified characters.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Language::En),
            "es" => Some(Language::Es),
            "de" => Some(Language::De),
            "fr" => Some(Language::Fr),
            "zh" => Some(Language::ZhCn),
            _ => None,
        }
    }

    /// The tag stored on the call and shown in the API.
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Es => "es",
            Language::De => "de",
            Language::Fr => "fr",
            Language::ZhCn => "zh-CN",
        }
    }

    /// The code text-to-speech is asked to speak in.
    pub fn speech_code(self) -> &'static str {
        match self {
            Language::En => "en-US",
            Language::Es => "es-ES",
            Language::De => "de-DE",
            Language::Fr => "fr-FR",
            Language::ZhCn => "zh-CN",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

#[cfg(test)]
mod tests;
