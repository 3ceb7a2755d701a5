use super::*;
use crate::wav::{LoadLimits, load_prompt};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("switchd-player-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_back(path: &Path) -> Vec<i16> {
    load_prompt(path, &LoadLimits::default())
        .unwrap()
        .samples()
        .to_vec()
}

#[test]
fn mixed_recording_sums_with_saturation() {
    let dir = TempDir::new("mixed");
    let path = dir.join("call.wav");
    let mut recorder = Recorder::mixed(&path, RecorderConfig::default()).unwrap();
    recorder.record(&[100; 160], &[-30; 160]).unwrap();
    recorder.record(&[30_000; 160], &[30_000; 160]).unwrap();
    recorder.record(&[-30_000; 160], &[-30_000; 100]).unwrap();
    recorder.record(&[], &[7; 160]).unwrap();
    assert_eq!(recorder.duration(), Duration::from_millis(80));
    let summary = recorder.finish().unwrap();
    assert_eq!(summary.duration, Duration::from_millis(80));
    assert_eq!(summary.bytes, 44 + 640 * 2);
    assert!(!summary.truncated);
    let samples = read_back(&path);
    assert_eq!(samples.len(), 640);
    assert_eq!(samples[0], 70);
    assert_eq!(samples[160], i16::MAX);
    assert_eq!(samples[320], i16::MIN);
    assert_eq!(samples[479], -30_000, "short side padded with silence");
    assert_eq!(samples[639], 7);
}

#[test]
fn separate_files_per_direction() {
    let dir = TempDir::new("separate");
    let (rx, tx) = (dir.join("in.wav"), dir.join("out.wav"));
    let mut recorder = Recorder::separate(&rx, &tx, RecorderConfig::default()).unwrap();
    recorder.record(&[1; 160], &[2; 160]).unwrap();
    recorder.record(&[3; 160], &[]).unwrap();
    let summary = recorder.finish().unwrap();
    assert_eq!(summary.duration, Duration::from_millis(40));
    assert_eq!(summary.bytes, 2 * (44 + 320 * 2));
    let (inbound, outbound) = (read_back(&rx), read_back(&tx));
    assert_eq!((inbound[0], inbound[319]), (1, 3));
    assert_eq!((outbound[0], outbound[319]), (2, 0));
}

#[test]
fn length_limit_truncates_and_keeps_the_file_valid() {
    let dir = TempDir::new("limit");
    let path = dir.join("capped.wav");
    let config = RecorderConfig {
        max_duration: Duration::from_millis(50),
    };
    let mut recorder = Recorder::mixed(&path, config).unwrap();
    for _ in 0..10 {
        recorder.record(&[5; 160], &[]).unwrap();
    }
    let summary = recorder.finish().unwrap();
    assert!(summary.truncated);
    assert_eq!(summary.duration, Duration::from_millis(50));
    assert_eq!(read_back(&path).len(), 400);
}

#[test]
fn unwritable_location_is_an_error_naming_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("readonly");
    let locked = dir.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores directory permissions (CI runs as root): probe, and if the directory
    // is writable after all, aim at a path no one can create a file at instead.
    let probe = locked.join("probe");
    let target = if std::fs::write(&probe, b"x").is_ok() {
        std::fs::remove_file(&probe).unwrap();
        dir.join("missing-dir").join("call.wav")
    } else {
        locked.join("call.wav")
    };
    let err = Recorder::mixed(&target, RecorderConfig::default()).unwrap_err();
    assert!(matches!(err, Error::RecordingWrite { .. }), "{err:?}");
    assert!(err.to_string().contains("call.wav"), "{err}");
    // A path that is a directory fails the same way, as root too.
    let err = Recorder::mixed(&locked, RecorderConfig::default()).unwrap_err();
    assert!(matches!(err, Error::RecordingWrite { .. }), "{err:?}");
}

#[test]
fn write_error_mid_call_ends_the_recording_with_an_error_value() {
    // /dev/full accepts the open and fails every write with ENOSPC, root or not.
    let full = Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let mut recorder = Recorder::mixed(full, RecorderConfig::default()).unwrap();
    let mut first_error = None;
    for frame in 0..1000 {
        if let Err(err) = recorder.record(&[1; 160], &[]) {
            first_error = Some((frame, err));
            break;
        }
    }
    let (frame, err) = first_error.expect("the disk-full error surfaces once the buffer flushes");
    assert!(frame < 100, "error surfaced after {frame} frames");
    assert!(matches!(err, Error::RecordingWrite { .. }));
    assert!(recorder.has_failed());
    assert_eq!(
        recorder.record(&[1; 160], &[]),
        Err(err.clone()),
        "later frames are refused"
    );
    assert_eq!(recorder.finish(), Err(err));
}
