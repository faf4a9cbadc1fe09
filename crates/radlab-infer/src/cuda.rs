//! The CUDA and cuDNN libraries of the CUDA build of ONNX Runtime, installed
//! from NVIDIA's PyPI wheels into the radlab cache and preloaded by path.
//!
//! `onnxruntime-gpu` 1.31.1 is built against CUDA 13.0 and cuDNN 9. Its
//! CUDA provider links `libcudart.so.13`, `libcublas.so.13`,
//! `libcublasLt.so.13` and `libcurand.so.10`, and opens cuFFT, NVRTC and
//! cuDNN when it needs them; only `libcuda.so.1` comes from the NVIDIA
//! driver. radlab downloads the seven wheels below (about 1.4 GB, sha256
//! pinned, the CUDA 13.0 set PyTorch's cu130 build also pins), extracts
//! their `.so` files into one folder (about 2.2 GB) and loads them by path
//! before ONNX Runtime starts (`ort::ep::cuda::preload_dylibs`), so nothing
//! has to be on `LD_LIBRARY_PATH`. The libraries find each other through
//! their `$ORIGIN` run paths, which is why they share one folder.
//!
//! `RADLAB_CUDA_DIR` names a folder holding these libraries instead (a
//! system CUDA 13 and cuDNN 9 install, say); radlab then installs nothing.

use std::fs;
use std::path::{Path, PathBuf};

use crate::InferError;
use crate::runtime::{
    cache_dir, extract_member, io_error, open_wheel, pip_download, sha256_file, tempdir_in,
};

/// One pinned NVIDIA wheel.
#[derive(Debug, Clone, Copy)]
pub struct CudaWheel {
    /// PyPI project.
    pub project: &'static str,
    /// Exact version.
    pub version: &'static str,
    /// File pip saves.
    pub file: &'static str,
    /// sha256 of the file, hex.
    pub sha256: &'static str,
    /// Size of the file in bytes (for the progress line and the docs).
    pub bytes: u64,
    /// Libraries to extract (paths inside the wheel).
    pub members: &'static [&'static str],
}

/// The CUDA 13.0 and cuDNN 9.24 set, in the order they are installed.
pub const CUDA_WHEELS: &[CudaWheel] = &[
    CudaWheel {
        project: "nvidia-cuda-runtime",
        version: "13.0.96",
        file: "nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        sha256: "7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548",
        bytes: 2_243_632,
        members: &["nvidia/cu13/lib/libcudart.so.13"],
    },
    CudaWheel {
        project: "nvidia-cublas",
        version: "13.1.1.3",
        file: "nvidia_cublas-13.1.1.3-py3-none-manylinux_2_27_x86_64.whl",
        sha256: "37936a16db8fe4ac1f065c2139360608a543a09275cb1a1af612e08cfa065436",
        bytes: 423_138_758,
        members: &[
            "nvidia/cu13/lib/libcublasLt.so.13",
            "nvidia/cu13/lib/libcublas.so.13",
        ],
    },
    CudaWheel {
        project: "nvidia-cuda-nvrtc",
        version: "13.0.88",
        file: "nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl",
        sha256: "ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575",
        bytes: 90_215_200,
        members: &[
            "nvidia/cu13/lib/libnvrtc.so.13",
            "nvidia/cu13/lib/libnvrtc-builtins.so.13.0",
        ],
    },
    CudaWheel {
        project: "nvidia-curand",
        version: "10.4.0.35",
        file: "nvidia_curand-10.4.0.35-py3-none-manylinux_2_27_x86_64.whl",
        sha256: "1aee33a5da6e1db083fe2b90082def8915f30f3248d5896bcec36a579d941bfc",
        bytes: 59_544_258,
        members: &["nvidia/cu13/lib/libcurand.so.10"],
    },
    CudaWheel {
        project: "nvidia-nvjitlink",
        version: "13.0.88",
        file: "nvidia_nvjitlink-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl",
        sha256: "13a74f429e23b921c1109976abefacc69835f2f433ebd323d3946e11d804e47b",
        bytes: 40_713_933,
        members: &["nvidia/cu13/lib/libnvJitLink.so.13"],
    },
    CudaWheel {
        project: "nvidia-cufft",
        version: "12.0.0.61",
        file: "nvidia_cufft-12.0.0.61-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        sha256: "6c44f692dce8fd5ffd3e3df134b6cdb9c2f72d99cf40b62c32dde45eea9ddad3",
        bytes: 214_085_489,
        members: &["nvidia/cu13/lib/libcufft.so.12"],
    },
    CudaWheel {
        project: "nvidia-cudnn-cu13",
        version: "9.24.0.43",
        file: "nvidia_cudnn_cu13-9.24.0.43-py3-none-manylinux_2_27_x86_64.whl",
        sha256: "71f181cd810e90f9b6023b01186fe82d13d65f0ec098581ee201d39fad769e4b",
        bytes: 553_099_438,
        members: &[
            "nvidia/cudnn/lib/libcudnn.so.9",
            "nvidia/cudnn/lib/libcudnn_graph.so.9",
            "nvidia/cudnn/lib/libcudnn_ops.so.9",
            "nvidia/cudnn/lib/libcudnn_heuristic.so.9",
            "nvidia/cudnn/lib/libcudnn_adv.so.9",
            "nvidia/cudnn/lib/libcudnn_cnn.so.9",
            "nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9",
            "nvidia/cudnn/lib/libcudnn_engines_runtime_compiled.so.9",
            "nvidia/cudnn/lib/libcudnn_engines_tensor_ir.so.9",
        ],
    },
];

/// The name of the set, used as its cache folder.
pub const CUDA_SET: &str = "cuda-13.0-cudnn-9.24";

/// Where the libraries are: `RADLAB_CUDA_DIR`, else
/// `<cache>/cuda/cuda-13.0-cudnn-9.24/lib`.
pub fn cuda_dir() -> PathBuf {
    match std::env::var_os("RADLAB_CUDA_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => cache_dir().join("cuda").join(CUDA_SET).join("lib"),
    }
}

/// Total download size of the set, bytes.
pub fn download_bytes() -> u64 {
    CUDA_WHEELS.iter().map(|w| w.bytes).sum()
}

fn file_name(member: &str) -> &str {
    member.rsplit('/').next().unwrap_or(member)
}

/// The libraries of the set missing from `dir` (by file name), as
/// `(library, the package that ships it)`.
pub fn missing_in(dir: &Path) -> Vec<(&'static str, &'static str)> {
    CUDA_WHEELS
        .iter()
        .flat_map(|w| w.members.iter().map(move |m| (file_name(m), w.project)))
        .filter(|(lib, _)| !dir.join(lib).is_file())
        .collect()
}

/// Install the set into the cache unless it is there (or `RADLAB_CUDA_DIR`
/// is set). Every wheel is downloaded with `pip download --require-hashes`
/// into a temporary folder, checked again, and its libraries extracted
/// there; the folder is renamed into place last, so an interrupted install
/// leaves nothing that looks complete.
pub fn install(progress: &mut dyn FnMut(&str)) -> Result<PathBuf, InferError> {
    let dir = cuda_dir();
    if std::env::var_os("RADLAB_CUDA_DIR").is_some_and(|v| !v.is_empty()) {
        let missing = missing_in(&dir);
        if let Some((lib, project)) = missing.first() {
            return Err(InferError::CudaUnavailable(format!(
                "RADLAB_CUDA_DIR is {} but {lib} is not in it (it comes with the PyPI package {project}); unset RADLAB_CUDA_DIR to let radlab install CUDA 13.0 and cuDNN 9 itself",
                dir.display()
            )));
        }
        return Ok(dir);
    }
    if missing_in(&dir).is_empty() {
        return Ok(dir);
    }
    let set = dir.parent().expect("the lib folder has a parent");
    let parent = set.parent().expect("the set folder has a parent");
    fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    let work = tempdir_in(parent)?;
    let result = install_into(&work, progress).and_then(|staged| {
        fs::create_dir_all(set).map_err(|e| io_error(set, e))?;
        match fs::rename(&staged, &dir) {
            Ok(()) => Ok(()),
            // Another process finished first.
            Err(_) if missing_in(&dir).is_empty() => Ok(()),
            Err(e) => Err(io_error(&dir, e)),
        }
    });
    let _ = fs::remove_dir_all(&work);
    result.map(|()| dir)
}

fn install_into(work: &Path, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, InferError> {
    let requirements = work.join("requirements.txt");
    let text: String = CUDA_WHEELS
        .iter()
        .map(|w| format!("{}=={} --hash=sha256:{}\n", w.project, w.version, w.sha256))
        .collect();
    fs::write(&requirements, text).map_err(|e| io_error(&requirements, e))?;
    progress(&format!(
        "installing CUDA 13.0 and cuDNN 9.24 for ONNX Runtime's CUDA provider: {} wheels from PyPI, {:.1} GB, into {}",
        CUDA_WHEELS.len(),
        download_bytes() as f64 / 1e9,
        cuda_dir().display()
    ));
    pip_download(
        &requirements,
        work,
        "the CUDA 13.0 and cuDNN 9 wheels",
        "install CUDA 13 and cuDNN 9 yourself and set RADLAB_CUDA_DIR to the folder holding their libraries",
    )?;
    let lib = work.join("lib");
    fs::create_dir_all(&lib).map_err(|e| io_error(&lib, e))?;
    for w in CUDA_WHEELS {
        let path = work.join(w.file);
        progress(&format!("checking sha256 of {}", w.file));
        let digest = sha256_file(&path)?;
        if digest != w.sha256 {
            return Err(InferError::Runtime(format!(
                "{} has sha256 {digest}, expected {}; refusing to use it",
                path.display(),
                w.sha256
            )));
        }
        let mut archive = open_wheel(&path)?;
        for member in w.members {
            extract_member(&mut archive, &path, member, &lib.join(file_name(member)))?;
        }
        // The wheel is no longer needed: keep the peak disk use near the
        // extracted size.
        fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
    }
    Ok(lib)
}

/// Load the libraries by path, dependencies first, so that ONNX Runtime's
/// CUDA provider finds them already loaded.
pub fn preload(dir: &Path) -> Result<(), InferError> {
    if let Some((lib, project)) = missing_in(dir).first() {
        return Err(InferError::CudaUnavailable(format!(
            "{lib} is missing from {} (PyPI package {project})",
            dir.display()
        )));
    }
    // cuFFT needs nvJitLink, which ort's list does not load: load it first.
    preload_one(&dir.join("libnvJitLink.so.13"))?;
    ort::ep::cuda::preload_dylibs(Some(dir), Some(dir)).map_err(|e| {
        InferError::CudaUnavailable(format!(
            "could not load the CUDA libraries in {}: {e}",
            dir.display()
        ))
    })
}

fn preload_one(path: &Path) -> Result<(), InferError> {
    // SAFETY: these are NVIDIA's libraries, whose initialisers only set up
    // their own state; the handle is leaked so they stay loaded.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| {
        InferError::CudaUnavailable(format!("could not load {}: {e}", path.display()))
    })?;
    std::mem::forget(lib);
    Ok(())
}

/// Versions found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaVersions {
    /// The NVIDIA kernel driver's line from `/proc/driver/nvidia/version`.
    pub driver: Option<String>,
    /// The CUDA version the driver supports (`cudaDriverGetVersion`, e.g.
    /// 13000 for 13.0); None without a driver.
    pub driver_cuda: Option<i32>,
    /// The CUDA runtime loaded (`cudaRuntimeGetVersion`).
    pub runtime: i32,
    /// The cuDNN loaded (`cudnnGetVersion`, e.g. 92400 for 9.24.0).
    pub cudnn: usize,
    /// The folder the libraries were loaded from.
    pub dir: PathBuf,
}

/// `13000` -> `"13.0"`.
pub fn cuda_version_text(v: i32) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

/// `92400` -> `"9.24.0"`.
pub fn cudnn_version_text(v: usize) -> String {
    format!("{}.{}.{}", v / 10000, (v % 10000) / 100, v % 100)
}

/// Ask the loaded libraries for their versions (works without a GPU: the
/// driver's CUDA version is then None).
pub fn versions(dir: &Path) -> Result<CudaVersions, InferError> {
    type GetVersion = unsafe extern "C" fn(*mut i32) -> i32;
    type CudnnVersion = unsafe extern "C" fn() -> usize;
    let open = |name: &str| {
        let path = dir.join(name);
        // SAFETY: as in `preload_one`; the library is already loaded.
        unsafe { libloading::Library::new(&path) }.map_err(|e| {
            InferError::CudaUnavailable(format!("could not load {}: {e}", path.display()))
        })
    };
    let symbol_error = |name: &str, e: libloading::Error| {
        InferError::CudaUnavailable(format!("{name} not found in the CUDA libraries: {e}"))
    };
    let cudart = open("libcudart.so.13")?;
    let cudnn = open("libcudnn.so.9")?;
    // SAFETY: the signatures are those of the CUDA runtime and cuDNN APIs.
    let (runtime, driver_cuda, cudnn_version) = unsafe {
        let rt: libloading::Symbol<GetVersion> = cudart
            .get(b"cudaRuntimeGetVersion")
            .map_err(|e| symbol_error("cudaRuntimeGetVersion", e))?;
        let dr: libloading::Symbol<GetVersion> = cudart
            .get(b"cudaDriverGetVersion")
            .map_err(|e| symbol_error("cudaDriverGetVersion", e))?;
        let dnn: libloading::Symbol<CudnnVersion> = cudnn
            .get(b"cudnnGetVersion")
            .map_err(|e| symbol_error("cudnnGetVersion", e))?;
        let (mut r, mut d) = (0i32, 0i32);
        let r_status = rt(&mut r);
        let d_status = dr(&mut d);
        (
            if r_status == 0 { r } else { 0 },
            (d_status == 0 && d > 0).then_some(d),
            dnn(),
        )
    };
    Ok(CudaVersions {
        driver: driver_line(),
        driver_cuda,
        runtime,
        cudnn: cudnn_version,
        dir: dir.to_path_buf(),
    })
}

/// The first line of `/proc/driver/nvidia/version`, when a driver is loaded.
pub fn driver_line() -> Option<String> {
    fs::read_to_string("/proc/driver/nvidia/version")
        .ok()
        .and_then(|t| t.lines().next().map(|l| l.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_complete_and_consistent() {
        for w in CUDA_WHEELS {
            assert_eq!(w.sha256.len(), 64, "{}", w.project);
            assert!(w.sha256.chars().all(|c| c.is_ascii_hexdigit()));
            let stem = w.project.replace('-', "_");
            assert!(
                w.file.starts_with(&format!("{stem}-{}-", w.version)),
                "{} does not name {} {}",
                w.file,
                w.project,
                w.version
            );
            assert!(w.file.ends_with("x86_64.whl"));
            assert!(!w.members.is_empty());
        }
        // Every library ONNX Runtime's CUDA provider and ort's preloader
        // name is in the set.
        let libs: Vec<&str> = CUDA_WHEELS
            .iter()
            .flat_map(|w| w.members.iter().map(|m| file_name(m)))
            .collect();
        for lib in ort::ep::cuda::CUDA_DYLIBS
            .iter()
            .chain(ort::ep::cuda::CUDNN_DYLIBS)
        {
            assert!(libs.contains(lib), "{lib} is not installed");
        }
        assert!(libs.contains(&"libnvJitLink.so.13"));
    }

    #[test]
    fn missing_libraries_name_their_package() {
        let dir = tempfile::tempdir().unwrap();
        let missing = missing_in(dir.path());
        assert_eq!(
            missing.len(),
            CUDA_WHEELS.iter().map(|w| w.members.len()).sum::<usize>()
        );
        assert!(missing.contains(&("libcudnn.so.9", "nvidia-cudnn-cu13")));
        for (lib, _) in &missing {
            fs::write(dir.path().join(lib), b"").unwrap();
        }
        assert!(missing_in(dir.path()).is_empty());
        fs::remove_file(dir.path().join("libcublasLt.so.13")).unwrap();
        assert_eq!(
            missing_in(dir.path()),
            vec![("libcublasLt.so.13", "nvidia-cublas")]
        );
    }

    #[test]
    fn version_numbers_read_as_the_libraries_print_them() {
        assert_eq!(cuda_version_text(13000), "13.0");
        assert_eq!(cuda_version_text(12090), "12.9");
        assert_eq!(cudnn_version_text(92400), "9.24.0");
        assert_eq!(cudnn_version_text(90100), "9.1.0");
    }
}
