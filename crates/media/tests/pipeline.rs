//! End to end through the sans-IO pieces with simulated time: a tone is encoded, sent
//! through an outgoing stream, carried over a lossy, reordering "network", filtered by
//! source, counted by the receiver, buffered and decoded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use switchd_media::Error;
use switchd_media::codec::{AnyCodec, Codec, CodecKind, FRAME_SAMPLES_8K};
use switchd_media::jitter::{Frame, JitterBuffer, JitterConfig};
use switchd_media::rtp::{
    RtpHeader, RtpPacket, RtpReceiver, RtpSender, SenderConfig, parse_rtp, serialize_rtp,
};
use switchd_media::source::{SourceFilter, SourceVerdict};

const FRAME: Duration = Duration::from_millis(20);
const FRAMES: u32 = 100;

fn tone_frame(index: u32) -> Vec<i16> {
    (0..FRAME_SAMPLES_8K as u32)
        .map(|n| {
            let t = f64::from(index * FRAME_SAMPLES_8K as u32 + n) / 8000.0;
            (9000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
        })
        .collect()
}

#[test]
fn g711_call_leg_over_a_lossy_reordering_network() -> Result<(), Error> {
    let t0 = Instant::now();
    let mut encoder = AnyCodec::new(CodecKind::Pcma)?;
    let mut sender = RtpSender::new(SenderConfig {
        ssrc: 0xC0FFEE,
        payload_type: 8,
        clock_rate: 8000,
        frame_ticks: 160,
        initial_sequence: 65500,
        initial_timestamp: u32::MAX - 4000,
    });
    // Sent datagrams with their arrival times: every 10th lost, every 7th delayed 30 ms.
    let mut network: Vec<(Instant, Bytes)> = Vec::new();
    for index in 0..FRAMES {
        let sent_at = t0 + FRAME * index;
        let mut payload = Vec::new();
        encoder.encode(&tone_frame(index), &mut payload)?;
        let header = sender.originate(
            sent_at,
            CodecKind::Pcma.rtp_ticks_per_frame(),
            payload.len(),
        );
        let packet = RtpPacket {
            header: RtpHeader {
                version: 2,
                marker: header.marker,
                payload_type: header.payload_type,
                sequence_number: header.sequence_number,
                timestamp: header.timestamp,
                ssrc: header.ssrc,
                ..Default::default()
            },
            payload: Bytes::from(payload),
        };
        let mut wire = Vec::new();
        serialize_rtp(&packet, &mut wire)?;
        if index % 10 == 9 {
            continue;
        }
        let delay = if index % 7 == 3 {
            Duration::from_millis(35)
        } else {
            Duration::from_millis(5)
        };
        network.push((sent_at + delay, Bytes::from(wire)));
    }
    network.sort_by_key(|(at, _)| *at);

    let peer: SocketAddr = SocketAddr::from(([127, 0, 0, 2], 40000));
    let intruder: SocketAddr = SocketAddr::from(([127, 0, 0, 3], 40000));
    let mut filter = SourceFilter::new(None, Duration::from_millis(500));
    let mut receiver = RtpReceiver::new(8000);
    let mut buffer = JitterBuffer::new(JitterConfig::voice(8000));
    let mut decoder = AnyCodec::new(CodecKind::Pcma)?;
    let mut pcm = Vec::new();
    let (mut audio, mut concealed) = (0, 0);
    let mut arrivals = network.into_iter().peekable();
    for tick in 0..FRAMES + 20 {
        let now = t0 + FRAME * tick;
        while let Some((_, datagram)) = arrivals.next_if(|(at, _)| *at <= now) {
            // An injected copy from another address after the window is refused.
            if tick > 40 {
                assert_eq!(filter.check(now, intruder), SourceVerdict::Drop);
            }
            if filter.check(now, peer) == SourceVerdict::Drop {
                continue;
            }
            let packet = parse_rtp(datagram)?;
            let header = &packet.header;
            receiver.on_packet(now, header.ssrc, header.sequence_number, header.timestamp);
            buffer.insert_packet(now, &packet);
        }
        match buffer.pop(now) {
            Frame::Audio { payload, .. } => {
                audio += 1;
                decoder.decode(&payload, &mut pcm)?;
            }
            Frame::Conceal => {
                concealed += 1;
                decoder.conceal(&mut pcm)?;
            }
            Frame::Silence => {}
        }
    }
    let stats = buffer.stats();
    // 10 packets never arrive; the last of them was the final packet, which no receiver
    // can tell from one not sent yet.
    assert_eq!(receiver.cumulative_lost(), 9);
    assert_eq!(receiver.extended_highest_sequence(), 65500 + FRAMES - 2);
    // 30 ms of extra delay fits in the 40 ms buffer: every packet that arrived is played,
    // each gap concealed once, then the end of the stream underruns into silence.
    assert_eq!((audio, stats.late, stats.lost), (FRAMES - 10, 0, 9));
    assert!(concealed >= 10, "concealed {concealed}");
    assert!(filter.dropped() > 0);
    assert_eq!(pcm.len(), (audio + concealed) as usize * FRAME_SAMPLES_8K);
    Ok(())
}
