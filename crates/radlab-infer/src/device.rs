//! Choosing where a model runs: `--device auto|cpu|cuda`.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::InferError;
use crate::runtime::{Flavour, Runtime};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// CUDA when an NVIDIA driver and the CUDA build of ONNX Runtime are
    /// present, CPU otherwise (the reason is reported).
    #[default]
    Auto,
    /// CPU only.
    Cpu,
    /// CUDA or a clear error: never a silent fall back to the CPU.
    Cuda,
}

impl FromStr for Device {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda),
            other => Err(format!(
                "unknown device '{other}': expected auto, cpu or cuda"
            )),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Device::Auto => "auto",
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        })
    }
}

/// The execution provider a session actually uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionProvider {
    /// `CPUExecutionProvider`.
    Cpu,
    /// `CUDAExecutionProvider`.
    Cuda,
}

impl ExecutionProvider {
    /// ONNX Runtime's name for it.
    pub fn ort_name(self) -> &'static str {
        match self {
            ExecutionProvider::Cpu => "CPUExecutionProvider",
            ExecutionProvider::Cuda => "CUDAExecutionProvider",
        }
    }
}

impl fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ort_name())
    }
}

/// The decision for one session: the provider used and, when it is not what
/// was asked for, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// What was asked for.
    pub requested: Device,
    /// What runs.
    pub provider: ExecutionProvider,
    /// Why `auto` chose the CPU (None when nothing fell back).
    pub fallback_reason: Option<String>,
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (asked: {})", self.provider, self.requested)?;
        if let Some(reason) = &self.fallback_reason {
            write!(f, "; CPU because {reason}")?;
        }
        Ok(())
    }
}

/// Why CUDA cannot be used on this machine, or None when an NVIDIA driver is
/// present. (`RADLAB_NO_CUDA=1` pretends there is none.)
pub fn cuda_unavailable_reason() -> Option<String> {
    if std::env::var_os("RADLAB_NO_CUDA").is_some_and(|v| !v.is_empty() && v != "0") {
        return Some("RADLAB_NO_CUDA is set".to_string());
    }
    let driver = Path::new("/proc/driver/nvidia/version");
    if !driver.exists() {
        return Some(
            "no NVIDIA driver is loaded (/proc/driver/nvidia/version is absent)".to_string(),
        );
    }
    None
}

/// The ONNX Runtime build a device request needs, or an error for `cuda` on
/// a machine without an NVIDIA driver (checked before anything is installed).
pub fn flavour_for(device: Device) -> Result<(Flavour, Option<String>), InferError> {
    match device {
        Device::Cpu => Ok((Flavour::Cpu, None)),
        Device::Cuda => match cuda_unavailable_reason() {
            None => Ok((Flavour::Gpu, None)),
            Some(reason) => Err(InferError::CudaUnavailable(format!(
                "--device cuda was asked for, but {reason}. Run on a machine with an NVIDIA GPU and driver, or use --device cpu (or auto)"
            ))),
        },
        Device::Auto => {
            // A CUDA build already loaded in this process or installed in the
            // cache is used when the driver is present; auto never downloads
            // the 256 MB GPU build by itself.
            if let Some(reason) = cuda_unavailable_reason() {
                return Ok((Flavour::Cpu, Some(reason)));
            }
            if let Some(rt) = crate::runtime::loaded() {
                return Ok((
                    rt.located.flavour,
                    (rt.located.flavour == Flavour::Cpu)
                        .then(|| "the CPU build of ONNX Runtime is loaded".to_string()),
                ));
            }
            if crate::runtime::cached_library(Flavour::Gpu).is_file() {
                Ok((Flavour::Gpu, None))
            } else {
                Ok((
                    Flavour::Cpu,
                    Some(
                        "the CUDA build of ONNX Runtime is not installed (run once with --device cuda to install it)"
                            .to_string(),
                    ),
                ))
            }
        }
    }
}

/// Register the execution provider for `device` on a session builder.
///
/// Returns the provider that will run and why it fell back, if it did.
pub(crate) fn configure(
    builder: ort::session::builder::SessionBuilder,
    device: Device,
    runtime: &Runtime,
    pre_reason: Option<String>,
) -> Result<(ort::session::builder::SessionBuilder, Placement), InferError> {
    use ort::ep::ExecutionProvider as _;
    let want_cuda = match device {
        Device::Cpu => false,
        Device::Cuda => true,
        Device::Auto => pre_reason.is_none() && runtime.located.flavour == Flavour::Gpu,
    };
    if !want_cuda {
        return Ok((
            builder,
            Placement {
                requested: device,
                provider: ExecutionProvider::Cpu,
                fallback_reason: if device == Device::Auto {
                    pre_reason
                } else {
                    None
                },
            },
        ));
    }
    // fp32 arithmetic on the GPU as on the CPU (no TensorFloat-32 in
    // convolutions and matrix products), so that the two agree to about
    // 1e-5 and `--device` changes the speed, not the numbers.
    let cuda = ort::ep::CUDA::default().with_tf32(false);
    let mut builder = builder;
    match cuda.register(&mut builder) {
        Ok(()) => Ok((
            builder,
            Placement {
                requested: device,
                provider: ExecutionProvider::Cuda,
                fallback_reason: None,
            },
        )),
        Err(e) if device == Device::Cuda => Err(InferError::CudaUnavailable(format!(
            "--device cuda was asked for, but ONNX Runtime's CUDA provider could not start: {e}. The CUDA 13.0 and cuDNN 9 libraries were loaded from {}; the rest comes from the NVIDIA driver (libcuda.so.1, driver 580 or newer for CUDA 13): `radlab runtime --device cuda` says what was found",
            crate::cuda::cuda_dir().display()
        ))),
        Err(e) => Ok((
            builder,
            Placement {
                requested: device,
                provider: ExecutionProvider::Cpu,
                fallback_reason: Some(format!("the CUDA provider could not start: {e}")),
            },
        )),
    }
}
