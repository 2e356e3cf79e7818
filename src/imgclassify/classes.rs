//! NULL→READY with `classes-dir` or `attach-embedding`: the model's embedding output,
//! the examples embedded (or taken from the cache), and their warnings and errors.

use std::sync::Arc;
use std::time::Instant;

use super::CAT;
use super::request::LoadRequest;
use crate::backend::Backend;
use crate::classes::{
    self, CacheOptions, ClassSet, ClassesError, Embedder, FolderError, default_cache_dir,
};
use crate::model::ModelSpec;

/// What the classifier gets: the custom classes, and the example counts for `stats`.
pub struct Embedding {
    pub classes: Option<ClassSet>,
    /// Examples embedded and taken from the cache.
    pub examples: Option<(u64, u64)>,
}

/// The remote backend does not return the embedding output yet.
pub fn refuse_remote(request: &LoadRequest) -> Result<(), gst::ErrorMessage> {
    if request.classes.dir.is_none() && !request.classes.attach_embedding {
        return Ok(());
    }
    Err(gst::error_msg!(
        gst::LibraryError::Settings,
        ("classes-dir and attach-embedding need the model's embedding output, which \
             inference-server does not return: unset inference-server to run the model in \
             process, or unset classes-dir and attach-embedding")
    ))
}

pub fn load(
    element: &super::ImgClassify,
    request: &LoadRequest,
    path: &std::path::Path,
    backend: &Arc<dyn Backend>,
    spec: &ModelSpec,
) -> Result<Embedding, gst::ErrorMessage> {
    let none = Embedding {
        classes: None,
        examples: None,
    };
    let asked = &request.classes;
    if asked.dir.is_none() && !asked.attach_embedding {
        return Ok(none);
    }
    let Some(mut embedder) = Embedder::new(Arc::clone(backend), spec, asked.resize_mode) else {
        return Err(gst::error_msg!(
            gst::LibraryError::Settings,
            (
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
            )
        ));
    };
    let Some(dir) = &asked.dir else {
        return Ok(none);
    };
    let started = Instant::now();
    let options = CacheOptions {
        dir: Some(asked.cache_dir.clone().unwrap_or_else(default_cache_dir)),
        model: path.to_path_buf(),
    };
    let built = classes::build(dir, &mut embedder, &options).map_err(|e| match e {
        ClassesError::Folder(FolderError::Missing(_)) => {
            gst::error_msg!(gst::ResourceError::NotFound, ("{}", e))
        }
        ClassesError::Folder(_) => gst::error_msg!(gst::ResourceError::OpenRead, ("{}", e)),
        ClassesError::TooFew { .. } => gst::error_msg!(gst::LibraryError::Settings, ("{}", e)),
        ClassesError::Inference { .. } => gst::error_msg!(gst::LibraryError::Failed, ("{}", e)),
    })?;
    for note in &built.cache_notes {
        gst::debug!(CAT, obj = element, "classes-dir: {}", note);
    }
    for notice in &built.notices {
        gst::element_warning!(element, gst::ResourceError::Read, ("{}", notice));
    }
    gst::info!(
        CAT,
        obj = element,
        "classes-dir '{}': {} classes ({}), {} examples embedded, {} from the cache, in {:?}",
        dir.display(),
        built.set.labels.len(),
        built.set.labels.join(", "),
        built.embedded,
        built.cached,
        started.elapsed()
    );
    Ok(Embedding {
        classes: Some(built.set),
        examples: Some((built.embedded, built.cached)),
    })
}
