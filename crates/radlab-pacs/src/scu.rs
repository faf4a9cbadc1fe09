//! DIMSE C-ECHO and C-STORE as a service class user, on dicom-ul.
//!
//! Every association reports what was negotiated: for each proposed
//! abstract syntax, the transfer syntax accepted, or that it was refused.
//! dicom-ul keeps only the accepted contexts, so a refusal is known by its
//! absence; the words say so ("the PACS accepted no context for SEG").

use std::net::TcpStream;
use std::time::Duration;

use dicom_core::{DataElement, PrimitiveValue, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::ClientAssociation;
use dicom_ul::association::client::ClientAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};

use crate::PacsError;

/// One proposed abstract syntax and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Abstract syntax (SOP class) UID.
    pub abstract_syntax: String,
    /// The accepted transfer syntax, `None` when refused.
    pub transfer_syntax: Option<String>,
    /// Presentation context ID when accepted.
    pub id: Option<u8>,
}

impl std::fmt::Display for Negotiated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = sop_name(&self.abstract_syntax);
        match &self.transfer_syntax {
            Some(ts) => write!(f, "{name}: accepted with {}", ts_name(ts)),
            None => write!(
                f,
                "{name}: refused (the PACS accepts this class with none of the transfer syntaxes proposed, or not at all)"
            ),
        }
    }
}

/// A readable name of a SOP class.
pub fn sop_name(uid: &str) -> String {
    match uid {
        uids::VERIFICATION => "Verification".into(),
        uids::CT_IMAGE_STORAGE => "CT Image Storage".into(),
        uids::SEGMENTATION_STORAGE => "Segmentation Storage (SEG)".into(),
        uids::COMPREHENSIVE3_DSR_STORAGE => "Comprehensive 3D SR Storage".into(),
        uids::SECONDARY_CAPTURE_IMAGE_STORAGE => "Secondary Capture Image Storage".into(),
        other => other.to_string(),
    }
}

fn ts_name(uid: &str) -> String {
    TransferSyntaxRegistry
        .get(uid)
        .map(|t| format!("{} ({uid})", t.name()))
        .unwrap_or_else(|| uid.to_string())
}

/// An open association with a storage SCP.
pub struct Association {
    assoc: ClientAssociation<TcpStream>,
    /// What was negotiated, one entry per proposed abstract syntax.
    pub negotiated: Vec<Negotiated>,
    next_id: u16,
}

/// Options for [`Association::open`].
#[derive(Debug, Clone)]
pub struct ScuOptions {
    /// Our AE title.
    pub calling_aet: String,
    /// The peer's AE title.
    pub called_aet: String,
    /// `host:port` (radlab's tests use 127.0.0.1 only).
    pub address: String,
    /// Read and write timeout.
    pub timeout: Duration,
}

impl Association {
    /// Open an association proposing Verification and each SOP class of
    /// `classes`, each with Explicit then Implicit VR Little Endian.
    pub fn open(opts: &ScuOptions, classes: &[&str]) -> Result<Association, PacsError> {
        let mut o = ClientAssociationOptions::new()
            .calling_ae_title(opts.calling_aet.clone())
            .called_ae_title(opts.called_aet.clone())
            .read_timeout(opts.timeout)
            .write_timeout(opts.timeout)
            .connection_timeout(opts.timeout);
        let mut proposed: Vec<String> = vec![uids::VERIFICATION.to_string()];
        for c in classes {
            if !proposed.iter().any(|p| p == c) {
                proposed.push(c.to_string());
            }
        }
        for p in &proposed {
            o = o.with_presentation_context(
                p.clone(),
                vec![
                    uids::EXPLICIT_VR_LITTLE_ENDIAN.to_string(),
                    uids::IMPLICIT_VR_LITTLE_ENDIAN.to_string(),
                ],
            );
        }
        let target = format!("{}@{}", opts.called_aet, opts.address);
        let assoc = o.establish_with(&target).map_err(|e| PacsError::Http {
            method: "A-ASSOCIATE",
            url: target.clone(),
            reason: e.to_string(),
        })?;
        let mut assoc = assoc;
        // Without it, a data PDU written right after its command waits for
        // the peer's delayed ACK (Nagle): about 40 ms per instance.
        let _ = assoc.inner_stream().set_nodelay(true);
        let negotiated = proposed
            .iter()
            .map(|p| {
                let pc = assoc
                    .presentation_contexts()
                    .iter()
                    .find(|c| c.abstract_syntax.trim_end_matches('\0') == p);
                Negotiated {
                    abstract_syntax: p.clone(),
                    transfer_syntax: pc
                        .map(|c| c.transfer_syntax.trim_end_matches('\0').to_string()),
                    id: pc.map(|c| c.id),
                }
            })
            .collect();
        Ok(Association {
            assoc,
            negotiated,
            next_id: 1,
        })
    }

    fn context(&self, class: &str) -> Result<(u8, String), PacsError> {
        let n = self
            .negotiated
            .iter()
            .find(|n| n.abstract_syntax == class)
            .ok_or_else(|| PacsError::Answer {
                url: "association".into(),
                reason: format!("{} was not proposed", sop_name(class)),
            })?;
        match (n.id, &n.transfer_syntax) {
            (Some(id), Some(ts)) => Ok((id, ts.clone())),
            _ => Err(PacsError::Answer {
                url: "association".into(),
                reason: n.to_string(),
            }),
        }
    }

    fn send_command(&mut self, id: u8, cmd: InMemDicomObject) -> Result<(), PacsError> {
        let mut data = Vec::new();
        cmd.write_dataset_with_ts(&mut data, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
            .map_err(|e| self.err(e))?;
        self.assoc
            .send(&Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: id,
                    value_type: PDataValueType::Command,
                    is_last: true,
                    data,
                }],
            })
            .map_err(|e| self.err(e))
    }

    fn err(&self, e: impl std::fmt::Display) -> PacsError {
        PacsError::Answer {
            url: "DIMSE".into(),
            reason: e.to_string(),
        }
    }

    /// Read a response command (its fragments joined) and return its Status;
    /// a response to another message than `mid` is an error.
    fn read_status(&mut self, mid: u16) -> Result<u16, PacsError> {
        let mut bytes = Vec::new();
        loop {
            match self.assoc.receive().map_err(|e| self.err(e))? {
                Pdu::PData { data } => {
                    let mut last = false;
                    for v in data {
                        if v.value_type == PDataValueType::Command {
                            bytes.extend_from_slice(&v.data);
                            last |= v.is_last;
                        }
                    }
                    if last {
                        break;
                    }
                }
                Pdu::AbortRQ { source } => {
                    return Err(self.err(format!("the peer aborted the association ({source:?})")));
                }
                other => return Err(self.err(format!("unexpected {other:?}"))),
            }
        }
        let cmd =
            InMemDicomObject::read_dataset_with_ts(&bytes[..], &IMPLICIT_VR_LITTLE_ENDIAN.erased())
                .map_err(|e| self.err(e))?;
        let to = cmd
            .element(tags::MESSAGE_ID_BEING_RESPONDED_TO)
            .ok()
            .and_then(|e| e.to_int::<u16>().ok());
        if to != Some(mid) {
            return Err(self.err(format!(
                "a response to message {to:?}, expected {mid} (Message ID Being Responded To, 0000,0120)"
            )));
        }
        cmd.element(tags::STATUS)
            .ok()
            .and_then(|e| e.to_int::<u16>().ok())
            .ok_or_else(|| self.err("a response without Status (0000,0900)"))
    }

    fn message_id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// C-ECHO; returns the Status (0 is success).
    pub fn echo(&mut self) -> Result<u16, PacsError> {
        let (id, _) = self.context(uids::VERIFICATION)?;
        let mid = self.message_id();
        let cmd = InMemDicomObject::command_from_element_iter([
            DataElement::new(
                tags::AFFECTED_SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from(uids::VERIFICATION),
            ),
            DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [0x0030])),
            DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [mid])),
            DataElement::new(
                tags::COMMAND_DATA_SET_TYPE,
                VR::US,
                dicom_value!(U16, [0x0101]),
            ),
        ]);
        self.send_command(id, cmd)?;
        self.read_status(mid)
    }

    /// C-STORE one object; returns the Status (0 success, 0xB000-0xBFFF
    /// warnings, else failure).
    pub fn store(&mut self, obj: &DefaultDicomObject) -> Result<u16, PacsError> {
        let class = obj
            .meta()
            .media_storage_sop_class_uid()
            .trim_end_matches('\0')
            .to_string();
        let instance = obj
            .meta()
            .media_storage_sop_instance_uid()
            .trim_end_matches('\0')
            .to_string();
        let (id, ts_uid) = self.context(&class)?;
        let ts = TransferSyntaxRegistry
            .get(&ts_uid)
            .ok_or_else(|| self.err(format!("unknown transfer syntax {ts_uid}")))?;
        let mut data = Vec::new();
        obj.write_dataset_with_ts(&mut data, ts)
            .map_err(|e| self.err(e))?;
        self.store_raw(id, &class, &instance, &data)
    }

    /// C-STORE a Part 10 file as it is: when the presentation context of its
    /// class was accepted with the file's own transfer syntax, the data set
    /// bytes after the meta group go out unchanged (byte for byte, no
    /// decoding); otherwise the file is read and re-encoded as [`Self::store`]
    /// does. Returns the Status.
    pub fn store_file(&mut self, path: &std::path::Path) -> Result<u16, PacsError> {
        let io = |e: std::io::Error| PacsError::Io {
            path: path.to_owned(),
            source: e,
        };
        let bytes = std::fs::read(path).map_err(io)?;
        let split = split_part10(&bytes).ok_or_else(|| PacsError::Answer {
            url: path.display().to_string(),
            reason: "not a Part 10 file (no preamble, DICM and meta group)".into(),
        })?;
        let (meta, data) = split;
        let class = meta
            .media_storage_sop_class_uid()
            .trim_end_matches('\0')
            .to_string();
        let ts_file = meta.transfer_syntax().trim_end_matches('\0').to_string();
        let (id, ts_uid) = self.context(&class)?;
        if ts_uid != ts_file {
            let obj = dicom_object::OpenFileOptions::new()
                .from_reader(&bytes[128..])
                .map_err(|e| self.err(format!("{}: {e}", path.display())))?;
            return self.store(&obj);
        }
        let instance = meta
            .media_storage_sop_instance_uid()
            .trim_end_matches('\0')
            .to_string();
        self.store_raw(id, &class, &instance, data)
    }

    /// C-STORE a data set already encoded in the context's transfer syntax.
    fn store_raw(
        &mut self,
        id: u8,
        class: &str,
        instance: &str,
        data: &[u8],
    ) -> Result<u16, PacsError> {
        let mid = self.message_id();
        let cmd = InMemDicomObject::command_from_element_iter([
            DataElement::new(
                tags::AFFECTED_SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from(class),
            ),
            DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [0x0001])),
            DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [mid])),
            DataElement::new(tags::PRIORITY, VR::US, dicom_value!(U16, [0x0000])),
            DataElement::new(
                tags::COMMAND_DATA_SET_TYPE,
                VR::US,
                dicom_value!(U16, [0x0000]),
            ),
            DataElement::new(
                tags::AFFECTED_SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(instance),
            ),
        ]);
        self.send_command(id, cmd)?;
        {
            use std::io::Write;
            let mut w = self.assoc.send_pdata(id);
            w.write_all(data).map_err(|e| PacsError::Answer {
                url: "DIMSE".into(),
                reason: e.to_string(),
            })?;
        }
        self.read_status(mid)
    }

    /// Release the association.
    pub fn release(self) -> Result<(), PacsError> {
        self.assoc.release().map_err(|e| PacsError::Answer {
            url: "A-RELEASE".into(),
            reason: e.to_string(),
        })
    }
}

/// Split a Part 10 file into its meta group and the data set bytes after it.
pub fn split_part10(bytes: &[u8]) -> Option<(dicom_object::FileMetaTable, &[u8])> {
    if bytes.len() < 144 || &bytes[128..132] != b"DICM" {
        return None;
    }
    // (0002,0000) UL, explicit VR little endian: tag, "UL", length 4, value.
    if bytes[132..138] != [0x02, 0x00, 0x00, 0x00, b'U', b'L'] {
        return None;
    }
    let group_len = u32::from_le_bytes(bytes[140..144].try_into().ok()?) as usize;
    let end = 144usize
        .checked_add(group_len)
        .filter(|&e| e <= bytes.len())?;
    let meta = dicom_object::FileMetaTable::from_reader(&bytes[128..end]).ok()?;
    Some((meta, &bytes[end..]))
}
