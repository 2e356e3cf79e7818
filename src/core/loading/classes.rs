//! NULL→READY with `classes-dir` or `attach-embedding`: the model's embedding output,
//! the examples embedded (or taken from the cache), and their warnings and errors.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::request::ClassesRequest;
use crate::core::backend::Backend;
use crate::core::classes::{
    self, Built, CacheOptions, ClassSet, ClassesError, Embedder, FolderError, Notice,
    default_cache_dir,
};
use crate::core::model::{MAX_EMBEDDING_WIDTH, ModelSpec};
use crate::core::preprocess::ResizeMode;
use crate::core::report::{Kind, LoadError, Note};

/// What the classifier gets: the custom classes, and the example counts for `stats`.
#[derive(Default)]
pub struct Embedding {
    pub classes: Option<ClassSet>,
    /// Examples embedded and taken from the cache.
    pub examples: Option<(u64, u64)>,
}

/// The cache of `asked`, keyed by the model file `path`.
pub fn cache_options(asked: &ClassesRequest, path: &Path) -> CacheOptions {
    CacheOptions {
        dir: Some(asked.cache_dir.clone().unwrap_or_else(default_cache_dir)),
        model: path.to_path_buf(),
    }
}

pub fn load_error(e: ClassesError) -> LoadError {
    let kind = match e {
        ClassesError::Folder(FolderError::Missing(_)) => Kind::NotFound,
        ClassesError::Folder(_) => Kind::OpenRead,
        ClassesError::TooFew { .. } => Kind::Settings,
        ClassesError::Inference { .. } | ClassesError::Cancelled => Kind::Failed,
    };
    LoadError::new(kind, e)
}

/// The build's warnings, and its cache notes for the debug log.
pub fn report(built: &Built, notes: &mut Vec<Note>) {
    for note in &built.cache_notes {
        notes.push(Note::Debug(format!("classes-dir: {note}")));
    }
    for notice in &built.notices {
        let kind = match notice {
            Notice::CacheRefused { .. } => Kind::Settings,
            _ => Kind::Read,
        };
        notes.push(Note::warning(kind, notice.to_string()));
    }
}

/// The remote backend does not return the embedding output yet.
pub fn refuse_remote(asked: &ClassesRequest) -> Result<(), LoadError> {
    if asked.dir.is_none() && !asked.attach_embedding {
        return Ok(());
    }
    Err(LoadError::new(
        Kind::Settings,
        "classes-dir and attach-embedding need the model's embedding output, which \
         inference-server does not return: unset inference-server to run the model in \
         process, or unset classes-dir and attach-embedding",
    ))
}

/// Which session the examples are embedded on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedOn {
    /// The model's own: at NULL→READY, when no frame flows.
    Model,
    /// One apart from the frames' ([`Backend::aside`]), while frames flow.
    Aside,
}

/// The backend `on` asks for, where `backend` has one apart.
pub fn embedding_backend(backend: &Arc<dyn Backend>, on: EmbedOn) -> Arc<dyn Backend> {
    match on {
        EmbedOn::Model => None,
        EmbedOn::Aside => backend.aside(),
    }
    .unwrap_or_else(|| Arc::clone(backend))
}

/// The examples are embedded as frames are preprocessed: with `spec` and
/// `resize_mode`, on the session `on` says; setting `cancel` stops embedding them (the
/// load fails).
pub fn load(
    asked: &ClassesRequest,
    path: &Path,
    (backend, on): (&Arc<dyn Backend>, EmbedOn),
    (spec, resize_mode): (&ModelSpec, ResizeMode),
    (cancel, notes): (&AtomicBool, &mut Vec<Note>),
) -> Result<Embedding, LoadError> {
    if asked.dir.is_none() && !asked.attach_embedding {
        return Ok(Embedding::default());
    }
    if let Some(width) = backend
        .info()
        .embedding
        .filter(|&w| w > MAX_EMBEDDING_WIDTH)
    {
        return Err(LoadError::new(
            Kind::Settings,
            format!(
                "model '{}' ({}) has an embedding output of {width} values per image; \
                 imgclassify takes at most {MAX_EMBEDDING_WIDTH}: name the pooled features \
                 before the classifier in the metadata key imgclassify.embedding",
                backend.info().name,
                path.display(),
            ),
        ));
    }
    let Some(mut embedder) = Embedder::new(embedding_backend(backend, on), spec, resize_mode)
    else {
        return Err(LoadError::new(
            Kind::Settings,
            format!(
                "model '{}' ({}) has no embedding output, which {} needs: add the pooled \
                 features before the classifier ([N, D] float) as a graph output named \
                 'embedding', or name it in the metadata key imgclassify.embedding \
                 (models/set_metadata.py, models/README.md); the built-in models have one",
                backend.info().name,
                path.display(),
                if asked.dir.is_some() {
                    "classes-dir"
                } else {
                    "attach-embedding"
                }
            ),
        ));
    };
    let Some(dir) = &asked.dir else {
        return Ok(Embedding::default());
    };
    let started = Instant::now();
    let built = classes::build_until(dir, &mut embedder, &cache_options(asked, path), cancel)
        .map_err(load_error)?;
    report(&built, notes);
    notes.push(Note::Info(format!(
        "classes-dir '{}': {} classes ({}), {} examples embedded, {} from the cache, in {:?}",
        dir.display(),
        built.set.labels.len(),
        built.set.labels.join(", "),
        built.embedded,
        built.cached,
        started.elapsed()
    )));
    Ok(Embedding {
        classes: Some(built.set),
        examples: Some((built.embedded, built.cached)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::backend::fake::Fake;

    /// A backend with no session apart (a server, the test backend) embeds through
    /// itself whichever is asked for; one with a session apart gives it only for `Aside`.
    #[test]
    fn the_examples_go_apart_only_where_asked_and_possible() {
        let fake: Arc<dyn Backend> = Arc::new(Fake::new(2, false, None));
        for on in [EmbedOn::Model, EmbedOn::Aside] {
            assert!(Arc::ptr_eq(&embedding_backend(&fake, on), &fake), "{on:?}");
        }

        struct WithAside(Arc<dyn Backend>);
        impl Backend for WithAside {
            fn info(&self) -> &crate::core::backend::ModelInfo {
                self.0.info()
            }
            fn run(
                &self,
                batch: &crate::core::backend::Batch<'_>,
            ) -> Result<crate::core::backend::Scores, crate::core::backend::BackendError>
            {
                self.0.run(batch)
            }
            fn aside(&self) -> Option<Arc<dyn Backend>> {
                Some(Arc::clone(&self.0))
            }
        }
        let with: Arc<dyn Backend> = Arc::new(WithAside(Arc::clone(&fake)));
        assert!(Arc::ptr_eq(
            &embedding_backend(&with, EmbedOn::Model),
            &with
        ));
        assert!(Arc::ptr_eq(
            &embedding_backend(&with, EmbedOn::Aside),
            &fake
        ));
    }
}
