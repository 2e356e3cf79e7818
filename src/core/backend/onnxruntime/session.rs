//! One ONNX Runtime session for a classification model: provider selection with
//! explicit fallback, model checks, a warm-up run, and inference.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ort::ep::{CUDA, TensorRT};
use ort::session::builder::{PrepackedWeights, SessionBuilder};
use ort::session::{OutputSelector, RunOptions, Session};

use super::error::{EngineError, Failure, LoadError};
use super::inspect::inspect;
use super::io;
use super::pool::{Demand, Pool};
use super::provider::{Active, Kind, ProviderOptions, engine_dir};
use super::runtime::runtime;
use super::spin_mode::{SpinMode, Spinning};
use super::spinning::Spinner;
use super::threads::{default_threads, divides_cores, intra_threads};
use crate::core::backend::{BackendError, ElementType, ModelInfo};
use crate::core::lock::lock;
use crate::core::model::{Layout, TensorSpec};

/// Session settings chosen by the user; equal options share a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EngineOptions {
    /// Intra-op threads; 0 leaves ONNX Runtime's default.
    pub threads: usize,
    pub provider: ProviderOptions,
    /// Square size to run a model with dynamic height and width at (`input-size`);
    /// None = the model's own. Sessions at different sizes are never shared, since the
    /// spec, and a TensorRT engine, belong to one size.
    pub input_size: Option<usize>,
    /// The output to read scores from (`output-name`); None = the first that fits.
    pub output_name: Option<String>,
    /// Whether the intra-op threads spin (`spinning`).
    pub spinning: Spinning,
}

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Sessions alive in this process (for leak checks).
pub fn live_sessions() -> usize {
    LIVE.load(Ordering::SeqCst)
}

/// A loaded model on one provider; shared by every element with the same options.
pub struct SharedModel {
    sessions: Pool,
    /// What the holders ask of the pool's size.
    pub demand: Demand,
    /// What another session of the pool is built from.
    path: PathBuf,
    options: EngineOptions,
    /// Weights ONNX Runtime has repacked for its kernels, kept once for all sessions.
    prepacked: PrepackedWeights,
    /// Serialises growing the pool; holds the intra-op threads its sessions were built
    /// with for `threads=0` (None where they are not divided, see [`threads_for`]).
    growing: Mutex<Option<usize>>,
    input_name: String,
    /// The output scores are read from, and its element type.
    output_name: String,
    output_type: ElementType,
    /// The embedding output and its element type, if the model has one.
    embedding: Option<(String, ElementType)>,
    pub info: ModelInfo,
    pub active: Active,
    /// Providers tried before `active`, with ONNX Runtime's reasons.
    pub failures: Vec<Failure>,
    pub warm_up: WarmUp,
    /// How the sessions' threads wait for work, and with `spinning=auto` what decides it.
    pub spinner: Spinner,
}

/// The one inference run at load, on all-zero input.
#[derive(Debug, Clone)]
pub struct WarmUp {
    /// The scores of the first image.
    pub row: Vec<f32>,
    /// Time per image.
    pub per_image: Duration,
    /// Why a model that declares a batch axis is run one image at a time.
    pub batch_refused: Option<String>,
}

impl Drop for SharedModel {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// ONNX files are protobuf messages, which cannot exceed 2 GiB.
const MAX_MODEL_BYTES: u64 = 2 << 30;

fn check_file(path: &Path) -> Result<(), EngineError> {
    crate::core::files::open_regular(path, MAX_MODEL_BYTES)
        .map(drop)
        .map_err(|problem| EngineError::ModelFile {
            path: path.to_path_buf(),
            problem: problem.to_string(),
        })
}

/// Measuring only: `0` builds every session of a pool without the shared
/// prepacked-weights container, so the memory it saves can be measured.
pub const SHARED_PREPACK_ENV: &str = "IMGCLASSIFY_SHARED_PREPACK";

fn shared_prepack() -> bool {
    std::env::var(SHARED_PREPACK_ENV).map_or(true, |v| v.trim() != "0")
}

fn base_builder(
    options: &EngineOptions,
    prepacked: &PrepackedWeights,
) -> Result<SessionBuilder, LoadError> {
    let rt = runtime()?;
    let mut builder = Session::builder(&rt.environment)?;
    for (key, value) in options.spinning.initial().config_entries() {
        builder = builder.with_config_entry(key, value)?;
    }
    if shared_prepack() {
        builder = builder.with_prepacked_weights(prepacked)?;
    }
    if let Some(threads) = intra_threads(options.threads) {
        builder = builder.with_intra_threads(threads)?;
    }
    Ok(builder)
}

/// Hands the memory of replaced sessions back to the system: glibc keeps freed memory
/// for reuse, and a replaced session's would stay resident for nothing.
pub(super) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory at the top of glibc's heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The intra-op threads each of `sessions` sessions gets where `threads=0` divides the
/// cores among them: one session keeps all cores, two on two cores get one each, so
/// their threads do not outnumber the cores and one stream's inferences cannot crowd
/// out another's (docs/streams.md). None where the count is not divided: a thread count
/// set by the user, or ONNX Runtime's own default asked for by the measuring switch.
fn threads_for(options: &EngineOptions, sessions: usize) -> Option<usize> {
    (options.threads == 0 && divides_cores()).then(|| (default_threads() / sessions.max(1)).max(1))
}

fn sha256_of(path: &Path) -> Result<String, LoadError> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path)?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// TensorRT's optimisation profile for one image of the size the element feeds, so the
/// engine is built for that size (with `input-size`, not the model's own).
fn profile_shape(input: &str, t: &TensorSpec) -> String {
    match t.layout {
        Layout::Nchw => format!("{input}:1x{}x{}x{}", t.channels, t.height, t.width),
        Layout::Nhwc => format!("{input}:1x{}x{}x{}", t.height, t.width, t.channels),
    }
}

/// Builds a session on `kind`, or says why ONNX Runtime refused.
fn commit_on(
    kind: Kind,
    path: &Path,
    options: &EngineOptions,
    prepacked: &PrepackedWeights,
) -> Result<Session, LoadError> {
    let p = &options.provider;
    let base_builder = |options| base_builder(options, prepacked);
    let builder = base_builder(options)?;
    let builder = match kind {
        Kind::Cpu => builder,
        Kind::Cuda => builder.with_execution_providers([CUDA::default()
            .with_device_id(p.device_id)
            .build()
            .error_on_failure()])?,
        Kind::TensorRt => {
            // Registration fails fast where the library lacks TensorRT; only then is
            // it worth reading the model's shape for the engine's profile.
            base_builder(options)?.with_execution_providers([TensorRT::default()
                .with_device_id(p.device_id)
                .build()
                .error_on_failure()])?;
            let probe = base_builder(options)?.commit_from_file(path)?;
            let seen = inspect(
                &probe,
                path,
                (options.input_size, options.output_name.as_deref()),
            )?;
            drop(probe);
            let t = &seen.spec.tensor;
            let shape = profile_shape(&seen.input, t);
            let root = p.engine_cache_root();
            let dir = engine_dir(
                &root,
                &sha256_of(path)?,
                p.device_id,
                p.fp16,
                (t.width, t.height),
            );
            std::fs::create_dir_all(&dir).map_err(|source| LoadError::EngineCache {
                path: dir.clone(),
                source,
            })?;
            let dir = dir.display().to_string();
            builder.with_execution_providers([TensorRT::default()
                .with_device_id(p.device_id)
                .with_fp16(p.fp16)
                .with_engine_cache(true)
                .with_engine_cache_path(&dir)
                .with_timing_cache(true)
                .with_timing_cache_path(&dir)
                .with_profile_min_shapes(&shape)
                .with_profile_opt_shapes(&shape)
                .with_profile_max_shapes(&shape)
                .build()
                .error_on_failure()])?
        }
    };
    let mut builder = builder;
    Ok(builder.commit_from_file(path)?)
}

/// What a model file takes and gives, read from a CPU session that is dropped at once:
/// the remote backend takes its preprocessing, labels and class count from here while
/// the server runs the model.
pub fn describe(path: &Path, options: &EngineOptions) -> Result<ModelInfo, EngineError> {
    runtime()?;
    check_file(path)?;
    let session = commit_on(Kind::Cpu, path, options, &PrepackedWeights::new())
        .map_err(|source| EngineError::unloadable(path, source))?;
    let seen = inspect(
        &session,
        path,
        (options.input_size, options.output_name.as_deref()),
    )
    .map_err(|source| EngineError::Model {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(seen.info(path))
}

impl SharedModel {
    /// Loads the model on the first provider of the chain that works, checks it is an
    /// image classifier and runs it once so the first real frame is not slow.
    pub fn load(path: &Path, options: &EngineOptions) -> Result<SharedModel, EngineError> {
        runtime()?;
        check_file(path)?;
        let mut failures = Vec::new();
        let mut chosen = None;
        let prepacked = PrepackedWeights::new();
        for kind in options.provider.chain() {
            match commit_on(kind, path, options, &prepacked) {
                Ok(session) => {
                    chosen = Some((kind, session));
                    break;
                }
                // On CPU nothing is left to fall back to: the model itself is at fault.
                Err(source) if kind == Kind::Cpu => {
                    return Err(EngineError::unloadable(path, source));
                }
                Err(reason) => failures.push(Failure {
                    kind,
                    reason: Arc::new(reason),
                }),
            }
        }
        let Some((kind, session)) = chosen else {
            return Err(EngineError::Provider { failures });
        };
        let model_err = |source: LoadError| EngineError::Model {
            path: path.to_path_buf(),
            source,
        };
        let seen = inspect(
            &session,
            path,
            (options.input_size, options.output_name.as_deref()),
        )
        .map_err(model_err)?;
        let active = Active {
            kind,
            device_id: options.provider.device_id,
        };
        let mut info = seen.info(path);
        info.placement.provider = active.to_string();
        LIVE.fetch_add(1, Ordering::SeqCst);
        let mut model = SharedModel {
            sessions: Pool::new(session),
            demand: Demand::default(),
            path: path.to_path_buf(),
            options: options.clone(),
            prepacked,
            growing: Mutex::new(threads_for(options, 1)),
            input_name: seen.input,
            output_name: seen.output,
            output_type: seen.output_type,
            embedding: seen.embedding.map(|(name, ty, _)| (name, ty)),
            info,
            active,
            failures,
            spinner: Spinner::new(options.spinning, kind == Kind::Cpu),
            warm_up: WarmUp {
                row: Vec::new(),
                per_image: Duration::ZERO,
                batch_refused: None,
            },
        };
        model.warm_up = model.warm_up().map_err(model_err)?;
        model.reshape(threads_for(options, 1));
        Ok(model)
    }

    /// Adds sessions, each warmed up, until the pool holds `wanted`; a session that
    /// cannot be built leaves the pool as it is, still working, only narrower. With
    /// `threads=0` the cores are divided among the sessions: when that changes their
    /// thread count, a whole new set is built and put in place of the old one.
    pub fn grow_to(&self, wanted: usize) -> Result<(), LoadError> {
        let mut built_with = lock(&self.growing);
        let size = self.sessions.size();
        if size >= wanted {
            return Ok(());
        }
        let threads = threads_for(&self.options, wanted);
        if threads != *built_with {
            let options = self.options_now(threads);
            let sessions = (0..wanted)
                .map(|_| self.new_session(&options))
                .collect::<Result<Vec<_>, _>>()?;
            self.sessions.replace(sessions);
            *built_with = threads;
            self.reshape(threads);
            release_freed_memory();
            return Ok(());
        }
        let options = self.options_now(*built_with);
        while self.sessions.size() < wanted {
            let session = self.new_session(&options)?;
            self.sessions.add(session);
        }
        self.reshape(*built_with);
        Ok(())
    }

    /// Tells the spinner the pool's shape: `spinning=auto` weighs the cores its threads
    /// would spin on against what others use.
    fn reshape(&self, built_with: Option<usize>) {
        let threads = match built_with.unwrap_or(self.options.threads) {
            0 => default_threads(),
            n => n,
        };
        self.spinner.shaped(threads, self.sessions.size());
    }

    /// What a new session is built with: the thread count the pool's sessions have now
    /// (see [`threads_for`]), and the spinning mode they have now.
    fn options_now(&self, threads: Option<usize>) -> EngineOptions {
        EngineOptions {
            threads: threads.unwrap_or(self.options.threads),
            spinning: Spinning::Fixed(self.spinner.mode()),
            ..self.options.clone()
        }
    }

    /// Rebuilds every session of the pool with `mode` (`spinning=auto` trying a mode or
    /// going back); run off the streaming thread, while the old sessions keep running.
    /// A session that cannot be built leaves the pool as it was, and `auto` stays with
    /// what the pool has. Called only when the mode changes.
    pub fn respin(&self, from: SpinMode, mode: SpinMode) {
        let built_with = lock(&self.growing);
        let options = EngineOptions {
            spinning: Spinning::Fixed(mode),
            ..self.options_now(*built_with)
        };
        let sessions = (0..self.sessions.size())
            .map(|_| self.new_session(&options))
            .collect::<Result<Vec<_>, _>>();
        match sessions {
            Ok(sessions) => {
                self.sessions.replace(sessions);
                self.spinner.rebuilt(mode);
            }
            Err(_) => self.spinner.give_up(from),
        }
        drop(built_with);
        release_freed_memory();
    }

    /// A session of this model on its provider, warmed up.
    fn new_session(&self, options: &EngineOptions) -> Result<Session, LoadError> {
        let mut session = commit_on(self.active.kind, &self.path, options, &self.prepacked)?;
        let images = if self.info.batchable { 2 } else { 1 };
        let zeros = vec![0.0f32; images * self.info.spec.tensor.len()];
        self.run_on(&mut session, &zeros, images, false)?;
        Ok(session)
    }

    /// A session of this model apart from the pool ([`super::aside`]): the same file,
    /// provider and weights, with one intra-op thread that does not spin, since it runs
    /// beside the pool's sessions on cores the frames use. Not warmed up: its first
    /// inference is a real one, on a thread no frame waits for.
    pub(super) fn aside_session(&self) -> Result<Session, LoadError> {
        let options = EngineOptions {
            threads: 1,
            spinning: Spinning::Fixed(SpinMode::Off),
            ..self.options.clone()
        };
        commit_on(self.active.kind, &self.path, &options, &self.prepacked)
    }

    /// Runs the one warm-up inference, so the first real frame is not slow. A model that
    /// declares a batch axis runs it with two images: some exports declare one but fix
    /// the batch at 1 inside, and those are then run one image at a time.
    fn warm_up(&mut self) -> Result<WarmUp, LoadError> {
        let len = self.info.spec.tensor.len();
        let images = if self.info.batchable { 2 } else { 1 };
        let started = Instant::now();
        let scores = match self.run_batch(&vec![0.0f32; images * len], images, false) {
            Ok((scores, _, _)) => scores,
            Err(e) if images > 1 => {
                self.info.batchable = false;
                let mut single = self.warm_up()?;
                single.batch_refused = Some(e.to_string());
                return Ok(single);
            }
            Err(e) => return Err(e.into()),
        };
        Ok(WarmUp {
            row: scores[..self.info.spec.classes.min(scores.len())].to_vec(),
            per_image: started.elapsed() / images as u32,
            batch_refused: None,
        })
    }

    /// Runs `n` tensors laid one after another in one call (the model must be
    /// `batchable` for n > 1); returns `n` rows of class scores, and with `embed` `n`
    /// rows of the embedding (empty without), and how long the run took once it had a
    /// session (`spinning=auto` weighs it; the wait for a session is not inference).
    pub fn run_batch(
        &self,
        tensors: &[f32],
        n: usize,
        embed: bool,
    ) -> Result<(Vec<f32>, Vec<f32>, Duration), BackendError> {
        self.check_batch(tensors, n)?;
        let mut session = self.sessions.take();
        let started = Instant::now();
        let (scores, embeddings) = self.run_on(&mut session, tensors, n, embed)?;
        Ok((scores, embeddings, started.elapsed()))
    }

    /// [`SharedModel::run_batch`] on a session apart from the pool ([`super::aside`]).
    pub(super) fn run_batch_on(
        &self,
        session: &mut Session,
        tensors: &[f32],
        n: usize,
        embed: bool,
    ) -> Result<(Vec<f32>, Vec<f32>), BackendError> {
        self.check_batch(tensors, n)?;
        self.run_on(session, tensors, n, embed)
    }

    fn check_batch(&self, tensors: &[f32], n: usize) -> Result<(), BackendError> {
        let t = &self.info.spec.tensor;
        if n == 0 || tensors.len() != n * t.len() || (n > 1 && !self.info.batchable) {
            return Err(BackendError::BatchShape {
                images: n,
                expected: n * t.len(),
                got: tensors.len(),
            });
        }
        Ok(())
    }

    fn run_on(
        &self,
        session: &mut Session,
        tensors: &[f32],
        n: usize,
        embed: bool,
    ) -> Result<(Vec<f32>, Vec<f32>), BackendError> {
        let t = &self.info.spec.tensor;
        let shape = match t.layout {
            Layout::Nchw => [n, t.channels, t.height, t.width],
            Layout::Nhwc => [n, t.height, t.width, t.channels],
        };
        let runtime_error = |e: ort::Error| BackendError::Runtime(Box::new(e));
        let input = io::input(self.info.input_type, shape, tensors).map_err(runtime_error)?;
        let inputs = ort::inputs![self.input_name.as_str() => input];
        let wanted = match (&self.embedding, embed) {
            (Some(e), true) => Some(e),
            (None, true) => return Err(BackendError::NoEmbedding),
            _ => None,
        };
        // A model with an embedding output is asked for the scores alone unless the
        // embedding is wanted, so it costs nothing when unused.
        let options = match &self.embedding {
            Some(_) => {
                let mut selector = OutputSelector::no_default().with(self.output_name.as_str());
                if let Some((name, _)) = wanted {
                    selector = selector.with(name.as_str());
                }
                Some(
                    RunOptions::new()
                        .map_err(runtime_error)?
                        .with_outputs(selector),
                )
            }
            None => None,
        };
        let outputs = match &options {
            Some(options) => session.run_with_options(inputs, options),
            None => session.run(inputs),
        }
        .map_err(runtime_error)?;
        let scores = io::scores(&outputs[self.output_name.as_str()], self.output_type)
            .map_err(runtime_error)?;
        let embeddings = match wanted {
            Some((name, ty)) => io::scores(&outputs[name.as_str()], *ty).map_err(runtime_error)?,
            None => Vec::new(),
        };
        let width = self.info.embedding.unwrap_or(0);
        if embeddings.len() != n * width && wanted.is_some() {
            return Err(BackendError::OutputSize {
                got: embeddings.len(),
                images: n,
                classes: width,
            });
        }
        if scores.len() != n * self.info.spec.classes {
            return Err(BackendError::OutputSize {
                got: scores.len(),
                images: n,
                classes: self.info.spec.classes,
            });
        }
        Ok((scores, embeddings))
    }

    /// Sessions in this model's pool.
    pub fn pool_size(&self) -> usize {
        self.sessions.size()
    }

    /// The output scores are read from (debug log).
    pub fn output_name(&self) -> &str {
        &self.output_name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{ModelMetadata, model_spec};

    #[test]
    fn tensorrt_profile_follows_the_input_size() {
        let meta = ModelMetadata {
            input_size: Some(224),
            ..Default::default()
        };
        let own = model_spec(&[-1, 3, -1, -1], &[-1, 1000], &meta, None).expect("valid");
        assert_eq!(profile_shape("input", &own.tensor), "input:1x3x224x224");
        let small = model_spec(&[-1, 3, -1, -1], &[-1, 1000], &meta, Some(160)).expect("valid");
        assert_eq!(profile_shape("input", &small.tensor), "input:1x3x160x160");
        let nhwc = model_spec(&[-1, -1, -1, 3], &[-1, 1000], &meta, Some(300)).expect("valid");
        assert_eq!(profile_shape("x", &nhwc.tensor), "x:1x300x300x3");
    }

    #[test]
    fn input_size_is_part_of_the_session_key() {
        use std::hash::{BuildHasher, RandomState};
        let own = EngineOptions::default();
        let small = EngineOptions {
            input_size: Some(160),
            ..Default::default()
        };
        assert_ne!(own, small);
        let hasher = RandomState::new();
        assert_ne!(hasher.hash_one(&own), hasher.hash_one(&small));
    }
}
