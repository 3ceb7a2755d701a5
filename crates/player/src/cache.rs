//! A cache of decoded prompts, so a greeting played to a thousand calls is read once.
//!
//! Entries are keyed by path and stamped with the file's size and modification time: an
//! operator replacing `welcome.wav` gets the new audio on the next call without a restart.
//! The stamp is an input ([`FileStamp::of`] reads it) so the cache itself touches no clock
//! and tests need no file system games. The cache is bounded twice, by entry count and by
//! total samples, and evicts the least recently used prompt first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::Error;
use crate::wav::{LoadLimits, Prompt, load_prompt};

/// What identifies one version of a file: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Size in bytes.
    pub len: u64,
    /// Modification time, where the file system has one.
    pub modified: Option<SystemTime>,
}

impl FileStamp {
    /// Reads the stamp of the file at `path`.
    pub fn of(path: &Path) -> Result<Self, Error> {
        let meta = std::fs::metadata(path).map_err(|err| Error::io(path, &err))?;
        Ok(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// Bounds of a [`PromptCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Most prompts held.
    pub max_entries: usize,
    /// Most samples held over all prompts (2 bytes each).
    pub max_total_samples: u64,
    /// Limits applied to each file loaded.
    pub load: LoadLimits,
}

impl Default for CacheLimits {
    /// 256 prompts, 64 MiB of samples, ten minutes each.
    fn default() -> Self {
        Self {
            max_entries: 256,
            max_total_samples: 32 * 1024 * 1024,
            load: LoadLimits::default(),
        }
    }
}

/// Counters for the daemon to export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups served from memory.
    pub hits: u64,
    /// Lookups that loaded the file (first use or a changed stamp).
    pub loads: u64,
    /// Loads that failed.
    pub load_errors: u64,
    /// Entries dropped to stay within the limits.
    pub evictions: u64,
}

#[derive(Debug)]
struct Entry {
    prompt: Prompt,
    stamp: FileStamp,
    last_used: u64,
}

/// Decoded prompts by path, bounded, least recently used evicted first.
#[derive(Debug)]
pub struct PromptCache {
    limits: CacheLimits,
    entries: HashMap<PathBuf, Entry>,
    total_samples: u64,
    use_counter: u64,
    stats: CacheStats,
}

impl PromptCache {
    /// An empty cache within `limits`.
    pub fn new(limits: CacheLimits) -> Self {
        Self {
            limits,
            entries: HashMap::new(),
            total_samples: 0,
            use_counter: 0,
            stats: CacheStats::default(),
        }
    }

    /// The prompt at `path`, loaded from disk unless cached under the same `stamp`.
    pub fn get_or_load(&mut self, path: &Path, stamp: FileStamp) -> Result<Prompt, Error> {
        let load = self.limits.load;
        self.get_or_load_with(path, stamp, |path| load_prompt(path, &load))
    }

    /// As [`PromptCache::get_or_load`], with `load` standing in for reading the file.
    ///
    /// Failures are not cached: a missing greeting may be uploaded a second later.
    pub fn get_or_load_with(
        &mut self,
        path: &Path,
        stamp: FileStamp,
        load: impl FnOnce(&Path) -> Result<Prompt, Error>,
    ) -> Result<Prompt, Error> {
        self.use_counter += 1;
        // `filter` rather than a let chain keeps the crate within the workspace's MSRV.
        if let Some(entry) = self
            .entries
            .get_mut(path)
            .filter(|entry| entry.stamp == stamp)
        {
            entry.last_used = self.use_counter;
            self.stats.hits += 1;
            return Ok(entry.prompt.clone());
        }
        self.remove(path);
        self.stats.loads += 1;
        let prompt = match load(path) {
            Ok(prompt) => prompt,
            Err(err) => {
                self.stats.load_errors += 1;
                return Err(err);
            }
        };
        self.insert(path, stamp, prompt.clone());
        Ok(prompt)
    }

    /// Drops the entry of `path`, if any.
    pub fn remove(&mut self, path: &Path) {
        if let Some(old) = self.entries.remove(path) {
            self.total_samples -= old.prompt.len() as u64;
        }
    }

    fn insert(&mut self, path: &Path, stamp: FileStamp, prompt: Prompt) {
        let samples = prompt.len() as u64;
        if samples > self.limits.max_total_samples || self.limits.max_entries == 0 {
            // Larger than the whole budget: served to this caller, never held.
            return;
        }
        while self.entries.len() >= self.limits.max_entries
            || self.total_samples + samples > self.limits.max_total_samples
        {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(path, _)| path.clone())
            else {
                break;
            };
            self.remove(&oldest);
            self.stats.evictions += 1;
        }
        self.total_samples += samples;
        self.entries.insert(
            path.to_owned(),
            Entry {
                prompt,
                stamp,
                last_used: self.use_counter,
            },
        );
    }

    /// Prompts held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no prompt is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Samples held over all prompts.
    pub fn total_samples(&self) -> u64 {
        self.total_samples
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn stamp(len: u64, secs: u64) -> FileStamp {
        FileStamp {
            len,
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
        }
    }

    fn limits(max_entries: usize, max_total_samples: u64) -> CacheLimits {
        CacheLimits {
            max_entries,
            max_total_samples,
            load: LoadLimits::default(),
        }
    }

    fn loader(calls: &mut u32, samples: usize) -> impl FnOnce(&Path) -> Result<Prompt, Error> + '_ {
        move |_| {
            *calls += 1;
            Ok(Prompt::from_samples(vec![*calls as i16; samples]))
        }
    }

    #[test]
    fn loads_once_and_shares_the_samples() {
        let mut cache = PromptCache::new(CacheLimits::default());
        let mut calls = 0;
        let path = Path::new("welcome.wav");
        let first = cache
            .get_or_load_with(path, stamp(100, 1), loader(&mut calls, 10))
            .unwrap();
        let second = cache
            .get_or_load_with(path, stamp(100, 1), loader(&mut calls, 10))
            .unwrap();
        assert_eq!(calls, 1);
        assert!(std::ptr::eq(first.samples(), second.samples()));
        assert_eq!(cache.stats().hits, 1);
        assert_eq!(cache.stats().loads, 1);
    }

    #[test]
    fn changed_mtime_or_size_reloads() {
        let mut cache = PromptCache::new(CacheLimits::default());
        let mut calls = 0;
        let path = Path::new("welcome.wav");
        cache
            .get_or_load_with(path, stamp(100, 1), loader(&mut calls, 10))
            .unwrap();
        let newer = cache
            .get_or_load_with(path, stamp(100, 2), loader(&mut calls, 10))
            .unwrap();
        assert_eq!(newer.samples()[0], 2);
        let bigger = cache
            .get_or_load_with(path, stamp(120, 2), loader(&mut calls, 12))
            .unwrap();
        assert_eq!(bigger.samples()[0], 3);
        assert_eq!(calls, 3);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.total_samples(), 12);
    }

    #[test]
    fn evicts_least_recently_used_beyond_the_entry_cap() {
        let mut cache = PromptCache::new(limits(2, 1000));
        let mut calls = 0;
        let (a, b, c) = (Path::new("a.wav"), Path::new("b.wav"), Path::new("c.wav"));
        cache
            .get_or_load_with(a, stamp(1, 1), loader(&mut calls, 1))
            .unwrap();
        cache
            .get_or_load_with(b, stamp(1, 1), loader(&mut calls, 1))
            .unwrap();
        cache
            .get_or_load_with(a, stamp(1, 1), loader(&mut calls, 1))
            .unwrap();
        cache
            .get_or_load_with(c, stamp(1, 1), loader(&mut calls, 1))
            .unwrap();
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.stats().evictions, 1);
        cache
            .get_or_load_with(a, stamp(1, 1), loader(&mut calls, 1))
            .unwrap();
        assert_eq!(calls, 3, "a stayed cached, b was evicted");
        cache
            .get_or_load_with(b, stamp(1, 1), loader(&mut calls, 1))
            .unwrap();
        assert_eq!(calls, 4);
    }

    #[test]
    fn sample_budget_evicts_and_oversized_prompts_are_not_held() {
        let mut cache = PromptCache::new(limits(10, 100));
        let mut calls = 0;
        cache
            .get_or_load_with(Path::new("a"), stamp(1, 1), loader(&mut calls, 60))
            .unwrap();
        cache
            .get_or_load_with(Path::new("b"), stamp(1, 1), loader(&mut calls, 60))
            .unwrap();
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.total_samples(), 60);
        let huge = cache.get_or_load_with(Path::new("c"), stamp(1, 1), loader(&mut calls, 101));
        assert_eq!(huge.unwrap().len(), 101);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.total_samples(), 60);
    }

    #[test]
    fn failures_are_not_cached() {
        let mut cache = PromptCache::new(CacheLimits::default());
        let path = Path::new("/nonexistent-switchd/late.wav");
        let err = cache.get_or_load(path, stamp(1, 1)).unwrap_err();
        assert!(matches!(err, Error::FileNotFound { .. }));
        assert!(cache.is_empty());
        assert_eq!(cache.stats().load_errors, 1);
        let mut calls = 0;
        cache
            .get_or_load_with(path, stamp(1, 1), loader(&mut calls, 3))
            .unwrap();
        assert_eq!(calls, 1);
    }

    #[test]
    fn file_stamp_of_a_missing_file_names_it() {
        let err = FileStamp::of(Path::new("/nonexistent-switchd/x.wav")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-switchd/x.wav"));
    }
}
