//! WAV files: reading what the daemon recorded, and making prompts with sox
//! (small files generated at test time, never committed).

use std::path::Path;
use std::process::Command;

/// A decoded 16-bit PCM WAV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wav {
    /// Samples per second.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// Bits per sample.
    pub bits_per_sample: u16,
    /// The samples of the first channel.
    pub samples: Vec<i16>,
}

impl Wav {
    /// Playing time in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        if self.sample_rate == 0 {
            return 0;
        }
        self.samples.len() as u64 * 1000 / u64::from(self.sample_rate)
    }
}

/// Why a file is not a WAV this module reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavError(pub String);

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *bytes.get(at)?,
        *bytes.get(at + 1)?,
        *bytes.get(at + 2)?,
        *bytes.get(at + 3)?,
    ]))
}

/// Parses RIFF/WAVE bytes holding 16-bit PCM (format 1, or extensible).
pub fn parse(bytes: &[u8]) -> Result<Wav, WavError> {
    let fail = |why: &str| WavError(why.to_string());
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(fail("no RIFF/WAVE header"));
    }
    let mut at = 12usize;
    let mut format: Option<(u16, u16, u32, u16)> = None;
    while let (Some(id), Some(size)) = (bytes.get(at..at + 4), le32(bytes, at + 4)) {
        let body = at + 8;
        let size = size as usize;
        match id {
            b"fmt " => {
                let tag = le16(bytes, body).ok_or_else(|| fail("short fmt chunk"))?;
                let channels = le16(bytes, body + 2).ok_or_else(|| fail("short fmt chunk"))?;
                let rate = le32(bytes, body + 4).ok_or_else(|| fail("short fmt chunk"))?;
                let bits = le16(bytes, body + 14).ok_or_else(|| fail("short fmt chunk"))?;
                format = Some((tag, channels, rate, bits));
            }
            b"data" => {
                let (tag, channels, sample_rate, bits) =
                    format.ok_or_else(|| fail("data before fmt"))?;
                if !(tag == 1 || tag == 0xFFFE) || bits != 16 || channels == 0 {
                    return Err(WavError(format!(
                        "format tag {tag}, {bits} bits, {channels} channels: not 16-bit PCM"
                    )));
                }
                // A recorder that died may leave a size past the end: read what is there.
                let end = body.saturating_add(size).min(bytes.len());
                let data = bytes.get(body..end).unwrap_or_default();
                let frame = 2 * usize::from(channels);
                let samples = data
                    .chunks_exact(frame)
                    .filter_map(|f| match f {
                        [lo, hi, ..] => Some(i16::from_le_bytes([*lo, *hi])),
                        _ => None,
                    })
                    .collect();
                return Ok(Wav {
                    sample_rate,
                    channels,
                    bits_per_sample: bits,
                    samples,
                });
            }
            _ => {}
        }
        // Chunks are padded to an even size.
        at = body.saturating_add(size).saturating_add(size % 2);
    }
    Err(fail("no data chunk"))
}

/// Reads and parses the WAV file at `path`; panics naming the file when it
/// cannot.
pub fn read(path: &Path) -> Wav {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse(&bytes).unwrap_or_else(|e| panic!("{} is not a 16-bit PCM WAV: {}", path.display(), e.0))
}

/// Runs sox with `args`; panics with its output when it fails.
pub fn sox(args: &[&str]) {
    let output = Command::new("sox")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run sox (apt-get install sox): {e}"));
    assert!(
        output.status.success(),
        "sox {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// sox's output options for 16-bit signed PCM (a WAV, by the file name).
const PCM16: [&str; 4] = ["-b", "16", "-e", "signed-integer"];

/// Writes `seconds` of a half-scale sine to `path` with sox: `sine` is a
/// frequency, or `from-to` for a linear chirp; `rate` Hz, `channels`
/// channels, stored as the sox output options in `format` say.
fn synth_sine(path: &Path, rate: u32, channels: u16, format: &[&str], seconds: f64, sine: &str) {
    let (rate, channels) = (rate.to_string(), channels.to_string());
    let (path, seconds) = (path.to_string_lossy(), seconds.to_string());
    let mut args = vec!["-n", "-r", &rate, "-c", &channels];
    args.extend_from_slice(format);
    args.extend([&*path, "synth", &seconds, "sine", sine, "vol", "0.5"]);
    sox(&args);
}

/// Writes `seconds` of a linear chirp from `from_hz` to `to_hz` at half
/// scale: 16-bit PCM, `rate` Hz, `channels` channels.
pub fn make_chirp(path: &Path, seconds: f64, from_hz: u32, to_hz: u32, rate: u32, channels: u16) {
    let sweep = format!("{from_hz}-{to_hz}");
    synth_sine(path, rate, channels, &PCM16, seconds, &sweep);
}

/// Writes the greeting the audio tests play (1.5 s of a 300 Hz to 3 kHz
/// chirp, 8 kHz mono) and returns its samples, the reference the received
/// audio is correlated with.
pub fn make_greeting(path: &Path) -> Vec<i16> {
    make_chirp(path, 1.5, 300, 3000, crate::audio::SAMPLE_RATE, 1);
    read(path).samples
}

/// Writes `seconds` of a sine at `hz`, half scale, 8 kHz mono 16-bit.
pub fn make_tone(path: &Path, seconds: f64, hz: u32) {
    synth_sine(path, 8000, 1, &PCM16, seconds, &hz.to_string());
}

/// Writes `seconds` of a sine at `hz`, half scale, as sipp's `rtp_stream`
/// wants it: 8 kHz mono already encoded as μ-law, the payload type (0) it
/// is sent with. Raw, not WAV: sipp 3.6.1 sends the file's bytes as they
/// are, 160 per packet, and would play a WAV header as a click at every
/// loop.
pub fn make_ulaw_tone(path: &Path, seconds: f64, hz: u32) {
    synth_sine(path, 8000, 1, &["-t", "ul"], seconds, &hz.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sox_tone_reads_back_with_its_format_and_frequency() {
        let dir = crate::scratch::ScratchDir::new("wavtone");
        let path = dir.join("tone.wav");
        make_tone(&path, 0.5, 1000);
        let wav = read(&path);
        assert_eq!(
            (wav.sample_rate, wav.channels, wav.bits_per_sample),
            (8000, 1, 16)
        );
        assert_eq!(wav.samples.len(), 4000);
        assert_eq!(wav.duration_ms(), 500);
        let measured =
            crate::audio::analysis::dominant_frequency(&wav.samples, 8000).expect("sound");
        assert!((measured - 1000.0).abs() <= 2.0, "{measured}");
    }

    #[test]
    fn a_stereo_11khz_chirp_reports_its_format() {
        let dir = crate::scratch::ScratchDir::new("wavchirp");
        let path = dir.join("chirp.wav");
        make_chirp(&path, 0.2, 300, 3000, 11_025, 2);
        let wav = read(&path);
        assert_eq!((wav.sample_rate, wav.channels), (11_025, 2));
        assert_eq!(wav.samples.len(), 2205);
    }

    #[test]
    fn garbage_and_truncated_files_are_errors_not_panics() {
        assert!(parse(b"").is_err());
        assert!(parse(b"RIFF\0\0\0\0WAVEfmt \xff\xff\xff\xff").is_err());
        let mut eight_bit =
            b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x40\x1f\0\0\x01\0\x08\0"
                .to_vec();
        eight_bit.extend_from_slice(b"data\x02\0\0\0\x80\x80");
        assert!(parse(&eight_bit).is_err());
    }
}
