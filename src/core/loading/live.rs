//! While the element runs: a new class set for the model in use when `classes-dir`
//! changed on disk, and what changed, for the bus message that says when it is in use.
//! The new set is built as NULL→READY builds one (same folder scan, cache and rule), so
//! the results from it equal a fresh start's; its examples are embedded on a session
//! apart from the frames' ([`EmbedOn::Aside`]), so no frame waits for one.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::Loaded;
use super::classes::{EmbedOn, cache_options, embedding_backend, load_error, report};
use super::request::ClassesRequest;
use crate::core::classes::{self, ClassSet, Embedder, Notice};
use crate::core::preprocess::ResizeMode;
use crate::core::report::{Kind, LoadError, Note};

/// Why a model replaced the one in use while the element ran.
#[derive(Debug, Clone, PartialEq)]
pub enum Swapped {
    /// The same model with the classes now in `classes-dir`.
    Classes(ClassesChange),
    /// A new model (`model`, `model-file`, `labels-file` or `classes-dir` set).
    Model { name: String, path: PathBuf },
}

/// The class set now in use, and its examples added and removed since the one before
/// (paths in the classes folder, `van/a.jpg`; a photo replaced is in both).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassesChange {
    pub classes: Vec<String>,
    pub examples: usize,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl ClassesChange {
    pub fn between(old: Option<&ClassSet>, new: &ClassSet) -> ClassesChange {
        let none = Vec::new();
        let old_examples = old.map_or(&none, |o| &o.examples);
        let names = |from: &[classes::Example], other: &[classes::Example]| {
            from.iter()
                .filter(|e| !other.contains(e))
                .map(|e| e.path.to_string_lossy().into_owned())
                .collect()
        };
        ClassesChange {
            classes: new.labels.clone(),
            examples: new.examples.len(),
            added: names(&new.examples, old_examples),
            removed: names(old_examples, &new.examples),
        }
    }
}

/// A class of the set in use whose folder is still there but has no usable example
/// now (emptied, unreadable): more likely a copy half done than a class meant to go, so
/// the set in use stays. The error says which and what to do.
fn emptied(notices: &[Notice], in_use: &ClassSet, dir: &std::path::Path) -> Option<LoadError> {
    notices.iter().find_map(|n| match n {
        Notice::EmptyClass { label, .. } | Notice::UnreadableClass { label, .. }
            if in_use.labels.contains(label) =>
        {
            Some(LoadError::new(
                Kind::Read,
                format!(
                    "{n}; the classes in use stay until '{}' has a usable example or is \
                     removed from '{}'",
                    label,
                    dir.display()
                ),
            ))
        }
        _ => None,
    })
}

/// The model in use (`current`) with the classes now in `asked.dir`: None when they did
/// not change. An error (the folder gone, emptied or broken) leaves the set in use; it
/// says why and that the set in use stays.
pub fn reclass(
    current: &Loaded,
    asked: &ClassesRequest,
    resize_mode: ResizeMode,
    cancel: &AtomicBool,
    notes: &mut Vec<Note>,
) -> Result<Option<Loaded>, LoadError> {
    let (Some(dir), Some(in_use)) = (&asked.dir, current.classifier.classes()) else {
        return Ok(None);
    };
    let started = Instant::now();
    let built = build(current, asked, resize_mode, cancel)?;
    // The error names the emptied class itself, and the set in use stays as it was.
    if let Some(e) = emptied(&built.notices, in_use, dir) {
        return Err(e);
    }
    report(&built, notes);
    if built.set == *in_use {
        return Ok(None);
    }
    Ok(Some(with_built(current, built, dir, started, notes)))
}

/// The model in use with the classes of another folder, `asked.dir`, as a start with it
/// would build them: for a new `classes-dir` on the same model, which needs no new
/// model load. An error leaves the classes in use.
pub fn reclass_from(
    current: &Loaded,
    asked: &ClassesRequest,
    resize_mode: ResizeMode,
    cancel: &AtomicBool,
    notes: &mut Vec<Note>,
) -> Result<Loaded, LoadError> {
    let Some(dir) = &asked.dir else {
        return Err(LoadError::new(Kind::Settings, "classes-dir is not set"));
    };
    let started = Instant::now();
    let built = build(current, asked, resize_mode, cancel)?;
    report(&built, notes);
    Ok(with_built(current, built, dir, started, notes))
}

fn build(
    current: &Loaded,
    asked: &ClassesRequest,
    resize_mode: ResizeMode,
    cancel: &AtomicBool,
) -> Result<classes::Built, LoadError> {
    let classifier = &current.classifier;
    let (Some(dir), Some(mut embedder)) = (
        &asked.dir,
        Embedder::new(
            embedding_backend(classifier.backend(), EmbedOn::Aside),
            &current.spec,
            resize_mode,
        ),
    ) else {
        return Err(LoadError::new(
            Kind::Settings,
            "the model in use has no embedding output",
        ));
    };
    let options = cache_options(asked, &current.path);
    classes::build_until(dir, &mut embedder, &options, cancel).map_err(|e| {
        let e = load_error(e);
        LoadError::new(e.kind, format!("{}; the classes in use stay", e.message))
    })
}

fn with_built(
    current: &Loaded,
    built: classes::Built,
    dir: &std::path::Path,
    started: Instant,
    notes: &mut Vec<Note>,
) -> Loaded {
    let change = ClassesChange::between(current.classifier.classes(), &built.set);
    notes.push(Note::Info(format!(
        "classes-dir '{}' in use: {} classes ({}), {} examples ({} added, {} removed), \
         {} embedded, {} from the cache, in {:?}",
        dir.display(),
        change.classes.len(),
        change.classes.join(", "),
        change.examples,
        change.added.len(),
        change.removed.len(),
        built.embedded,
        built.cached,
        started.elapsed()
    )));
    Loaded {
        classifier: Arc::new(current.classifier.with_classes(built.set)),
        spec: current.spec.clone(),
        latency: current.latency,
        examples: Some((built.embedded, built.cached)),
        path: current.path.clone(),
        swapped: Some(Swapped::Classes(change)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::classes::{Example, rule::Rule};

    fn set(labels: &[&str], examples: &[(&str, u8)]) -> ClassSet {
        let mut set = ClassSet::new(
            labels.iter().map(|l| l.to_string()).collect(),
            Rule::fit(std::iter::empty(), 0, 1),
            Vec::new(),
        );
        set.examples = examples
            .iter()
            .map(|&(path, content)| Example {
                path: PathBuf::from(path),
                sha256: [content; 32],
            })
            .collect();
        set
    }

    #[test]
    fn a_change_lists_examples_added_removed_and_replaced() {
        let old = set(&["car", "van"], &[("car/a.jpg", 1), ("van/b.jpg", 2)]);
        let new = set(
            &["car", "truck", "van"],
            &[("car/a.jpg", 9), ("truck/c.jpg", 3), ("van/b.jpg", 2)],
        );
        let change = ClassesChange::between(Some(&old), &new);
        assert_eq!(change.classes, ["car", "truck", "van"]);
        assert_eq!(change.examples, 3);
        assert_eq!(change.added, ["car/a.jpg", "truck/c.jpg"]);
        assert_eq!(change.removed, ["car/a.jpg"]);
    }

    #[test]
    fn an_emptied_class_of_the_set_in_use_keeps_the_set_and_says_so() {
        let in_use = set(&["car", "van"], &[]);
        let dir = std::path::Path::new("/c");
        let empty = |label: &str| Notice::EmptyClass {
            label: label.into(),
            dir: dir.join(label),
        };
        let e = emptied(&[empty("van")], &in_use, dir).expect("kept");
        assert!(e.message.contains("'van'"), "{}", e.message);
        assert!(e.message.contains("classes in use stay"), "{}", e.message);
        // A new folder still empty is left out, as at a start.
        assert!(emptied(&[empty("truck")], &in_use, dir).is_none());
    }
}
