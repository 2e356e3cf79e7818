//! GStreamer 1.26's `onnxinference` in the Debian 13 root that scripts/test-gst126.sh
//! makes: the files a run needs are copied into the root, and each run enters it with
//! `chroot`, in a mount namespace of its own (`unshare --mount`) where `/proc` (and
//! `/dev` where the root has no device nodes) are mounted as test-gst126.sh mounts
//! them. Those mounts end with the run's last process, also when it is killed, so
//! nothing is ever left mounted in the root, and the host never sees them.

use super::*;

pub const DEFAULT_ROOT: &str = "/var/cache/gst-plugin-imgclassify/debian13";
const MODEL_SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/onnxinference_model.py"
);
const PEER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/onnxinference_peer.py");
const VENV_PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deps/venv/bin/python");

/// What `onnxinference` can do of the models' preprocessing, (pixel + offset) / scale
/// with one offset and one scale for all channels: the ImageNet means (0.485, 0.456,
/// 0.406) and standard deviations (0.229, 0.224, 0.225) of mobilenet's metadata,
/// averaged over the channels and taken to 0..255 pixels.
pub const OFFSET: f64 = -0.449 * 255.0;
pub const SCALE: f64 = 0.226 * 255.0;

/// The root's libraries the peer variants need, and the package that brings each.
const NEEDED: [(&str, &str); 3] = [
    (
        "usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstonnx.so",
        "gstreamer1.0-plugins-bad",
    ),
    (
        "usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstlibav.so",
        "gstreamer1.0-libav",
    ),
    ("usr/lib/python3/dist-packages/gi/__init__.py", "python3-gi"),
];

/// The root, with a folder of our own inside it; the folder goes when this is dropped.
pub struct Root {
    dir: PathBuf,
    /// The folder's path as seen from inside the root.
    inside: PathBuf,
    optimization: String,
}

/// One peer run's result, from `onnxinference_peer.py`.
pub struct PeerRun {
    pub fps: f64,
    pub gstreamer: String,
}

fn effective_uid() -> Option<u32> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

impl Root {
    /// Checks the root, copies the H.264 file, the peer script and the models (given
    /// the output ids `onnxinference` insists on) into it.
    pub fn prepare(
        dir: &Path,
        h264: &Path,
        models: &[&str],
        optimization: &str,
    ) -> Result<Root, Error> {
        if !dir.join(".imgclassify-root").exists() {
            return Err(format!(
                "{} is no root made by scripts/test-gst126.sh; make it with that script, \
                 or leave the peer variants out (--variants fp32,int8,decode)",
                dir.display()
            )
            .into());
        }
        if effective_uid() != Some(0) {
            return Err(
                "the peer variants enter the Debian 13 root with chroot and mount \
                        /proc in it: run as root, or leave them out (--variants fp32,int8,decode)"
                    .into(),
            );
        }
        let missing: Vec<String> = NEEDED
            .iter()
            .filter(|(file, _)| !dir.join(file).exists())
            .map(|(file, package)| format!("/{file} (package {package})"))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the root {} lacks {}: add the packages to PACKAGES in scripts/test-gst126.sh \
                 and run it once",
                dir.display(),
                missing.join(", ")
            )
            .into());
        }
        let inside = PathBuf::from(format!(
            "/tmp/imgclassify-decode-bench-{}",
            std::process::id()
        ));
        let root = Root {
            dir: dir.to_path_buf(),
            inside,
            optimization: optimization.to_string(),
        };
        let staging = root.host_path(Path::new(""));
        std::fs::create_dir_all(&staging)?;
        std::fs::copy(h264, staging.join("video.mp4"))?;
        std::fs::copy(PEER_SCRIPT, staging.join("onnxinference_peer.py"))?;
        for model in models {
            let source = zoo::resolve(model)?;
            let out = Command::new(VENV_PYTHON)
                .arg(MODEL_SCRIPT)
                .arg(&source)
                .arg(staging.join(format!("{model}.onnx")))
                .output()
                .map_err(|e| format!("{VENV_PYTHON}: {e} (run scripts/setup.sh)"))?;
            if !out.status.success() {
                return Err(format!(
                    "{MODEL_SCRIPT} failed on {}: {}",
                    source.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )
                .into());
            }
        }
        Ok(root)
    }

    /// A path inside our folder, as the host sees it.
    fn host_path(&self, name: &Path) -> PathBuf {
        let relative = self.inside.strip_prefix("/").unwrap_or(&self.inside);
        self.dir.join(relative).join(name)
    }

    fn in_root(&self, name: &str) -> String {
        self.inside.join(name).display().to_string()
    }

    /// The pipeline a run describes: the decoder alone, or `onnxinference` on `model`.
    pub fn description(&self, model: Option<&str>) -> String {
        let source = format!(
            "filesrc location={} ! qtdemux ! h264parse ! avdec_h264",
            self.in_root("video.mp4")
        );
        match model {
            None => format!("{source} ! fakesink name=sink sync=false"),
            Some(model) => format!(
                "{source} ! videoconvertscale ! video/x-raw,format=RGB,width=224,height=224 \
                 ! onnxinference model-file={} input-image-format=chw \
                 input-tensor-offset={OFFSET:.3} input-tensor-scale={SCALE:.3} \
                 optimization-level={} ! fakesink name=sink sync=false",
                self.in_root(&format!("{model}.onnx")),
                self.optimization
            ),
        }
    }

    /// Runs `description` in the root, holding the root's lock (the one
    /// test-gst126.sh takes), so no run of that script changes the root meanwhile.
    pub fn run(&self, description: &str, warmup: u64) -> Result<PeerRun, Error> {
        let lock_path = PathBuf::from(format!("{}.lock", self.dir.display()));
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        if lock.try_lock().is_err() {
            eprintln!(
                "waiting for {} (scripts/test-gst126.sh is using the root)",
                lock_path.display()
            );
            lock.lock()?;
        }
        // $1 the root, $2 our folder inside it; the rest is the command to run there.
        let script = r#"root=$1; home=$2; shift 2
mount -t proc proc "$root/proc" || exit 1
if [ ! -c "$root/dev/null" ]; then mount --bind /dev "$root/dev" || exit 1; fi
exec chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$home" \
    GST_REGISTRY="$home/registry.bin" "$@""#;
        let output = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                script,
                "sh",
            ])
            .arg(&self.dir)
            .arg(&self.inside)
            .args([
                "python3",
                &self.in_root("onnxinference_peer.py"),
                "--warmup",
            ])
            .arg(warmup.to_string())
            .arg(description)
            .output()?;
        drop(lock);
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            // ONNX Runtime from Debian prints a page of harmless "Schema error" lines.
            let stderr = String::from_utf8_lossy(&output.stderr);
            let why: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with("Schema error"))
                .collect();
            return Err(format!(
                "in the Debian 13 root ({}): {description}: {}",
                self.dir.display(),
                why[why.len().saturating_sub(8)..].join("\n")
            )
            .into());
        }
        let report: serde_json::Value = serde_json::from_str(stdout.trim())
            .map_err(|e| format!("the peer's report '{}': {e}", stdout.trim()))?;
        Ok(PeerRun {
            fps: report["fps"]
                .as_f64()
                .ok_or_else(|| format!("no fps in the peer's report: {stdout}"))?,
            gstreamer: report["gstreamer"].as_str().unwrap_or("").to_string(),
        })
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let staging = self.host_path(Path::new(""));
        // Our own folder under the root's /tmp, never anything above it.
        if staging.starts_with(self.dir.join("tmp")) {
            let _ = std::fs::remove_dir_all(staging);
        }
    }
}
