//! Loading `[media] hold_prompt` at start: the same cache and checks as a
//! `play` file, but a failure stops the daemon (or `--check-config`) with
//! the key and the file named, instead of failing one command later.

use super::MediaFiles;
use crate::{Config, Error};
use switchd_player::wav::Prompt;

const KEY: &str = "media.hold_prompt";

/// The hold prompt `config` names, loaded through `files`; `None` when
/// none is set.
pub(crate) fn load_hold_prompt(
    config: &Config,
    files: &MediaFiles,
) -> Result<Option<Prompt>, Error> {
    let Some(path) = config.media.hold_prompt_path() else {
        return Ok(None);
    };
    let invalid = |reason: String| Error::ConfigInvalid {
        file: config.source.clone(),
        key: KEY.to_owned(),
        reason,
    };
    // The player's errors name the file and what is wrong with it.
    let prompt = files
        .load_prompt(path)
        .map_err(|error| invalid(error.to_string()))?;
    if prompt.is_empty() {
        // Looping nothing would be silence with extra work; say so instead.
        return Err(invalid(format!("{}: holds no audio", path.display())));
    }
    Ok(Some(prompt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::test_support::{Scratch, write_wav};
    use crate::media::{MediaFilesSettings, TtsSettings};
    use std::path::{Path, PathBuf};

    fn files() -> MediaFiles {
        MediaFiles::new(MediaFilesSettings {
            prompt_cache_entries: 4,
            tts: TtsSettings {
                command: PathBuf::from("/nonexistent/tts"),
                cache_dir: PathBuf::from("/nonexistent/tts-cache"),
                max_entries: 1,
            },
        })
    }

    fn config_with(hold_prompt: Option<&Path>) -> Config {
        let mut config = Config {
            source: PathBuf::from("test.toml"),
            ..Config::default()
        };
        config.media.hold_prompt = hold_prompt.map(Path::to_owned);
        config
    }

    /// The key and reason of a `ConfigInvalid`.
    fn refusal(result: Result<Option<Prompt>, Error>) -> (String, String) {
        match result {
            Err(Error::ConfigInvalid { key, reason, file }) => {
                assert_eq!(file, Path::new("test.toml"));
                (key, reason)
            }
            other => panic!("expected ConfigInvalid, got {other:?}"),
        }
    }

    #[test]
    fn unset_or_empty_means_no_hold_prompt() {
        assert_eq!(
            load_hold_prompt(&config_with(None), &files()).unwrap(),
            None
        );
        let empty = config_with(Some(Path::new("")));
        assert_eq!(load_hold_prompt(&empty, &files()).unwrap(), None);
    }

    #[test]
    fn a_good_file_is_loaded_whole() {
        let scratch = Scratch::new("switchd-hold");
        let path = scratch.path("hold.wav");
        let samples: Vec<i16> = (0..1600).map(|n| (n % 50) * 300).collect();
        write_wav(&path, 8000, 1, &samples);
        let prompt = load_hold_prompt(&config_with(Some(&path)), &files())
            .unwrap()
            .unwrap();
        assert_eq!(prompt.samples(), &samples[..]);
    }

    #[test]
    fn a_missing_file_is_a_config_error_naming_it() {
        let scratch = Scratch::new("switchd-hold");
        let path = scratch.path("missing.wav");
        let (key, reason) = refusal(load_hold_prompt(&config_with(Some(&path)), &files()));
        assert_eq!(key, "media.hold_prompt");
        assert!(reason.contains("missing.wav"), "{reason}");
    }

    #[test]
    fn a_wrong_format_or_silent_file_is_refused() {
        let scratch = Scratch::new("switchd-hold");
        let wide = scratch.path("wide.wav");
        write_wav(&wide, 16_000, 1, &[100; 1600]);
        let (key, reason) = refusal(load_hold_prompt(&config_with(Some(&wide)), &files()));
        assert_eq!(key, "media.hold_prompt");
        assert!(
            reason.contains("wide.wav") && reason.contains("16000"),
            "{reason}"
        );

        let nothing = scratch.path("nothing.wav");
        write_wav(&nothing, 8000, 1, &[]);
        let (_, reason) = refusal(load_hold_prompt(&config_with(Some(&nothing)), &files()));
        assert!(reason.contains("holds no audio"), "{reason}");
    }
}
