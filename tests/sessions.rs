//! One session per model and options, shared between elements and freed by the last
//! one; no first-frame stall. The session count is process-wide, so these tests run
//! one at a time.

use crate::common;

use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::testing::{default_threads, live_sessions, pooled_sessions};

fn branches(n: usize, props: impl Fn(usize) -> String) -> String {
    (0..n)
        .map(|i| {
            format!(
                "videotestsrc num-buffers=3 ! video/x-raw,width=64,height=48 ! imgclassify {} ! fakesink ",
                props(i)
            )
        })
        .collect()
}

fn play_to_eos(p: &gst::Pipeline) {
    p.set_state(gst::State::Playing).expect("plays");
    let bus = p.bus().expect("bus");
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("finishes");
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
}

#[test]
fn elements_with_the_same_model_and_options_share_one_session() {
    let _serial = common::serial();
    for n in [2, 8] {
        let p = common::pipeline(&branches(n, |_| String::new()));
        p.set_state(gst::State::Ready).expect("ready");
        assert_eq!(live_sessions(), 1, "{n} elements");
        play_to_eos(&p);
        p.set_state(gst::State::Null).expect("null");
        assert_eq!(live_sessions(), 0, "freed after {n} elements stop");
    }
}

#[test]
fn different_options_get_different_sessions() {
    let _serial = common::serial();
    let p = common::pipeline(&branches(3, |i| format!("threads={}", 1 + i % 2)));
    p.set_state(gst::State::Ready).expect("ready");
    assert_eq!(live_sessions(), 2);
    let q = common::pipeline(&branches(1, |_| "model=efficientnet".to_string()));
    q.set_state(gst::State::Ready).expect("ready");
    assert_eq!(live_sessions(), 3);
    p.set_state(gst::State::Null).expect("null");
    assert_eq!(live_sessions(), 1);
    q.set_state(gst::State::Null).expect("null");
    assert_eq!(live_sessions(), 0);
}

#[test]
fn each_input_size_gets_its_own_session() {
    let _serial = common::serial();
    let sizes = ["input-size=160", "input-size=160", ""];
    let p = common::pipeline(&branches(3, |i| sizes[i].to_string()));
    p.set_state(gst::State::Ready).expect("ready");
    assert_eq!(live_sessions(), 2);
    play_to_eos(&p);
    p.set_state(gst::State::Null).expect("null");
    assert_eq!(live_sessions(), 0);
}

#[test]
fn two_hundred_state_cycles_leak_no_session() {
    let _serial = common::serial();
    let p = common::pipeline(
        "videotestsrc is-live=true ! video/x-raw,width=32,height=32 ! imgclassify ! fakesink",
    );
    for cycle in 0..200 {
        p.set_state(gst::State::Playing).expect("plays");
        let (result, state, _) = p.state(gst::ClockTime::from_seconds(30));
        assert!(
            result.is_ok() && state == gst::State::Playing,
            "cycle {cycle}"
        );
        assert_eq!(live_sessions(), 1, "cycle {cycle}");
        p.set_state(gst::State::Null).expect("stops");
        assert_eq!(live_sessions(), 0, "cycle {cycle}");
    }
}

#[test]
fn first_frame_is_not_slower_than_twice_the_steady_state() {
    let _serial = common::serial();
    let p = common::pipeline(
        "videotestsrc num-buffers=40 ! video/x-raw,format=NV12,width=160,height=120 \
         ! imgclassify ! appsink name=sink sync=false",
    );
    let sink = p
        .by_name("sink")
        .expect("sink")
        .downcast::<gst_app::AppSink>()
        .expect("appsink");
    // Best of three starts, so one burst of load on a shared machine does not decide.
    let mut firsts = Vec::new();
    let mut gaps = Vec::new();
    for _ in 0..3 {
        // The model loads and warms up here, as an application would do before going live.
        p.set_state(gst::State::Ready).expect("ready");
        let start = Instant::now();
        p.set_state(gst::State::Playing).expect("plays");
        sink.pull_sample().expect("first frame");
        firsts.push(start.elapsed());
        let mut last = Instant::now();
        for _ in 0..20 {
            sink.pull_sample().expect("frame");
            gaps.push(last.elapsed());
            last = Instant::now();
        }
        p.set_state(gst::State::Null).expect("stops");
    }
    gaps.sort();
    let steady: Duration = gaps[gaps.len() / 2];
    let first = firsts.iter().min().copied().unwrap_or_default();
    let ratio = first.as_secs_f64() / steady.as_secs_f64();
    println!(
        "first frame {first:?} (of {firsts:?}), steady {steady:?} per frame, ratio {ratio:.2}"
    );
    assert!(
        ratio <= 2.0,
        "first frame {first:?} vs steady {steady:?}: ratio {ratio:.2}"
    );
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn the_sessions_property_sizes_the_shared_pool_and_the_largest_ask_wins() {
    let _serial = common::serial();
    // (each element's properties, sessions expected in the one pool)
    let cases: [(&[&str], usize); 4] = [
        (&["sessions=1", "sessions=1"], 1),
        (&["sessions=2", "sessions=2"], 2),
        (&["sessions=1", "sessions=3"], 3),
        // Automatic elements get one each, beyond cores / threads too, beside an ask
        // of one.
        (&["sessions=1", "", "", ""], 3),
    ];
    for (props, expected) in cases {
        let p = common::pipeline(&branches(props.len(), |i| {
            format!("threads=1 {}", props[i])
        }));
        p.set_state(gst::State::Ready).expect("ready");
        assert_eq!(live_sessions(), 1, "{props:?}: one model");
        assert_eq!(pooled_sessions(), expected, "{props:?}");
        play_to_eos(&p);
        p.set_state(gst::State::Null).expect("null");
        assert_eq!(pooled_sessions(), 0, "{props:?}: freed");
    }
}

/// The CPUs a thread of this process may run on, by thread name.
fn affinities() -> Vec<(String, String)> {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    tasks
        .filter_map(|t| {
            let dir = t.ok()?.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?;
            let status = std::fs::read_to_string(dir.join("status")).ok()?;
            let cpus = status
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?
                .trim()
                .to_string();
            Some((name.trim().to_string(), cpus))
        })
        .collect()
}

/// Gives the calling test's thread a name no other thread of the process has. The test
/// harness names a thread after its test, cut to 15 bytes, which is only `sessions::thre`
/// for several of these tests (and the one waiting for `serial()` runs beside them).
fn name_this_thread() {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::fs::write("/proc/thread-self/comm", format!("count-threads{n}")).expect("comm");
}

/// ONNX Runtime's intra-op helper threads: started by this test's thread after
/// `name_this_thread()`, they carry its name; the thread itself is not counted.
fn helper_threads() -> usize {
    let me = std::fs::read_to_string("/proc/thread-self/comm").expect("comm");
    let me = me.trim();
    affinities().iter().filter(|(name, _)| name == me).count() - 1
}

#[test]
fn threads_zero_leaves_every_session_thread_free_to_run_on_any_core() {
    let _serial = common::serial();
    name_this_thread();
    let process = std::fs::read_to_string("/proc/self/status")
        .expect("status")
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list")
        .trim()
        .to_string();
    let p = common::pipeline(&branches(2, |_| "threads=0 sessions=1".to_string()));
    p.set_state(gst::State::Ready).expect("ready");
    assert_eq!(pooled_sessions(), 1);
    // One session: a thread per core, the calling thread being one of them.
    assert_eq!(helper_threads(), default_threads() - 1);
    let pinned: Vec<_> = affinities()
        .into_iter()
        .filter(|(_, cpus)| *cpus != process)
        .collect();
    assert!(
        pinned.is_empty(),
        "threads pinned to fewer CPUs than the process's {process}: {pinned:?}"
    );
    p.set_state(gst::State::Null).expect("null");
}

#[test]
fn threads_zero_divides_the_cores_among_the_sessions_of_the_pool() {
    let _serial = common::serial();
    name_this_thread();
    let cores = default_threads();
    for sessions in [1, 2, 4] {
        let p = common::pipeline(&branches(2, |_| format!("threads=0 sessions={sessions}")));
        p.set_state(gst::State::Ready).expect("ready");
        assert_eq!(pooled_sessions(), sessions);
        let each = (cores / sessions).max(1);
        assert_eq!(
            helper_threads(),
            sessions * (each - 1),
            "{sessions} sessions on {cores} cores: {each} threads each"
        );
        p.set_state(gst::State::Null).expect("null");
        assert_eq!(helper_threads(), 0, "{sessions} sessions freed");
    }
}

/// `threads` × `sessions` is held to four threads per core: at their maxima (256 × 256)
/// they asked for 65 536 threads. Lowered, with a warning naming both properties.
#[test]
fn threads_times_sessions_is_held_to_four_per_core_with_a_warning() {
    let _serial = common::serial();
    name_this_thread();
    let limit = 4 * cores();
    if limit >= 512 {
        eprintln!(
            "skipped: 256 threads x 2 sessions are within the limit on {} cores",
            cores()
        );
        return;
    }
    // ONNX Runtime starts a thread of its own at its first load; counted apart.
    let first = common::pipeline(&branches(1, |_| "threads=1".to_string()));
    first.set_state(gst::State::Ready).expect("ready");
    first.set_state(gst::State::Null).expect("null");
    let before = helper_threads();
    let p = common::pipeline(&branches(1, |_| "threads=256 sessions=2".to_string()));
    p.set_state(gst::State::Ready).expect("ready");
    let threads = limit / 2;
    assert_eq!(pooled_sessions(), 2);
    assert_eq!(helper_threads() - before, 2 * (threads - 1));
    let bus = p.bus().expect("bus");
    let warnings: Vec<String> =
        std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Warning]))
            .map(|m| match m.view() {
                gst::MessageView::Warning(w) => w.error().to_string(),
                _ => unreachable!("filtered"),
            })
            .collect();
    assert_eq!(
        warnings,
        [format!(
            "threads=256 x sessions=2 asks for 512 ONNX Runtime threads, more than 4 per \
             core ({limit} on {} cores): using threads={threads} sessions=2",
            cores()
        )]
    );
    p.set_state(gst::State::Null).expect("null");
}
