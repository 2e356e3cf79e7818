//! What one run of `classifyjson` holds from start to stop: where its lines go and the
//! filters (`new-results-only`, `changes-only`, `home-assistant`) that remember earlier
//! buffers. They live together so that writing a buffer takes one lock.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::home_assistant::HomeAssistant;
use super::mqtt::{MqttSink, Stats, TooLarge};
use super::new_results::NewResults;
use super::output::Output;
use crate::core::changes::{Change, Seen, Tracker};
use crate::jsonlines::{self, Times};
use crate::result::Classification;

/// Where the lines go.
pub enum Destination {
    /// A file or standard output.
    Output(Output),
    /// Shared so that EOS can wait for the broker without holding the state's lock.
    Mqtt(Arc<MqttSink>),
}

/// What a run writes besides its destination, from the properties read at start.
#[derive(Debug, Default)]
pub struct Filters {
    pub new_results_only: bool,
    pub changes_only: bool,
    /// `change-confirm`.
    pub change_confirm: Duration,
    /// `home-assistant=true` with an MQTT location.
    pub home_assistant: Option<HomeAssistant>,
}

pub struct State {
    pub destination: Destination,
    /// With `new-results-only`.
    new_results: Option<NewResults>,
    /// With `changes-only` (which overrides `new-results-only`) or `home-assistant`.
    changes: Option<Tracker>,
    changes_only: bool,
    home_assistant: Option<HomeAssistant>,
    /// Stands in for the PTS of buffers that have none, for `change-confirm`.
    started: Instant,
}

/// A line the file or standard output did not take.
#[derive(Debug)]
pub struct WriteFailure {
    /// The output as errors name it.
    pub output: String,
    pub error: io::Error,
}

impl State {
    pub fn new(destination: Destination, filters: Filters) -> State {
        let track = filters.changes_only || filters.home_assistant.is_some();
        State {
            destination,
            new_results: filters.new_results_only.then(NewResults::default),
            changes: track.then(|| Tracker::new(filters.change_confirm)),
            changes_only: filters.changes_only,
            home_assistant: filters.home_assistant,
            started: Instant::now(),
        }
    }

    /// Writes what `results` bring: with `changes-only` a line per change, otherwise one
    /// line for the results (with `new-results-only`, those not written before). With
    /// `home-assistant`, changes also publish the sensors' states. Returns the first line
    /// too large for MQTT since start, for the caller to warn about once this state's
    /// lock is released.
    pub fn write(
        &mut self,
        mut results: Vec<Classification>,
        times: &Times,
    ) -> Result<Option<TooLarge>, WriteFailure> {
        let changes = self.changes(&results, times);
        self.publish_states(&changes, times);
        if self.changes_only {
            let mut first = None;
            for change in &changes {
                first = first.or(self.write_line(&jsonlines::change_line(change, times))?);
            }
            return Ok(first);
        }
        if let Some(new) = self.new_results.as_mut() {
            results = new.keep(results);
        }
        match jsonlines::line(&results, times) {
            Some(line) => self.write_line(&line),
            None => Ok(None),
        }
    }

    fn changes(&mut self, results: &[Classification], times: &Times) -> Vec<Change> {
        let Some(tracker) = self.changes.as_mut() else {
            return Vec::new();
        };
        let seen = Seen {
            at: times
                .pts
                .map_or_else(|| self.started.elapsed(), Duration::from_nanos),
            wall: SystemTime::now(),
        };
        results
            .iter()
            .flat_map(|r| tracker.update(r, seen))
            .collect()
    }

    /// Home Assistant's sensors: each change publishes its place's state.
    fn publish_states(&mut self, changes: &[Change], times: &Times) {
        let (Some(ha), Destination::Mqtt(sink)) = (self.home_assistant.as_mut(), &self.destination)
        else {
            return;
        };
        for change in changes {
            let line = jsonlines::change_line(change, times);
            for message in ha.on_change(change, &line) {
                sink.publish_retained(&message.topic, &message.payload);
            }
        }
    }

    fn write_line(&mut self, line: &str) -> Result<Option<TooLarge>, WriteFailure> {
        match &mut self.destination {
            Destination::Mqtt(sink) => Ok(sink.publish(line).err().filter(|t| t.first)),
            Destination::Output(out) => match out.write_line(line) {
                Ok(()) => Ok(None),
                Err(error) => {
                    // What could not be written is dropped, so stopping does not fail on it again.
                    out.writer = Box::new(io::sink());
                    Err(WriteFailure {
                        output: out.name.clone(),
                        error,
                    })
                }
            },
        }
    }

    /// Flushes the file or standard output; the broker has nothing to flush.
    pub fn flush(&mut self) -> Result<(), gst::ErrorMessage> {
        match &mut self.destination {
            Destination::Output(out) => out.flush(),
            Destination::Mqtt(_) => Ok(()),
        }
    }

    /// The broker, to wait for at EOS once this state's lock is released.
    pub fn mqtt(&self) -> Option<Arc<MqttSink>> {
        match &self.destination {
            Destination::Mqtt(sink) => Some(sink.clone()),
            Destination::Output(_) => None,
        }
    }

    /// The broker's counters; `None` when writing to a file or standard output.
    pub fn stats(&self) -> Option<Stats> {
        match &self.destination {
            Destination::Mqtt(sink) => Some(sink.stats()),
            Destination::Output(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use super::*;
    use crate::core::lock::lock;

    /// A writer whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Written(Arc<Mutex<Vec<u8>>>);

    impl Write for Written {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Written {
        fn lines(&self) -> Vec<String> {
            String::from_utf8_lossy(&lock(&self.0))
                .lines()
                .map(str::to_string)
                .collect()
        }
    }

    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("no space left"))
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn state(writer: impl Write + Send + 'static, new_only: bool, changes: bool) -> State {
        let output = Output {
            writer: Box::new(writer),
            name: "'test.jsonl'".into(),
            lines: 0,
        };
        let filters = Filters {
            new_results_only: new_only,
            changes_only: changes,
            ..Filters::default()
        };
        State::new(Destination::Output(output), filters)
    }

    fn result(label: &str, seq: u64) -> Vec<Classification> {
        vec![Classification {
            seq,
            ..Classification::for_test(&[label], &[0.9])
        }]
    }

    fn write_all(state: &mut State, buffers: &[(&str, u64)]) {
        for &(label, seq) in buffers {
            state
                .write(result(label, seq), &Times::default())
                .expect("written");
        }
    }

    const BUFFERS: [(&str, u64); 4] = [("cup", 1), ("cup", 1), ("cup", 2), ("plate", 3)];

    #[test]
    fn every_buffer_with_a_result_is_a_line() {
        let written = Written::default();
        let mut state = state(written.clone(), false, false);
        write_all(&mut state, &BUFFERS);
        state
            .write(Vec::new(), &Times::default())
            .expect("nothing to write");
        assert_eq!(written.lines().len(), 4);
        assert!(state.mqtt().is_none() && state.stats().is_none());
        assert!(state.flush().is_ok());
    }

    #[test]
    fn new_results_only_writes_each_result_once() {
        let written = Written::default();
        let mut state = state(written.clone(), true, false);
        write_all(&mut state, &BUFFERS);
        assert_eq!(written.lines().len(), 3);
    }

    #[test]
    fn changes_only_writes_the_changes_and_overrides_new_results_only() {
        let written = Written::default();
        let mut state = state(written.clone(), true, true);
        write_all(&mut state, &BUFFERS);
        let lines = written.lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines
                .iter()
                .all(|l| l.contains(crate::core::changes::CHANGE_NAME))
        );
        assert!(lines[1].contains("plate"), "{lines:?}");
    }

    #[test]
    fn a_failed_write_names_the_output_and_later_lines_are_dropped() {
        let mut state = state(Full, false, false);
        let failure = state
            .write(result("cup", 1), &Times::default())
            .expect_err("the output is full");
        assert_eq!(failure.output, "'test.jsonl'");
        assert!(failure.error.to_string().contains("no space left"));
        assert!(state.write(result("cup", 2), &Times::default()).is_ok());
        assert!(state.flush().is_ok());
    }
}
