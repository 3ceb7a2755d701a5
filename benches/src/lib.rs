//! Benchmarks of switchd. The library is empty on purpose: the criterion
//! benchmarks live in `benches/` (run them with `cargo bench -p switchd-benches`),
//! and the end-to-end call-rate measurement with sipp is `load/call-rate.sh`.
