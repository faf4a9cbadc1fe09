//! Finding, installing and loading ONNX Runtime's shared library.
//!
//! radlab loads ONNX Runtime at run time (`ort`'s `load-dynamic`), so a lab
//! builds without it and fetches it the first time a model runs. The library
//! is looked for, in order:
//!
//! 1. `ORT_DYLIB_PATH`, when set (it must name an existing file);
//! 2. the radlab cache: `$RADLAB_CACHE`, else `$XDG_CACHE_HOME/radlab`, else
//!    `~/.cache/radlab`, under `onnxruntime/<version>-<flavour>/`;
//! 3. otherwise it is installed into that cache from the PyPI wheel
//!    `onnxruntime==1.31.1` (or `onnxruntime-gpu==1.31.1`) with
//!    `python3 -m pip download`, its sha256 checked against the pinned value,
//!    and the `.so` files extracted. Nothing else is downloaded.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::InferError;

/// The ONNX Runtime release radlab is built and tested against.
pub const ORT_VERSION: &str = "1.31.1";

/// Which build of ONNX Runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// The CPU-only build (`onnxruntime` on PyPI, ~24 MB).
    Cpu,
    /// The CUDA build (`onnxruntime-gpu` on PyPI, ~256 MB; needs CUDA 13 and cuDNN 9).
    Gpu,
}

impl Flavour {
    /// Short name used in folder names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Cpu => "cpu",
            Flavour::Gpu => "gpu",
        }
    }
}

/// One pinned wheel on PyPI.
#[derive(Debug, Clone, Copy)]
pub struct Wheel {
    /// PyPI project name.
    pub project: &'static str,
    /// Exact file name pip saves.
    pub file: &'static str,
    /// sha256 of that file, hex.
    pub sha256: &'static str,
    /// Files to extract from the wheel (paths inside it).
    pub members: &'static [&'static str],
}

/// The wheels radlab installs from (CPython 3.11 tags, manylinux_2_28 x86_64;
/// the tag only selects a file: the extracted library does not use Python).
pub fn wheel(flavour: Flavour) -> Wheel {
    match flavour {
        Flavour::Cpu => Wheel {
            project: "onnxruntime",
            file: "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
            sha256: "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f",
            members: &[
                "onnxruntime/capi/libonnxruntime.so.1.31.1",
                "onnxruntime/capi/libonnxruntime_providers_shared.so",
            ],
        },
        Flavour::Gpu => Wheel {
            project: "onnxruntime-gpu",
            file: "onnxruntime_gpu-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
            sha256: "e26c475fe361b2015f45b4b824bd13f0bb20204e59b62814e6f0acd5f3d491a6",
            members: &[
                "onnxruntime/capi/libonnxruntime.so.1.31.1",
                "onnxruntime/capi/libonnxruntime_providers_shared.so",
                "onnxruntime/capi/libonnxruntime_providers_cuda.so",
            ],
        },
    }
}

/// The library file name inside a wheel and inside the cache.
pub const LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";

/// The radlab cache folder (`$RADLAB_CACHE`, `$XDG_CACHE_HOME/radlab` or
/// `~/.cache/radlab`).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RADLAB_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir).join("radlab");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("radlab"),
        None => std::env::temp_dir().join("radlab-cache"),
    }
}

/// Where the library of `flavour` lives once installed.
pub fn cached_library(flavour: Flavour) -> PathBuf {
    cache_dir()
        .join("onnxruntime")
        .join(format!("{ORT_VERSION}-{}", flavour.name()))
        .join(LIBRARY_FILE)
}

/// Where the library came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `ORT_DYLIB_PATH` named it.
    EnvVar,
    /// Found in the radlab cache.
    Cache,
    /// Installed into the cache just now.
    Installed,
}

/// A located library.
#[derive(Debug, Clone)]
pub struct Located {
    /// The shared library file.
    pub path: PathBuf,
    /// How it was found.
    pub source: Source,
    /// Which build it is (for `ORT_DYLIB_PATH`: a CUDA build is recognised by
    /// `libonnxruntime_providers_cuda.so` beside it).
    pub flavour: Flavour,
}

/// Find the library, installing it when it is not there yet.
///
/// `progress` receives one line per step (download, check, extract).
pub fn locate(flavour: Flavour, progress: &mut dyn FnMut(&str)) -> Result<Located, InferError> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(InferError::Runtime(format!(
                "ORT_DYLIB_PATH is set to {} but no such file exists; unset it to let radlab install ONNX Runtime {ORT_VERSION} itself",
                path.display()
            )));
        }
        let cuda_beside = path
            .with_file_name("libonnxruntime_providers_cuda.so")
            .is_file();
        return Ok(Located {
            path,
            source: Source::EnvVar,
            flavour: if cuda_beside {
                Flavour::Gpu
            } else {
                Flavour::Cpu
            },
        });
    }
    let cached = cached_library(flavour);
    if cached.is_file() {
        return Ok(Located {
            path: cached,
            source: Source::Cache,
            flavour,
        });
    }
    install(flavour, progress)?;
    Ok(Located {
        path: cached,
        source: Source::Installed,
        flavour,
    })
}

/// Install the pinned wheel's libraries into the cache (no-op when present).
///
/// Runs `python3 -m pip download --no-deps --require-hashes` for the pinned
/// file into a temporary folder of the cache, checks the sha256 again, and
/// extracts the members under temporary names before renaming them into
/// place, so an interrupted install leaves nothing half-written and two
/// processes installing at once both succeed.
pub fn install(flavour: Flavour, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, InferError> {
    let target = cached_library(flavour);
    if target.is_file() {
        return Ok(target);
    }
    if !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64")) {
        return Err(InferError::Runtime(format!(
            "radlab installs ONNX Runtime by itself only on Linux x86_64; on this platform install ONNX Runtime {ORT_VERSION} and set ORT_DYLIB_PATH to its shared library"
        )));
    }
    let wheel = wheel(flavour);
    let dir = target.parent().expect("cache path has a parent");
    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let work = tempdir_in(dir)?;
    let requirements = work.join("requirements.txt");
    fs::write(
        &requirements,
        format!(
            "{}=={ORT_VERSION} --hash=sha256:{}\n",
            wheel.project, wheel.sha256
        ),
    )
    .map_err(|e| io_error(&requirements, e))?;
    progress(&format!(
        "installing ONNX Runtime {ORT_VERSION} ({}) from PyPI into {}",
        wheel.project,
        dir.display()
    ));
    let manual = format!(
        "to install it by hand: `python3 -m pip download --no-deps --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64 {}=={ORT_VERSION} -d /tmp/ort`, unzip {} from the wheel and set ORT_DYLIB_PATH to it",
        wheel.project, wheel.members[0]
    );
    if let Err(e) = pip_download(
        &requirements,
        &work,
        &format!("{}=={ORT_VERSION}", wheel.project),
        &manual,
    ) {
        let _ = fs::remove_dir_all(&work);
        return Err(e);
    }
    let wheel_path = work.join(wheel.file);
    progress(&format!("checking sha256 of {}", wheel.file));
    let digest = sha256_file(&wheel_path)?;
    if digest != wheel.sha256 {
        let _ = fs::remove_dir_all(&work);
        return Err(InferError::Runtime(format!(
            "{} has sha256 {digest}, expected {}; refusing to use it",
            wheel_path.display(),
            wheel.sha256
        )));
    }
    progress(&format!("extracting {} files", wheel.members.len()));
    let result = extract(&wheel_path, wheel.members, dir, &work);
    let _ = fs::remove_dir_all(&work);
    result?;
    Ok(target)
}

/// `python3 -m pip download` of the hash-pinned `requirements` into `work`
/// (binary wheels for CPython 3.11 on manylinux x86_64, no dependencies:
/// every file is listed and pinned). `what` names the download in errors,
/// `manual` says how to do it by hand.
pub(crate) fn pip_download(
    requirements: &Path,
    work: &Path,
    what: &str,
    manual: &str,
) -> Result<(), InferError> {
    let python = std::env::var("RADLAB_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let mut command = Command::new(&python);
    command
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--python-version", "3.11", "--implementation", "cp"]);
    // NVIDIA's wheels carry older manylinux tags than ONNX Runtime's; pip
    // matches only the platforms it is given.
    for platform in [
        "manylinux_2_28_x86_64",
        "manylinux_2_27_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux_2_12_x86_64",
    ] {
        command.args(["--platform", platform]);
    }
    let status = command
        .args(["--disable-pip-version-check", "--require-hashes", "-r"])
        .arg(requirements)
        .arg("-d")
        .arg(work)
        // pip's messages go to stderr: stdout may be a lab's JSON report.
        .stdout(stderr_stdio())
        .status();
    match status {
        Err(e) => Err(InferError::Runtime(format!(
            "could not run `{python} -m pip` to download {what} ({e}); install Python 3 with pip (e.g. `apt-get install python3-pip`) and run again, or {manual}"
        ))),
        Ok(s) if !s.success() => Err(InferError::Runtime(format!(
            "`{python} -m pip download {what}` failed ({s}); check that PyPI is reachable and pip works, or {manual}"
        ))),
        Ok(_) => Ok(()),
    }
}

/// Copy the wheel entry `member` into `dest`, streamed (the CUDA libraries
/// are up to 540 MB each) and synced.
pub(crate) fn extract_member(
    archive: &mut zip::ZipArchive<fs::File>,
    wheel_path: &Path,
    member: &str,
    dest: &Path,
) -> Result<(), InferError> {
    let mut entry = archive.by_name(member).map_err(|e| {
        InferError::Runtime(format!(
            "{}: no {member} inside ({e})",
            wheel_path.display()
        ))
    })?;
    let mut out = std::io::BufWriter::new(fs::File::create(dest).map_err(|e| io_error(dest, e))?);
    std::io::copy(&mut entry, &mut out).map_err(|e| io_error(dest, e))?;
    out.flush().map_err(|e| io_error(dest, e))?;
    out.get_ref().sync_all().map_err(|e| io_error(dest, e))?;
    Ok(())
}

/// Open a wheel as a zip archive.
pub(crate) fn open_wheel(wheel_path: &Path) -> Result<zip::ZipArchive<fs::File>, InferError> {
    let file = fs::File::open(wheel_path).map_err(|e| io_error(wheel_path, e))?;
    zip::ZipArchive::new(file)
        .map_err(|e| InferError::Runtime(format!("{}: not a zip file: {e}", wheel_path.display())))
}

fn extract(wheel_path: &Path, members: &[&str], dir: &Path, work: &Path) -> Result<(), InferError> {
    let mut archive = open_wheel(wheel_path)?;
    // Extract everything first, then rename: the library file, renamed last,
    // is what marks the install as complete.
    let mut staged = Vec::new();
    for member in members {
        let name = Path::new(member)
            .file_name()
            .expect("member has a file name");
        let tmp = work.join(name);
        extract_member(&mut archive, wheel_path, member, &tmp)?;
        staged.push((tmp, dir.join(name)));
    }
    staged.sort_by_key(|(_, dest)| dest.file_name().map(|n| n == LIBRARY_FILE));
    for (tmp, dest) in staged {
        fs::rename(&tmp, &dest).map_err(|e| io_error(&dest, e))?;
    }
    Ok(())
}

fn stderr_stdio() -> std::process::Stdio {
    use std::os::fd::AsFd;
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => std::process::Stdio::from(fd),
        Err(_) => std::process::Stdio::null(),
    }
}

pub(crate) fn tempdir_in(dir: &Path) -> Result<PathBuf, InferError> {
    let path = dir.join(format!(".install-{}", std::process::id()));
    let _ = fs::remove_dir_all(&path);
    fs::create_dir_all(&path).map_err(|e| io_error(&path, e))?;
    Ok(path)
}

/// sha256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, InferError> {
    let mut file = fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> InferError {
    InferError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The loaded runtime: one per process (a process can load only one ONNX
/// Runtime library).
#[derive(Debug, Clone)]
pub struct Runtime {
    /// The library that was loaded.
    pub located: Located,
    /// The environment every session is created in.
    pub env: ort::environment::Environment,
    /// For the CUDA build: the CUDA and cuDNN libraries loaded.
    pub cuda: Option<crate::cuda::CudaVersions>,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// Load ONNX Runtime once per process (installing it when needed).
///
/// The first call decides the flavour; a later call asking for the GPU build
/// after the CPU build was loaded gets an error saying so.
pub fn runtime(flavour: Flavour) -> Result<&'static Runtime, InferError> {
    let loaded = RUNTIME.get_or_init(|| {
        let mut say = |line: &str| eprintln!("radlab: {line}");
        let located = locate(flavour, &mut say).map_err(|e| e.to_string())?;
        // The CUDA build's provider needs CUDA and cuDNN: install them from
        // PyPI when missing and load them by path before ONNX Runtime starts.
        let cuda = if located.flavour == Flavour::Gpu {
            let dir = crate::cuda::install(&mut say).map_err(|e| e.to_string())?;
            crate::cuda::preload(&dir).map_err(|e| e.to_string())?;
            Some(crate::cuda::versions(&dir).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let builder = ort::init_from(&located.path).map_err(|e| {
            format!(
                "could not load ONNX Runtime from {}: {e}",
                located.path.display()
            )
        })?;
        let env = builder
            .with_name("radlab")
            .build()
            .map_err(|e| format!("ONNX Runtime environment: {e}"))?;
        tracing::info!(path = %located.path.display(), flavour = flavour.name(), "ONNX Runtime loaded");
        Ok(Runtime { located, env, cuda })
    });
    match loaded {
        Ok(rt) => {
            if flavour == Flavour::Gpu && rt.located.flavour == Flavour::Cpu {
                return Err(InferError::Runtime(format!(
                    "the CPU build of ONNX Runtime ({}) is already loaded in this process; the CUDA build cannot be loaded beside it",
                    rt.located.path.display()
                )));
            }
            Ok(rt)
        }
        Err(message) => Err(InferError::Runtime(message.clone())),
    }
}

/// Whether the loaded flavour has been decided (a runtime is loaded).
pub fn loaded() -> Option<&'static Runtime> {
    RUNTIME.get().and_then(|r| r.as_ref().ok())
}
