//! A C-STORE service class provider (a DICOM listener) on dicom-ul.
//!
//! What a scanner or a PACS sends to it is written to disk as it arrives and
//! acknowledged only once it is durable:
//!
//! * each instance streams, PDV by PDV, into a temporary file in
//!   `<storage>/.incoming/` (memory per association is one PDU, whatever the
//!   instance's size), behind a file meta group built from the command and
//!   the negotiated transfer syntax, so the data set bytes are the sender's;
//! * when its last fragment is in, the file is flushed and `fsync`ed, read
//!   back by radlab's hardened reader (a hostile data set is refused with a
//!   failure status, and the association goes on), then linked to
//!   `<storage>/<SOPInstanceUID>.dcm` without replacing anything (a duplicate
//!   is stored once), the folder is `fsync`ed, and only then is the success
//!   status sent: an acknowledged instance survives a crash of the listener;
//! * an aborted or broken association leaves no file: the temporary one is
//!   removed, and leftovers of a killed process are cleared at start.
//!
//! Command sets arrive in one or more fragments (PS3.8 allows a command to
//! span PDVs) and are read by a small parser of radlab's own: a command set
//! is a flat list of group 0000 elements in Implicit VR Little Endian, so a
//! reader that refuses anything else is short and cannot be led into
//! nesting or into allocating what a length claims.
//!
//! The listener binds 127.0.0.1 unless told otherwise, serves a bounded
//! number of associations at once (connections over the bound wait in the
//! kernel's backlog until one ends: dicom-ul can only reject an association
//! with a permanent reason, which would make a sender give up), and reports
//! what happened as [`ScpEvent`]s on a channel.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use dicom_core::{DataElement, PrimitiveValue, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::association::server::{AccessControl, ServerAssociationOptions};
use dicom_ul::pdu::{
    AssociationRJServiceUserReason, PDataValue, PDataValueType, Pdu,
    PresentationContextResultReason, UserIdentity,
};

use crate::PacsError;

/// Storage SOP classes the listener accepts unless it is promiscuous: the
/// image classes radlab loads and the result objects it writes and reads
/// back (SEG, the SR family, Secondary Capture).
pub const STORAGE_CLASSES: &[&str] = &[
    uids::CT_IMAGE_STORAGE,
    uids::ENHANCED_CT_IMAGE_STORAGE,
    uids::MR_IMAGE_STORAGE,
    uids::ENHANCED_MR_IMAGE_STORAGE,
    uids::POSITRON_EMISSION_TOMOGRAPHY_IMAGE_STORAGE,
    uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE,
    uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
    uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING,
    uids::DIGITAL_MAMMOGRAPHY_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
    uids::SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::MULTI_FRAME_GRAYSCALE_BYTE_SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::MULTI_FRAME_GRAYSCALE_WORD_SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::MULTI_FRAME_TRUE_COLOR_SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::SEGMENTATION_STORAGE,
    uids::BASIC_TEXT_SR_STORAGE,
    uids::ENHANCED_SR_STORAGE,
    uids::COMPREHENSIVE_SR_STORAGE,
    uids::COMPREHENSIVE3_DSR_STORAGE,
    uids::KEY_OBJECT_SELECTION_DOCUMENT_STORAGE,
];

/// Transfer syntaxes radlab decodes, in the listener's order of preference
/// (dicom-ul takes the first of the *sender's* list that is also here).
pub fn decodable_transfer_syntaxes() -> Vec<&'static str> {
    [
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        uids::IMPLICIT_VR_LITTLE_ENDIAN,
        uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        // Explicit VR Big Endian: retired, still sent by old modalities; radlab reads it.
        "1.2.840.10008.1.2.2",
        uids::RLE_LOSSLESS,
        uids::JPEG_BASELINE8_BIT,
        uids::JPEG_EXTENDED12_BIT,
        uids::JPEG_LOSSLESS,
        uids::JPEG_LOSSLESS_SV1,
        uids::JPEG2000_LOSSLESS,
        uids::JPEG2000,
    ]
    .into_iter()
    .filter(|ts| {
        TransferSyntaxRegistry
            .get(ts)
            .is_some_and(|t| t.can_decode_all())
    })
    .collect()
}

/// How the listener is set up. [`ScpOptions::new`] gives loopback defaults.
#[derive(Debug, Clone)]
pub struct ScpOptions {
    /// Where instances go: `<storage>/<SOPInstanceUID>.dcm`.
    pub storage: PathBuf,
    /// Address to bind; port 0 picks a free one. Default `127.0.0.1:0`.
    pub address: SocketAddr,
    /// Our AE title. Default `RADLAB`.
    pub ae_title: String,
    /// Refuse an association whose called AE title is not ours. Default
    /// false (as Orthanc's `DicomCheckCalledAet`).
    pub check_called_aet: bool,
    /// Calling AE titles allowed; empty allows any.
    pub allowed_calling: Vec<String>,
    /// Accept any abstract syntax (still only decodable transfer syntaxes).
    pub promiscuous: bool,
    /// The largest PDU we accept (the acceptor's Maximum Length). Default 65,536.
    pub max_pdu: u32,
    /// Read and write timeout on each association's socket. Default 30 s.
    pub timeout: Duration,
    /// Associations served at once. Default 16.
    pub max_associations: usize,
    /// The largest instance accepted, in bytes; beyond it the store fails
    /// with status A700 (out of resources). Default 4 GiB.
    pub max_instance_bytes: u64,
}

impl ScpOptions {
    /// Loopback defaults, storing into `storage`.
    pub fn new(storage: impl Into<PathBuf>) -> ScpOptions {
        ScpOptions {
            storage: storage.into(),
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            ae_title: "RADLAB".into(),
            check_called_aet: false,
            allowed_calling: Vec::new(),
            promiscuous: false,
            max_pdu: 65_536,
            timeout: Duration::from_secs(30),
            max_associations: 16,
            max_instance_bytes: 4 << 30,
        }
    }
}

/// One stored instance, as the listener acknowledged it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The file, `<storage>/<SOPInstanceUID>.dcm`.
    pub path: PathBuf,
    /// SOP Class UID.
    pub sop_class: String,
    /// SOP Instance UID.
    pub sop_instance: String,
    /// Study Instance UID (from the data set).
    pub study: String,
    /// Series Instance UID (from the data set).
    pub series: String,
    /// Transfer syntax the data set came in.
    pub transfer_syntax: String,
    /// Bytes of the data set (the file less its meta group).
    pub bytes: u64,
    /// The sender's AE title.
    pub calling_aet: String,
    /// True when the instance was already stored (the first copy is kept).
    pub duplicate: bool,
    /// When the success status was sent.
    pub at: SystemTime,
}

/// What the listener reports, in order, per association.
#[derive(Debug, Clone)]
pub enum ScpEvent {
    /// An association was accepted.
    Associated {
        /// Association number (1, 2, ... in order of acceptance).
        id: u64,
        /// The sender's AE title.
        calling_aet: String,
        /// Each proposed context: abstract syntax and the transfer syntax
        /// chosen, or why it was refused.
        contexts: Vec<ContextResult>,
    },
    /// An association request was refused (AE title, no usable context).
    Rejected {
        /// The peer's address.
        peer: String,
        /// Why, in words.
        reason: String,
    },
    /// An instance is on disk and acknowledged.
    Stored(Stored),
    /// An instance was refused with a failure status; nothing was kept.
    Refused {
        /// Association number.
        id: u64,
        /// The SOP Instance UID the command named.
        sop_instance: String,
        /// The status sent.
        status: u16,
        /// Why, in words.
        reason: String,
    },
    /// A C-ECHO was answered.
    Echo {
        /// Association number.
        id: u64,
    },
    /// The association ended.
    Closed {
        /// Association number.
        id: u64,
        /// Released normally (false: aborted by the peer, broken, timed out).
        released: bool,
        /// Instances stored on it (duplicates included).
        stored: usize,
        /// How it ended, in words.
        how: String,
    },
}

/// One presentation context as negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextResult {
    /// Presentation context ID.
    pub id: u8,
    /// Abstract syntax (SOP class) UID.
    pub abstract_syntax: String,
    /// The transfer syntax accepted; `None` when refused.
    pub transfer_syntax: Option<String>,
    /// The reason when refused.
    pub refused: Option<String>,
}

/// Counters over the listener's life.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScpSummary {
    /// Associations accepted.
    pub associations: u64,
    /// Instances acknowledged with success (duplicates included).
    pub stored: u64,
    /// Of those, duplicates (kept once).
    pub duplicates: u64,
    /// Instances refused with a failure status.
    pub refused: u64,
    /// Associations that ended without a release.
    pub aborted: u64,
}

#[derive(Default)]
struct Counters {
    associations: AtomicUsize,
    stored: AtomicUsize,
    duplicates: AtomicUsize,
    refused: AtomicUsize,
    aborted: AtomicUsize,
    active: AtomicUsize,
}

/// A running listener. Dropping it stops it (as [`Scp::stop`] does).
pub struct Scp {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
    counters: Arc<Counters>,
    sockets: Arc<Mutex<HashMap<u64, TcpStream>>>,
    workers: Arc<Mutex<Vec<std::thread::JoinHandle<()>>>>,
}

/// The calling AE allow list, as dicom-ul's access control.
#[derive(Debug, Clone)]
struct Access {
    ours: String,
    check_called: bool,
    allowed: Vec<String>,
}

impl AccessControl for Access {
    fn check_access(
        &self,
        _this: &str,
        calling: &str,
        called: &str,
        _user: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        if self.check_called && called.trim() != self.ours {
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        if !self.allowed.is_empty() && !self.allowed.iter().any(|a| a == calling.trim()) {
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        Ok(())
    }
}

fn io_err(path: &Path, source: std::io::Error) -> PacsError {
    PacsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The folder of temporary files under `storage`.
pub fn incoming_dir(storage: &Path) -> PathBuf {
    storage.join(".incoming")
}

impl Scp {
    /// Bind and start serving. Leftover temporary files of an earlier run
    /// (never acknowledged) are removed first.
    pub fn start(opts: &ScpOptions) -> Result<(Scp, Receiver<ScpEvent>), PacsError> {
        if opts.ae_title.is_empty() || opts.ae_title.len() > 16 {
            return Err(PacsError::Answer {
                url: "listener".into(),
                reason: format!("AE title {:?}: must be 1 to 16 characters", opts.ae_title),
            });
        }
        if !(4096..=(1 << 24)).contains(&opts.max_pdu) {
            return Err(PacsError::Answer {
                url: "listener".into(),
                reason: format!(
                    "max PDU {}: must be 4,096 to 16,777,216 bytes",
                    opts.max_pdu
                ),
            });
        }
        let incoming = incoming_dir(&opts.storage);
        std::fs::create_dir_all(&incoming).map_err(|e| io_err(&incoming, e))?;
        for entry in std::fs::read_dir(&incoming).map_err(|e| io_err(&incoming, e))? {
            let p = entry.map_err(|e| io_err(&incoming, e))?.path();
            tracing::info!(file = %p.display(), "removing an unacknowledged partial instance");
            let _ = std::fs::remove_file(&p);
        }
        let listener = TcpListener::bind(opts.address)
            .map_err(|e| PacsError::Start(format!("cannot listen on {}: {e}", opts.address)))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| PacsError::Start(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| PacsError::Start(e.to_string()))?;
        let (tx, rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let sockets = Arc::new(Mutex::new(HashMap::new()));
        let workers = Arc::new(Mutex::new(Vec::new()));
        let ctx = Arc::new(Ctx::new(opts));
        let accept = {
            let (stop, counters, sockets, workers) = (
                stop.clone(),
                counters.clone(),
                sockets.clone(),
                workers.clone(),
            );
            std::thread::Builder::new()
                .name("radlab-scp-accept".into())
                .spawn(move || accept_loop(listener, ctx, tx, stop, counters, sockets, workers))
                .map_err(|e| PacsError::Start(e.to_string()))?
        };
        tracing::info!(%addr, "listening");
        Ok((
            Scp {
                addr,
                stop,
                accept: Some(accept),
                counters,
                sockets,
                workers,
            },
            rx,
        ))
    }

    /// The address bound (with the port chosen when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counters so far.
    pub fn summary(&self) -> ScpSummary {
        self.counters.summary()
    }

    /// Stop accepting, give the associations in progress up to `grace` to
    /// end by themselves, then cut the rest (their partial instances are
    /// removed, never acknowledged). Returns the counters.
    pub fn stop(mut self, grace: Duration) -> ScpSummary {
        self.shutdown(grace);
        self.counters.summary()
    }

    fn shutdown(&mut self, grace: Duration) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        let deadline = Instant::now() + grace;
        while self.counters.active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        for s in self
            .sockets
            .lock()
            .map(|m| {
                m.values()
                    .filter_map(|s| s.try_clone().ok())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
        {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        let handles: Vec<_> = self
            .workers
            .lock()
            .map(|mut w| w.drain(..).collect())
            .unwrap_or_default();
        for h in handles {
            let _ = h.join();
        }
    }
}

impl Drop for Scp {
    fn drop(&mut self) {
        if self.accept.is_some() {
            self.shutdown(Duration::ZERO);
        }
    }
}

impl Counters {
    fn summary(&self) -> ScpSummary {
        let g = |a: &AtomicUsize| a.load(Ordering::SeqCst) as u64;
        ScpSummary {
            associations: g(&self.associations),
            stored: g(&self.stored),
            duplicates: g(&self.duplicates),
            refused: g(&self.refused),
            aborted: g(&self.aborted),
        }
    }
}

/// What every association needs, shared.
struct Ctx {
    opts: ScpOptions,
    server: ServerAssociationOptions<
        'static,
        Access,
        dicom_ul::association::server::DefaultNegotiation,
    >,
}

impl Ctx {
    fn new(opts: &ScpOptions) -> Ctx {
        let mut server = ServerAssociationOptions::new()
            .ae_access_control(Access {
                ours: opts.ae_title.clone(),
                check_called: opts.check_called_aet,
                allowed: opts.allowed_calling.clone(),
            })
            .ae_title(opts.ae_title.clone())
            .max_pdu_length(opts.max_pdu)
            .strict(true)
            .promiscuous(opts.promiscuous)
            .read_timeout(opts.timeout)
            .write_timeout(opts.timeout)
            .with_abstract_syntax(uids::VERIFICATION);
        for c in STORAGE_CLASSES {
            server = server.with_abstract_syntax(*c);
        }
        for ts in decodable_transfer_syntaxes() {
            server = server.with_transfer_syntax(ts);
        }
        Ctx {
            opts: opts.clone(),
            server,
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    tx: Sender<ScpEvent>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    sockets: Arc<Mutex<HashMap<u64, TcpStream>>>,
    workers: Arc<Mutex<Vec<std::thread::JoinHandle<()>>>>,
) {
    let mut next_id = 0u64;
    while !stop.load(Ordering::SeqCst) {
        // The bound: leave new connections in the backlog while full.
        if counters.active.load(Ordering::SeqCst) >= ctx.opts.max_associations {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let (stream, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_nodelay(true);
        next_id += 1;
        let id = next_id;
        if let Ok(clone) = stream.try_clone() {
            if let Ok(mut m) = sockets.lock() {
                m.insert(id, clone);
            }
        }
        counters.active.fetch_add(1, Ordering::SeqCst);
        let (ctx, tx, counters2, sockets2) =
            (ctx.clone(), tx.clone(), counters.clone(), sockets.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("radlab-scp-{id}"))
            .spawn(move || {
                serve(&ctx, stream, peer, id, &tx, &counters2);
                if let Ok(mut m) = sockets2.lock() {
                    m.remove(&id);
                }
                counters2.active.fetch_sub(1, Ordering::SeqCst);
            });
        match spawned {
            Ok(h) => {
                if let Ok(mut w) = workers.lock() {
                    w.retain(|h| !h.is_finished());
                    w.push(h);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot start a thread for an association");
                counters.active.fetch_sub(1, Ordering::SeqCst);
                if let Ok(mut m) = sockets.lock() {
                    m.remove(&id);
                }
            }
        }
    }
}

/// A parsed command set: group 0000 elements by element number.
#[derive(Debug, Default)]
pub struct Command {
    elements: HashMap<u16, Vec<u8>>,
}

impl Command {
    /// Parse a command set (Implicit VR Little Endian, group 0000 only, no
    /// undefined lengths). Refuses anything else with a sentence.
    pub fn parse(bytes: &[u8]) -> Result<Command, String> {
        let mut elements = HashMap::new();
        let mut at = 0usize;
        while at < bytes.len() {
            let head = bytes
                .get(at..at + 8)
                .ok_or_else(|| format!("a truncated element header at byte {at}"))?;
            let group = u16::from_le_bytes([head[0], head[1]]);
            let elem = u16::from_le_bytes([head[2], head[3]]);
            let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            if group != 0 {
                return Err(format!(
                    "element ({group:04X},{elem:04X}) at byte {at}: a command set holds group 0000 only"
                ));
            }
            if len == u32::MAX {
                return Err(format!(
                    "element (0000,{elem:04X}): undefined length in a command set"
                ));
            }
            let start = at + 8;
            let end = start
                .checked_add(len as usize)
                .filter(|&e| e <= bytes.len())
                .ok_or_else(|| {
                    format!(
                        "element (0000,{elem:04X}) declares {len} bytes, {} remain",
                        bytes.len() - start
                    )
                })?;
            elements.insert(elem, bytes[start..end].to_vec());
            at = end;
        }
        Ok(Command { elements })
    }

    /// A US element's value.
    pub fn us(&self, elem: u16) -> Option<u16> {
        self.elements
            .get(&elem)
            .filter(|v| v.len() == 2)
            .map(|v| u16::from_le_bytes([v[0], v[1]]))
    }

    /// A UI element's value, padding removed.
    pub fn ui(&self, elem: u16) -> Option<String> {
        self.elements.get(&elem).map(|v| {
            String::from_utf8_lossy(v)
                .trim_end_matches(['\0', ' '])
                .to_string()
        })
    }
}

/// Whether `uid` is a syntactically valid UID (PS3.5 9.1): digits and dots,
/// 1 to 64 characters, no empty component, no leading zero in a component.
pub fn valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

const C_STORE_RQ: u16 = 0x0001;
const C_STORE_RSP: u16 = 0x8001;
const C_ECHO_RQ: u16 = 0x0030;
const C_ECHO_RSP: u16 = 0x8030;
const NO_DATA_SET: u16 = 0x0101;
/// Largest command set accepted (a C-STORE command is a few hundred bytes).
const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// Status codes sent (PS3.4 Annex B.2.3 and PS3.7 C).
pub mod status {
    /// Success.
    pub const SUCCESS: u16 = 0x0000;
    /// Refused: out of resources (too large, disk full, write error).
    pub const OUT_OF_RESOURCES: u16 = 0xA700;
    /// Error: data set does not match SOP class.
    pub const DATA_SET_MISMATCH: u16 = 0xA900;
    /// Error: cannot understand.
    pub const CANNOT_UNDERSTAND: u16 = 0xC000;
}

/// An instance being received.
struct Incoming {
    pc: u8,
    message_id: u16,
    sop_class: String,
    sop_instance: String,
    transfer_syntax: String,
    file: Option<BufWriter<tempfile::NamedTempFile>>,
    bytes: u64,
    /// Set when the instance will be refused (too large, write error): the
    /// remaining fragments are read and dropped.
    failure: Option<(u16, String)>,
}

enum Ended {
    Released,
    Aborted(String),
}

fn serve(
    ctx: &Ctx,
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    tx: &Sender<ScpEvent>,
    counters: &Counters,
) {
    let mut assoc = match ctx.server.establish(stream) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(%peer, error = %e, "association refused");
            let _ = tx.send(ScpEvent::Rejected {
                peer: peer.to_string(),
                reason: e.to_string(),
            });
            return;
        }
    };
    counters.associations.fetch_add(1, Ordering::SeqCst);
    #[allow(deprecated)]
    let calling = assoc.client_ae_title().trim().to_string();
    let contexts: Vec<ContextResult> = assoc
        .presentation_contexts()
        .iter()
        .map(|pc| {
            let accepted = pc.reason == PresentationContextResultReason::Acceptance;
            ContextResult {
                id: pc.id,
                abstract_syntax: pc.abstract_syntax.trim_end_matches('\0').to_string(),
                transfer_syntax: accepted
                    .then(|| pc.transfer_syntax.trim_end_matches('\0').to_string()),
                refused: (!accepted).then(|| format!("{:?}", pc.reason)),
            }
        })
        .collect();
    tracing::info!(id, %peer, calling = %calling, contexts = contexts.len(), "association accepted");
    let _ = tx.send(ScpEvent::Associated {
        id,
        calling_aet: calling.clone(),
        contexts: contexts.clone(),
    });
    let mut stored = 0usize;
    let mut command: Option<(u8, Vec<u8>)> = None;
    let mut incoming: Option<Incoming> = None;
    let ended = 'outer: loop {
        let pdu = match assoc.receive() {
            Ok(p) => p,
            Err(e) => break Ended::Aborted(format!("receive failed: {e}")),
        };
        match pdu {
            Pdu::PData { data } => {
                for pdv in data {
                    let step = on_pdv(
                        ctx,
                        &contexts,
                        &calling,
                        id,
                        pdv,
                        &mut command,
                        &mut incoming,
                    );
                    match step {
                        Ok(None) => {}
                        Ok(Some(Reply { pc, cmd, event })) => {
                            if let Some(ev) = event {
                                match &ev {
                                    ScpEvent::Stored(s) => {
                                        stored += 1;
                                        counters.stored.fetch_add(1, Ordering::SeqCst);
                                        if s.duplicate {
                                            counters.duplicates.fetch_add(1, Ordering::SeqCst);
                                        }
                                    }
                                    ScpEvent::Refused { .. } => {
                                        counters.refused.fetch_add(1, Ordering::SeqCst);
                                    }
                                    _ => {}
                                }
                                let _ = tx.send(ev);
                            }
                            if let Err(e) = send_command(&mut assoc, pc, cmd) {
                                break 'outer Ended::Aborted(format!("cannot answer: {e}"));
                            }
                        }
                        Err(reason) => {
                            tracing::warn!(id, %peer, %reason, "aborting the association");
                            let _ = assoc.send(&Pdu::AbortRQ {
                                source: dicom_ul::pdu::AbortRQSource::ServiceProvider(
                                    dicom_ul::pdu::AbortRQServiceProviderReason::UnexpectedPduParameter,
                                ),
                            });
                            break 'outer Ended::Aborted(reason);
                        }
                    }
                }
            }
            Pdu::ReleaseRQ => {
                if incoming.is_some() || command.is_some() {
                    tracing::warn!(
                        id,
                        "release in the middle of a message: the partial instance is dropped"
                    );
                }
                let _ = assoc.send(&Pdu::ReleaseRP);
                break Ended::Released;
            }
            Pdu::AbortRQ { source } => {
                break Ended::Aborted(format!("the sender aborted ({source:?})"));
            }
            other => {
                let _ = assoc.send(&Pdu::AbortRQ {
                    source: dicom_ul::pdu::AbortRQSource::ServiceProvider(
                        dicom_ul::pdu::AbortRQServiceProviderReason::UnexpectedPdu,
                    ),
                });
                break Ended::Aborted(format!("unexpected {} PDU", pdu_name(&other)));
            }
        }
    };
    // An unfinished instance's temporary file is removed when dropped.
    drop(incoming);
    let (released, how) = match ended {
        Ended::Released => (true, "released".to_string()),
        Ended::Aborted(why) => {
            counters.aborted.fetch_add(1, Ordering::SeqCst);
            (false, why)
        }
    };
    tracing::info!(id, released, stored, %how, "association ended");
    let _ = tx.send(ScpEvent::Closed {
        id,
        released,
        stored,
        how,
    });
}

fn pdu_name(p: &Pdu) -> &'static str {
    match p {
        Pdu::AssociationRQ(_) => "A-ASSOCIATE-RQ",
        Pdu::AssociationAC(_) => "A-ASSOCIATE-AC",
        Pdu::AssociationRJ(_) => "A-ASSOCIATE-RJ",
        Pdu::PData { .. } => "P-DATA-TF",
        Pdu::ReleaseRQ => "A-RELEASE-RQ",
        Pdu::ReleaseRP => "A-RELEASE-RP",
        Pdu::AbortRQ { .. } => "A-ABORT",
        Pdu::Unknown { .. } => "unknown",
    }
}

struct Reply {
    pc: u8,
    cmd: InMemDicomObject,
    event: Option<ScpEvent>,
}

fn send_command<S>(
    assoc: &mut dicom_ul::association::server::ServerAssociation<S>,
    pc: u8,
    cmd: InMemDicomObject,
) -> Result<(), String>
where
    S: std::io::Read + std::io::Write + dicom_ul::association::CloseSocket,
{
    let mut data = Vec::new();
    cmd.write_dataset_with_ts(&mut data, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| e.to_string())?;
    assoc
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: pc,
                value_type: PDataValueType::Command,
                is_last: true,
                data,
            }],
        })
        .map_err(|e| e.to_string())
}

fn response(
    field: u16,
    class: &str,
    instance: Option<&str>,
    to: u16,
    status: u16,
) -> InMemDicomObject {
    let mut els = vec![
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(class),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [field])),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            dicom_value!(U16, [to]),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [NO_DATA_SET]),
        ),
        DataElement::new(tags::STATUS, VR::US, dicom_value!(U16, [status])),
    ];
    if let Some(i) = instance {
        els.push(DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(i),
        ));
    }
    InMemDicomObject::command_from_element_iter(els)
}

/// Handle one PDV. `Ok(Some)` is a response to send; `Err` aborts the
/// association (a protocol violation: nothing sensible can be answered).
fn on_pdv(
    ctx: &Ctx,
    contexts: &[ContextResult],
    calling: &str,
    id: u64,
    pdv: PDataValue,
    command: &mut Option<(u8, Vec<u8>)>,
    incoming: &mut Option<Incoming>,
) -> Result<Option<Reply>, String> {
    let pc = pdv.presentation_context_id;
    let ctx_result = contexts
        .iter()
        .find(|c| c.id == pc && c.transfer_syntax.is_some())
        .ok_or_else(|| format!("a PDV on presentation context {pc}, which was not accepted"))?;
    match pdv.value_type {
        PDataValueType::Command => {
            if incoming.is_some() {
                return Err("a command fragment while a data set was expected".into());
            }
            let buf = command.get_or_insert_with(|| (pc, Vec::new()));
            if buf.0 != pc {
                return Err(format!(
                    "command fragments on presentation contexts {} and {pc}",
                    buf.0
                ));
            }
            if buf.1.len() + pdv.data.len() > MAX_COMMAND_BYTES {
                return Err(format!("a command set over {MAX_COMMAND_BYTES} bytes"));
            }
            buf.1.extend_from_slice(&pdv.data);
            if !pdv.is_last {
                return Ok(None);
            }
            let (pc, bytes) = command.take().unwrap_or_default();
            let cmd = Command::parse(&bytes).map_err(|e| format!("malformed command: {e}"))?;
            let field = cmd
                .us(0x0100)
                .ok_or("a command without Command Field (0000,0100)")?;
            let mid = cmd
                .us(0x0110)
                .ok_or("a command without Message ID (0000,0110)")?;
            let class = cmd.ui(0x0002).unwrap_or_default();
            match field {
                C_ECHO_RQ => Ok(Some(Reply {
                    pc,
                    cmd: response(C_ECHO_RSP, uids::VERIFICATION, None, mid, status::SUCCESS),
                    event: Some(ScpEvent::Echo { id }),
                })),
                C_STORE_RQ => {
                    if cmd.us(0x0800) == Some(NO_DATA_SET) {
                        return Err("a C-STORE request without a data set".into());
                    }
                    let instance = cmd
                        .ui(0x1000)
                        .ok_or("a C-STORE without Affected SOP Instance UID (0000,1000)")?;
                    let ts = ctx_result.transfer_syntax.clone().unwrap_or_default();
                    let mut inc = Incoming {
                        pc,
                        message_id: mid,
                        sop_class: class.clone(),
                        sop_instance: instance.clone(),
                        transfer_syntax: ts,
                        file: None,
                        bytes: 0,
                        failure: None,
                    };
                    if !valid_uid(&instance) {
                        inc.failure = Some((
                            status::CANNOT_UNDERSTAND,
                            format!("Affected SOP Instance UID {instance:?} is not a valid UID"),
                        ));
                    } else if class != ctx_result.abstract_syntax {
                        inc.failure = Some((
                            status::DATA_SET_MISMATCH,
                            format!(
                                "the command's SOP class {class} differs from presentation context {pc}'s {}",
                                ctx_result.abstract_syntax
                            ),
                        ));
                    } else {
                        match open_temp(&ctx.opts.storage, &inc) {
                            Ok(f) => inc.file = Some(f),
                            Err(e) => {
                                inc.failure = Some((status::OUT_OF_RESOURCES, e));
                            }
                        }
                    }
                    *incoming = Some(inc);
                    Ok(None)
                }
                other => Err(format!(
                    "command 0x{other:04X} is not served here (C-STORE and C-ECHO only)"
                )),
            }
        }
        PDataValueType::Data => {
            let inc = incoming
                .as_mut()
                .ok_or("a data fragment with no C-STORE command before it")?;
            if inc.pc != pc {
                return Err(format!(
                    "data on presentation context {pc} for a command on {}",
                    inc.pc
                ));
            }
            inc.bytes += pdv.data.len() as u64;
            if inc.failure.is_none() && inc.bytes > ctx.opts.max_instance_bytes {
                inc.failure = Some((
                    status::OUT_OF_RESOURCES,
                    format!(
                        "the instance is over the limit of {} bytes",
                        ctx.opts.max_instance_bytes
                    ),
                ));
                inc.file = None;
            }
            if inc.failure.is_none() {
                if let Some(f) = inc.file.as_mut() {
                    if let Err(e) = f.write_all(&pdv.data) {
                        inc.failure =
                            Some((status::OUT_OF_RESOURCES, format!("write failed: {e}")));
                        inc.file = None;
                    }
                }
            }
            if !pdv.is_last {
                return Ok(None);
            }
            let inc = incoming.take().ok_or("lost the instance")?;
            Ok(Some(finish(ctx, calling, id, inc)))
        }
    }
}

fn open_temp(storage: &Path, inc: &Incoming) -> Result<BufWriter<tempfile::NamedTempFile>, String> {
    let dir = incoming_dir(storage);
    let tmp = tempfile::Builder::new()
        .prefix("part-")
        .suffix(".dcm")
        .tempfile_in(&dir)
        .map_err(|e| format!("{}: cannot create a file: {e}", dir.display()))?;
    let mut w = BufWriter::with_capacity(256 * 1024, tmp);
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(inc.sop_class.as_str())
        .media_storage_sop_instance_uid(inc.sop_instance.as_str())
        .transfer_syntax(inc.transfer_syntax.as_str())
        .implementation_class_uid(radlab_dicom::uid::derived(0, "radlab implementation"))
        .implementation_version_name(crate::IMPLEMENTATION_VERSION_NAME)
        .build()
        .map_err(|e| format!("cannot build the file meta group: {e}"))?;
    w.write_all(&[0u8; 128])
        .and_then(|_| w.write_all(b"DICM"))
        .map_err(|e| format!("write failed: {e}"))?;
    meta.write(&mut w)
        .map_err(|e| format!("cannot write the file meta group: {e}"))?;
    Ok(w)
}

/// The last fragment is in: make it durable, check it, store it, answer.
fn finish(ctx: &Ctx, calling: &str, id: u64, mut inc: Incoming) -> Reply {
    let refuse = |inc: &Incoming, status: u16, reason: String| {
        tracing::warn!(id, instance = %inc.sop_instance, status = format!("{status:04X}"), %reason, "instance refused");
        Reply {
            pc: inc.pc,
            cmd: response(
                C_STORE_RSP,
                &inc.sop_class,
                Some(&inc.sop_instance),
                inc.message_id,
                status,
            ),
            event: Some(ScpEvent::Refused {
                id,
                sop_instance: inc.sop_instance.clone(),
                status,
                reason,
            }),
        }
    };
    if let Some((status, reason)) = inc.failure.take() {
        return refuse(&inc, status, reason);
    }
    let Some(w) = inc.file.take() else {
        return refuse(&inc, status::OUT_OF_RESOURCES, "no file".into());
    };
    let tmp = match w.into_inner() {
        Ok(t) => t,
        Err(e) => {
            return refuse(
                &inc,
                status::OUT_OF_RESOURCES,
                format!("write failed: {}", e.error()),
            );
        }
    };
    // fdatasync: the data and the size (what a reader needs), not the times.
    if let Err(e) = tmp.as_file().sync_data() {
        return refuse(&inc, status::OUT_OF_RESOURCES, format!("fsync failed: {e}"));
    }
    // Read it back with radlab's hardened reader: a data set it cannot read
    // is refused here, not later in the pipeline.
    let obj = match radlab_dicom::open_header(tmp.path()) {
        Ok(o) => o,
        Err(e) => {
            let reason = e
                .to_string()
                .replace(&tmp.path().display().to_string(), "the data set");
            return refuse(&inc, status::CANNOT_UNDERSTAND, reason);
        }
    };
    let text = |tag| {
        obj.element(tag)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
            .unwrap_or_default()
    };
    let (inst, class, study, series) = (
        text(tags::SOP_INSTANCE_UID),
        text(tags::SOP_CLASS_UID),
        text(tags::STUDY_INSTANCE_UID),
        text(tags::SERIES_INSTANCE_UID),
    );
    if inst != inc.sop_instance || class != inc.sop_class {
        return refuse(
            &inc,
            status::DATA_SET_MISMATCH,
            format!(
                "the data set is {class} / {inst}, the command said {} / {}",
                inc.sop_class, inc.sop_instance
            ),
        );
    }
    for (what, uid) in [
        ("Study Instance UID", &study),
        ("Series Instance UID", &series),
    ] {
        if !valid_uid(uid) {
            return refuse(
                &inc,
                status::CANNOT_UNDERSTAND,
                format!("{what} {uid:?} is missing or not a valid UID"),
            );
        }
    }
    let path = ctx.opts.storage.join(format!("{}.dcm", inc.sop_instance));
    let duplicate = match tmp.persist_noclobber(&path) {
        Ok(_) => false,
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            tracing::info!(id, instance = %inc.sop_instance, "duplicate instance: the first copy is kept");
            true
        }
        Err(e) => {
            return refuse(
                &inc,
                status::OUT_OF_RESOURCES,
                format!("{}: cannot store: {}", path.display(), e.error),
            );
        }
    };
    if !duplicate {
        if let Err(e) = std::fs::File::open(&ctx.opts.storage).and_then(|d| d.sync_all()) {
            return refuse(
                &inc,
                status::OUT_OF_RESOURCES,
                format!("fsync of the folder failed: {e}"),
            );
        }
    }
    let stored = Stored {
        path,
        sop_class: inc.sop_class.clone(),
        sop_instance: inc.sop_instance.clone(),
        study,
        series,
        transfer_syntax: inc.transfer_syntax.clone(),
        bytes: inc.bytes,
        calling_aet: calling.to_string(),
        duplicate,
        at: SystemTime::now(),
    };
    Reply {
        pc: inc.pc,
        cmd: response(
            C_STORE_RSP,
            &inc.sop_class,
            Some(&inc.sop_instance),
            inc.message_id,
            status::SUCCESS,
        ),
        event: Some(ScpEvent::Stored(stored)),
    }
}
