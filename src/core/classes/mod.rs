//! Custom classes from a few example photos (`classes-dir`): a folder of class folders,
//! each example embedded by the model with the frames' preprocessing, cached on disk, and
//! the few-shot rule that scores a frame's embedding against them. No GStreamer here: the
//! element, the command-line helper and the benchmark use the same code.

pub mod cache;
pub mod decode;
pub mod folder;
pub mod rule;
pub mod threshold;
pub mod watch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::core::backend::{Backend, Batch, batching};
use crate::core::model::ModelSpec;
use crate::core::postprocess::Labelled;
use crate::core::preprocess::{FrameView, PixelFormat, Preprocessor, ResizeMode, YuvMatrix};
pub use decode::Rgb;
pub use folder::FolderError;
pub use rule::{Rule, normalise};

/// The label of a frame whose best class scores below `min-similarity`.
pub const UNKNOWN: &str = "unknown";

/// Embeds images as the element embeds frames: the same preprocessing (resize mode,
/// crop, channel order, normalisation), then the model's embedding output, at unit length.
pub struct Embedder {
    backend: Arc<dyn Backend>,
    preprocessor: Preprocessor,
    tensor: Vec<f32>,
    width: usize,
    /// What else than the model decides the embeddings, for the cache key.
    preprocessing: String,
}

impl Embedder {
    /// None when the model has no embedding output.
    pub fn new(backend: Arc<dyn Backend>, spec: &ModelSpec, mode: ResizeMode) -> Option<Embedder> {
        let width = backend.info().embedding?;
        Some(Embedder {
            backend,
            preprocessor: Preprocessor::new(spec.tensor.clone(), mode, spec.crop_fraction),
            tensor: vec![0.0; spec.tensor.len()],
            width,
            preprocessing: format!("{:?} {:?} {}", spec.tensor, mode, spec.crop_fraction),
        })
    }

    /// The embedding's number of values.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The unit-length embedding of one upright RGB image.
    pub fn embed(&mut self, image: &Rgb) -> Result<Vec<f32>, String> {
        let view = FrameView::new(
            PixelFormat::Rgb,
            (image.width, image.height),
            &[&image.pixels],
            &[image.width * 3],
            YuvMatrix::BT601,
        )
        .map_err(|e| e.to_string())?;
        self.preprocessor
            .run(&view, &mut self.tensor)
            .map_err(|e| e.to_string())?;
        let batch = Batch {
            embed: true,
            ..Batch::new(&self.tensor, 1)
        };
        let scores = batching::run(self.backend.as_ref(), &batch).map_err(|e| e.to_string())?;
        let mut embedding = scores.embeddings;
        if embedding.len() != self.width || !normalise(&mut embedding) {
            return Err("the model gave an empty or non-finite embedding".to_string());
        }
        Ok(embedding)
    }
}

/// The classes in use: their labels (folder names), the fitted rule, each class's own
/// threshold for `min-similarity=-1` (auto), and the examples.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSet {
    pub labels: Vec<String>,
    rule: Rule,
    thresholds: Vec<f32>,
    /// The examples the rule was fitted to, so a rebuilt set can say what changed.
    pub examples: Vec<Example>,
}

/// One example in use: its path in the classes folder (`van/a.jpg`) and its content.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub path: PathBuf,
    pub sha256: [u8; 32],
}

/// An image's best class: its cosine similarity, and that class's own threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Best {
    pub similarity: f32,
    pub auto_threshold: f32,
}

impl Best {
    /// The threshold `min_similarity` stands for: itself, or the class's own when auto.
    pub fn threshold(&self, min_similarity: f64) -> f64 {
        if threshold::is_auto(min_similarity) {
            f64::from(self.auto_threshold)
        } else {
            min_similarity
        }
    }
}

impl ClassSet {
    /// `thresholds`: one per class (see [`threshold::derive`]); missing ones are 0.
    pub fn new(labels: Vec<String>, rule: Rule, thresholds: Vec<f32>) -> ClassSet {
        ClassSet {
            labels,
            rule,
            thresholds,
            examples: Vec::new(),
        }
    }

    /// Each class's score in [0, 1] for a unit-length embedding, in `labels` order;
    /// returns the best class's cosine similarity (see [`Rule::scores`]).
    pub fn scores(&self, embedding: &[f32], out: &mut Vec<f32>) -> f32 {
        self.rule.scores(embedding, out)
    }

    /// [`ClassSet::scores`], with the best class's own threshold.
    pub fn best(&self, embedding: &[f32], out: &mut Vec<f32>) -> Best {
        let similarity = self.scores(embedding, out);
        // The softmax keeps the order of the similarities: its largest is the best class.
        let class = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        Best {
            similarity,
            auto_threshold: self.thresholds.get(class).copied().unwrap_or(0.0),
        }
    }

    /// Each class's threshold for `min-similarity=-1`, in `labels` order.
    pub fn thresholds(&self) -> &[f32] {
        &self.thresholds
    }
}

/// A ranked result whose best class's cosine similarity (`similarity`) is below
/// `min_similarity` becomes the one label [`UNKNOWN`], with the best class's score and
/// class id = the number of classes.
pub fn or_unknown(
    labelled: Labelled,
    similarity: f64,
    min_similarity: f64,
    classes: usize,
) -> Labelled {
    match labelled.scores.first() {
        Some(&best) if similarity < min_similarity => Labelled {
            labels: vec![UNKNOWN.to_string()],
            class_ids: vec![classes as u32],
            scores: vec![best],
        },
        _ => labelled,
    }
}

/// Something wrong with one example or class, or with the cache; the rest still works.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// Not an image, corrupt, too large, unreadable, or no embedding: left out. `why`
    /// says what to do.
    Skipped { path: PathBuf, why: String },
    /// A class folder without one usable example: the class is left out.
    EmptyClass { label: String, dir: PathBuf },
    /// A class folder that cannot be listed: the class is left out.
    UnreadableClass {
        label: String,
        dir: PathBuf,
        why: String,
    },
    /// A class folder whose label an earlier one has: left out.
    SameLabel(folder::SameLabel),
    /// The cache folder is not used, and nothing is cached.
    CacheRefused { dir: PathBuf, why: String },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::Skipped { path, why } => write!(
                f,
                "classes-dir: example '{}' skipped: {}",
                path.display(),
                why
            ),
            Notice::EmptyClass { label, dir } => write!(
                f,
                "classes-dir: class '{}' has no usable JPEG or PNG example in '{}' and is left out",
                label,
                dir.display()
            ),
            Notice::UnreadableClass { label, dir, why } => write!(
                f,
                "classes-dir: class '{}' is left out: its folder '{}' cannot be read ({}); \
                 let the user running the pipeline read it",
                label,
                dir.display(),
                why
            ),
            Notice::SameLabel(same) => write!(
                f,
                "classes-dir: folder '{}' is left out: its name reads as '{}', as does \
                 folder '{}' (bytes that are not UTF-8 are shown as U+FFFD); rename one of them",
                same.left_out.display(),
                same.label,
                same.kept.display()
            ),
            Notice::CacheRefused { dir, why } => write!(
                f,
                "classes-dir: cache folder '{}' is not used: {}",
                dir.display(),
                why
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClassesError {
    #[error("{0}")]
    Folder(#[from] FolderError),
    #[error(
        "classes-dir '{}' needs at least two classes with usable examples (one sub-folder \
         of JPEG or PNG photos per class), found {}",
        dir.display(),
        if usable.is_empty() { "none".to_string() } else { format!("only '{}'", usable.join("', '")) }
    )]
    TooFew { dir: PathBuf, usable: Vec<String> },
    #[error("classes-dir: embedding '{}' failed: {why}", path.display())]
    Inference { path: PathBuf, why: String },
    /// The element stopped while the classes were being built.
    #[error("classes-dir: building the classes was stopped")]
    Cancelled,
}

/// What building the classes did.
#[derive(Debug)]
pub struct Built {
    pub set: ClassSet,
    pub notices: Vec<Notice>,
    /// Examples embedded now, and examples taken from the cache.
    pub embedded: u64,
    pub cached: u64,
    /// Why the cache was not read or written, for the debug log.
    pub cache_notes: Vec<String>,
}

/// Where the cache lives and what it is keyed by.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// None: no cache.
    pub dir: Option<PathBuf>,
    /// The model file, whose content keys the cache.
    pub model: PathBuf,
}

/// The cache file for this model content, preprocessing and classes folder, in the
/// cache folder `root`.
fn cache_file(
    root: &Path,
    model: &Path,
    embedder: &Embedder,
    dir: &Path,
    notes: &mut Vec<String>,
) -> Option<PathBuf> {
    let model = match cache::model_sha256(Some(root), model) {
        Ok(hash) => hash,
        Err(e) => {
            notes.push(format!(
                "no cache: model '{}' cannot be hashed: {e}",
                model.display()
            ));
            return None;
        }
    };
    let folder = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut key = format!("{model}\n{}\n", embedder.preprocessing).into_bytes();
    key.extend(std::os::unix::ffi::OsStrExt::as_bytes(folder.as_os_str()));
    Some(root.join(format!("{}.bin", cache::hex(&cache::sha256(&key)))))
}

/// Scans `dir`, embeds each example (or takes it from the cache) and fits the rule.
pub fn build(
    dir: &Path,
    embedder: &mut Embedder,
    options: &CacheOptions,
) -> Result<Built, ClassesError> {
    build_until(dir, embedder, options, &AtomicBool::new(false))
}

/// [`build`], given up between two examples once `cancel` is set, so stopping the
/// element waits for one example's inference at most, not for a whole folder's.
pub fn build_until(
    dir: &Path,
    embedder: &mut Embedder,
    options: &CacheOptions,
    cancel: &AtomicBool,
) -> Result<Built, ClassesError> {
    let folder = folder::scan(dir)?;
    let mut notes = Vec::new();
    let mut notices: Vec<Notice> = folder
        .same_label
        .iter()
        .cloned()
        .map(Notice::SameLabel)
        .collect();
    let root = options
        .dir
        .as_deref()
        .filter(|root| match cache::open_dir(root) {
            Ok(()) => true,
            Err(why) => {
                notices.push(Notice::CacheRefused {
                    dir: root.to_path_buf(),
                    why,
                });
                false
            }
        });
    let file = root.and_then(|root| cache_file(root, &options.model, embedder, dir, &mut notes));
    let old = match &file {
        Some(f) if f.exists() => cache::read(f, embedder.width()).unwrap_or_else(|why| {
            notes.push(format!("cache '{}' ignored: {why}", f.display()));
            Vec::new()
        }),
        _ => Vec::new(),
    };
    let by_path: HashMap<&Path, &cache::Entry> =
        old.iter().map(|e| (e.path.as_path(), e)).collect();
    let by_hash: HashMap<[u8; 32], &cache::Entry> = old.iter().map(|e| (e.sha256, e)).collect();
    let (mut embedded, mut cached) = (0, 0);
    let mut entries = Vec::new();
    let mut labels = Vec::new();
    let mut examples: Vec<(usize, usize)> = Vec::new();
    for class in &folder.classes {
        if let Some(why) = &class.unreadable {
            notices.push(Notice::UnreadableClass {
                label: class.label.clone(),
                dir: class.dir.clone(),
                why: why.clone(),
            });
            continue;
        }
        let before = entries.len();
        for path in &class.files {
            if cancel.load(Ordering::Acquire) {
                return Err(ClassesError::Cancelled);
            }
            let skip = |why: String| Notice::Skipped {
                path: path.clone(),
                why,
            };
            let unusable = |why: String| skip(format!("{why}; use JPEG or PNG photos"));
            let relative = path.strip_prefix(dir).unwrap_or(path).to_path_buf();
            let (size, mtime_ns) = match std::fs::metadata(path) {
                Ok(meta) => cache::stamp(&meta),
                Err(e) => {
                    notices.push(unusable(e.to_string()));
                    continue;
                }
            };
            if let Some(e) = by_path
                .get(relative.as_path())
                .filter(|e| e.size == size && e.mtime_ns == mtime_ns)
            {
                cached += 1;
                entries.push((*e).clone());
                continue;
            }
            let bytes = match crate::core::files::read_regular(path, decode::MAX_FILE_BYTES) {
                Ok(bytes) => bytes,
                Err(problem) => {
                    notices.push(unusable(problem.to_string()));
                    continue;
                }
            };
            let sha256 = cache::sha256(&bytes);
            let embedding = if let Some(e) = by_hash.get(&sha256) {
                cached += 1;
                e.embedding.clone()
            } else {
                let image = match decode::decode(&bytes) {
                    Ok(image) => image,
                    Err(why) => {
                        notices.push(skip(why));
                        continue;
                    }
                };
                embedded += 1;
                embedder
                    .embed(&image)
                    .map_err(|why| ClassesError::Inference {
                        path: path.clone(),
                        why,
                    })?
            };
            entries.push(cache::Entry {
                path: relative,
                size,
                mtime_ns,
                sha256,
                embedding,
            });
        }
        if entries.len() == before {
            notices.push(Notice::EmptyClass {
                label: class.label.clone(),
                dir: class.dir.clone(),
            });
            continue;
        }
        examples.extend((before..entries.len()).map(|i| (labels.len(), i)));
        labels.push(class.label.clone());
    }
    if labels.len() < 2 {
        return Err(ClassesError::TooFew {
            dir: dir.to_path_buf(),
            usable: labels,
        });
    }
    if let Some(f) = &file
        && entries != old
        && let Err(e) = cache::write(f, embedder.width(), &entries)
    {
        notes.push(format!("cache '{}' not written: {e}", f.display()));
    }
    let of_class = || {
        examples
            .iter()
            .map(|&(class, i)| (class, entries[i].embedding.as_slice()))
    };
    let rule = Rule::fit(of_class(), labels.len(), embedder.width());
    let thresholds = threshold::derive(of_class(), labels.len(), embedder.width());
    let examples = entries
        .iter()
        .map(|e| Example {
            path: e.path.clone(),
            sha256: e.sha256,
        })
        .collect();
    Ok(Built {
        set: ClassSet {
            labels,
            rule,
            thresholds,
            examples,
        },
        notices,
        embedded,
        cached,
        cache_notes: notes,
    })
}

/// The default cache folder: `$XDG_CACHE_HOME/imgclassify/classes`, else
/// `~/.cache/imgclassify/classes`.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("imgclassify")
        .join("classes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_min_similarity_is_unknown() {
        let ranked = Labelled {
            labels: vec!["car".into(), "van".into()],
            class_ids: vec![0, 1],
            scores: vec![0.4, 0.3],
        };
        let out = or_unknown(ranked.clone(), 0.45, 0.5, 2);
        assert_eq!(out.labels, vec![UNKNOWN]);
        assert_eq!(out.class_ids, vec![2]);
        assert_eq!(out.scores, vec![0.4]);
        assert_eq!(or_unknown(ranked.clone(), 0.5, 0.5, 2), ranked);
        assert_eq!(
            or_unknown(Labelled::default(), 0.1, 0.5, 2),
            Labelled::default()
        );
    }

    #[test]
    fn notices_about_folders_name_them_and_say_what_to_do() {
        let unreadable = Notice::UnreadableClass {
            label: "van".into(),
            dir: PathBuf::from("/c/van"),
            why: "permission denied".into(),
        };
        assert_eq!(
            unreadable.to_string(),
            "classes-dir: class 'van' is left out: its folder '/c/van' cannot be read \
             (permission denied); let the user running the pipeline read it"
        );
        let same = Notice::SameLabel(folder::SameLabel {
            label: "x\u{FFFD}".into(),
            kept: PathBuf::from("/c/x\u{FFFD}1"),
            left_out: PathBuf::from("/c/x\u{FFFD}2"),
        });
        assert_eq!(
            same.to_string(),
            "classes-dir: folder '/c/x\u{FFFD}2' is left out: its name reads as 'x\u{FFFD}', \
             as does folder '/c/x\u{FFFD}1' (bytes that are not UTF-8 are shown as U+FFFD); \
             rename one of them"
        );
    }
}
