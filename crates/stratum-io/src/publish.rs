//! Publishing a run's outputs: all of them or none, and never a file the run did not write.
//!
//! A run writes every output into a *staging* folder beside its output folder
//! (`.result.stratum-<pid>-<n>` next to `result/`). Only when every file is complete does
//! [`OutputDir::commit`] move them into place, with a `manifest.json` that lists the tool
//! version, the command, every input (size and SHA-256) and every output (size, SHA-256, CSV
//! rows), and the start and end time:
//!
//! - when the output folder does not exist yet, the staging folder is renamed to it (one
//!   atomic step);
//! - otherwise the previous run's `manifest.json` is removed first (from then on the folder is
//!   visibly not a finished run), the previous run's files that this run does not write are
//!   removed (only when they are still what that run wrote), each new file is renamed into
//!   place, and the new `manifest.json` comes last.
//!
//! A folder is a finished run exactly when its `manifest.json` says `"status": "complete"`.
//! Files in the output folder that no manifest lists are the user's: they are never removed or
//! replaced; an output that would replace one is an error before anything is touched (or, for
//! names only known at the end such as `actions/<manager>.csv`, before anything is published).
//! An output that is an input of the run is always an error. A killed run leaves its staging
//! folder, which the next run removes; a failed run keeps its diagnostics (the rejects and the
//! quality report) in `<folder>.failed/` beside the output folder, and the next successful run
//! removes that.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The marker inside a staging folder: it holds the process id of the run.
const STAGING_MARKER: &str = ".stratum-staging";
/// The format version of the manifest.
const MANIFEST_VERSION: u32 = 1;

/// A failure to prepare or publish the outputs.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// An output would replace one of the run's inputs.
    #[error(
        "the output `{}` would replace the input `{}`; choose another --out folder",
        output.display(),
        input.display()
    )]
    OutputIsInput {
        /// The output's place.
        output: PathBuf,
        /// The input it would replace.
        input: PathBuf,
    },
    /// An input is a file an earlier run wrote into the output folder, which this run would
    /// remove or replace.
    #[error(
        "the input `{}` is in the output folder `{}`, where an earlier Stratum run wrote it; this run would replace or remove it, so choose another --out folder (or copy the input elsewhere)",
        input.display(),
        folder.display()
    )]
    InputInOutputs {
        /// The input.
        input: PathBuf,
        /// The output folder.
        folder: PathBuf,
    },
    /// The output folder is a file.
    #[error("the output folder `{}` is a file, not a folder", path.display())]
    NotAFolder {
        /// The path given.
        path: PathBuf,
    },
    /// An output would replace a file no earlier Stratum run wrote there.
    #[error(
        "`{}` exists and was not written by Stratum (the folder's manifest.json does not list it); move it away or choose another --out folder",
        path.display()
    )]
    NotOurs {
        /// The file in the way.
        path: PathBuf,
    },
    /// An output would be written through a symbolic link inside the output folder.
    #[error(
        "`{}` is a symbolic link; Stratum writes only into real folders inside its output folder",
        path.display()
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// A file or folder could not be read, written, moved or removed.
    #[error("failed to {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl PublishError {
    /// Whether the error is in what the user asked for (an output folder that cannot be used),
    /// rather than a failure of the machine (disk full, permissions, I/O).
    pub fn is_usage(&self) -> bool {
        !matches!(self, PublishError::Io { .. })
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> PublishError + 'a {
    move |source| PublishError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A file's size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Digest256 {
    /// Bytes.
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// Reads `path` whole and returns its size and SHA-256.
pub fn digest_file(path: &Path) -> io::Result<Digest256> {
    describe_reading(path, false).map(|(digest, _)| digest)
}

/// Reads `path` whole and returns its size, SHA-256 and, when `csv`, its data records.
fn describe_reading(path: &Path, csv: bool) -> io::Result<(Digest256, Option<u64>)> {
    let mut file = fs::File::open(path)?;
    let mut described = Describing::new(csv);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        described.feed(&buf[..n]);
    }
    Ok(described.finish())
}

/// Inputs' digests worked out by whatever reads them whole, by path: the engine reads a CSV
/// file once and hashes its bytes on the way, instead of the manifest reading the file a
/// second time. A cheap handle; its clones share one list.
#[derive(Debug, Clone, Default)]
pub struct ReadDigests(Arc<Mutex<Vec<(PathBuf, Digest256)>>>);

impl ReadDigests {
    /// The digest of `path` as it was read to its end, if it was.
    pub fn get(&self, path: &Path) -> Option<Digest256> {
        let list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        list.iter()
            .rev()
            .find(|(p, _)| p == path)
            .map(|(_, d)| d.clone())
    }

    fn record(&self, path: PathBuf, digest: Digest256) {
        let mut list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        list.push((path, digest));
    }
}

/// Whether this processor has SHA-256 instructions. With them the engine hashes a file as it
/// reads it (1.4-1.5 GB/s on one core, well ahead of the parse); without them SHA-256 is
/// several times slower (coreutils' `sha256sum`, which does not use them, reads 0.22 GB/s on
/// the benchmark machine) and would hold the reading up, so the file is hashed beside the run.
pub fn hashes_as_fast_as_it_reads() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("sha");
    #[cfg(target_arch = "aarch64")]
    return std::arch::is_aarch64_feature_detected!("sha2");
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    false
}

/// A reader of a whole file, from its first byte, that hashes what it reads and, when it has
/// read to the end, records the file's digest in a [`ReadDigests`]. Without one it only reads.
#[derive(Debug)]
pub struct DigestingReader<R> {
    inner: R,
    to: Option<(ReadDigests, PathBuf, Describing)>,
}

impl<R: Read> DigestingReader<R> {
    /// Reads `inner`, the file `path` opened at its start, recording its digest in `to`.
    pub fn new(inner: R, path: &Path, to: Option<&ReadDigests>) -> Self {
        DigestingReader {
            inner,
            to: to.map(|board| (board.clone(), path.to_path_buf(), Describing::new(false))),
        }
    }
}

impl<R: Read> Read for DigestingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Some((_, _, described)) = &mut self.to {
                described.feed(&buf[..n]);
            }
        } else if !buf.is_empty()
            && let Some((board, path, described)) = self.to.take()
        {
            // the end of the file: every byte has been fed
            board.record(path, described.finish().0);
        }
        Ok(n)
    }
}

/// A file's description worked out from its bytes in order, whether read back or on their
/// way to the file: its size, SHA-256 and, for a CSV file, its data records.
#[derive(Debug)]
struct Describing {
    hasher: Sha256,
    size: u64,
    counter: Option<RecordCounter>,
}

impl Describing {
    fn new(csv: bool) -> Self {
        Describing {
            hasher: Sha256::new(),
            size: 0,
            counter: csv.then(RecordCounter::default),
        }
    }

    fn feed(&mut self, block: &[u8]) {
        self.size += block.len() as u64;
        self.hasher.update(block);
        if let Some(c) = &mut self.counter {
            c.feed(block);
        }
    }

    fn finish(self) -> (Digest256, Option<u64>) {
        let digest = Digest256 {
            size: self.size,
            sha256: hex(&self.hasher.finalize()),
        };
        (digest, self.counter.map(|c| c.data_records()))
    }
}

/// An output file whose description (size, SHA-256 and, for a CSV file, data records) is
/// worked out from the bytes as they are written, so that publishing does not read the file
/// again (a million-customer `customers.csv` is 150 MB). [`DescribedFile::finish`] notes the
/// description with the file's size and modification time; [`OutputDir::commit`] takes it
/// only while the file still has both, and reads the file otherwise.
#[derive(Debug)]
pub struct DescribedFile {
    file: fs::File,
    path: PathBuf,
    described: Describing,
}

/// A file's description as it was written.
#[derive(Debug, Clone)]
struct Noted {
    modified: std::time::SystemTime,
    digest: Digest256,
    rows: Option<u64>,
}

/// More notes than a run writes files; past it the notes are dropped.
const NOTED_AT_MOST: usize = 10_000;

/// The descriptions noted by [`DescribedFile::finish`], by path, until publishing takes them.
static NOTED: std::sync::Mutex<Option<std::collections::HashMap<PathBuf, Noted>>> =
    std::sync::Mutex::new(None);

impl DescribedFile {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(DescribedFile {
            file: fs::File::create(path)?,
            path: path.to_path_buf(),
            described: Describing::new(is_csv(path)),
        })
    }

    /// Ends the file: notes its description for publishing.
    pub fn finish(mut self) -> io::Result<()> {
        io::Write::flush(&mut self.file)?;
        let meta = self.file.metadata()?;
        if meta.len() != self.described.size {
            return Ok(());
        }
        let (digest, rows) = self.described.finish();
        let noted = Noted {
            modified: meta.modified()?,
            digest,
            rows,
        };
        let mut all = NOTED.lock().unwrap_or_else(|e| e.into_inner());
        let all = all.get_or_insert_with(Default::default);
        // a long-lived process (the server) writes files nobody publishes: their notes are
        // only a saving, so past a bound they are dropped
        if all.len() >= NOTED_AT_MOST {
            all.clear();
        }
        all.insert(self.path, noted);
        Ok(())
    }
}

/// The most one write to a described file passes on at once: its description then reads
/// bytes the kernel's copy has just left in the core's cache (a block of `customers.csv` is
/// 2-3 MB, more than a core's L2 cache holds).
const WRITE_CHUNK: usize = 128 << 10;

impl io::Write for DescribedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(&buf[..buf.len().min(WRITE_CHUNK)])?;
        self.described.feed(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The description noted for `path` when the file still has the size and modification time
/// it had when written (taken: a second call reads the file).
fn take_noted(path: &Path) -> Option<(Digest256, Option<u64>)> {
    let noted = {
        let mut all = NOTED.lock().unwrap_or_else(|e| e.into_inner());
        all.as_mut()?.remove(path)?
    };
    let meta = fs::metadata(path).ok()?;
    (meta.len() == noted.digest.size && meta.modified().ok()? == noted.modified)
        .then_some((noted.digest, noted.rows))
}

/// Drops the notes of files under `dir`.
fn forget_noted_under(dir: &Path) {
    let mut all = NOTED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(all) = all.as_mut() {
        all.retain(|path, _| !path.starts_with(dir));
    }
}

/// Whether `path` names a CSV file (whose records the manifest counts).
fn is_csv(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "csv")
}

/// Counts the records of a CSV file as the `csv` crate reads them (a line break inside
/// quotes is data; `\n`, `\r` and `\r\n` end a record; empty lines are no record), from its
/// blocks in order: one scan for the three bytes that matter instead of parsing every field.
#[derive(Debug, Default)]
struct RecordCounter {
    /// Bytes seen so far.
    at: u64,
    /// Where the current line starts.
    line_start: u64,
    in_quotes: bool,
    records: u64,
}

impl RecordCounter {
    fn feed(&mut self, block: &[u8]) {
        for i in memchr::memchr3_iter(b'"', b'\n', b'\r', block) {
            let g = self.at + i as u64;
            if block[i] == b'"' {
                // an escaped quote ("") flips twice
                self.in_quotes = !self.in_quotes;
            } else if !self.in_quotes {
                if g > self.line_start {
                    self.records += 1;
                }
                self.line_start = g + 1;
            }
        }
        self.at += block.len() as u64;
    }

    /// The data records: every record but the header.
    fn data_records(&self) -> u64 {
        let last = u64::from(self.at > self.line_start);
        (self.records + last).saturating_sub(1)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// An input of a run, as the manifest records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ManifestInput {
    /// What the file is: `transactions`, `customers`, `interactions`, `overrides`, `scheme`,
    /// `config`, `summary`.
    pub role: String,
    /// The path as given.
    pub path: PathBuf,
    /// Size and SHA-256 (absent when the file could not be read again for hashing).
    #[serde(flatten)]
    pub digest: Option<Digest256>,
    /// What happened to its rows, for data files.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rows: Option<serde_json::Value>,
}

/// An output of a run, as the manifest records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ManifestOutput {
    /// The path inside the output folder, with `/` between folders.
    pub path: String,
    /// Size and SHA-256.
    #[serde(flatten)]
    pub digest: Digest256,
    /// Data records of a CSV file (the header excluded).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rows: Option<u64>,
}

/// Whether a run finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Every output was written and published.
    Complete,
    /// The run failed; only its diagnostics were kept.
    Failed,
}

/// `manifest.json`: what a run read and wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The manifest format version.
    pub manifest_version: u32,
    /// `stratum`.
    pub tool: String,
    /// The tool's version.
    pub version: String,
    /// The command line, one argument an element.
    pub command: Vec<String>,
    /// Complete or failed.
    pub status: RunStatus,
    /// Why a failed run failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    /// When it finished.
    pub finished: String,
    /// The inputs.
    pub inputs: Vec<ManifestInput>,
    /// The outputs, sorted by path.
    pub outputs: Vec<ManifestOutput>,
}

/// What the caller knows about the run when it ends.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// The tool's version.
    pub version: String,
    /// The command line.
    pub command: Vec<String>,
    /// Start time (RFC 3339, UTC).
    pub started: String,
    /// End time.
    pub finished: String,
    /// The inputs with their digests and row counts.
    pub inputs: Vec<ManifestInput>,
}

/// The output folder of a run, being written.
#[derive(Debug)]
pub struct OutputDir {
    /// The folder the user named.
    target: PathBuf,
    /// Where this run writes.
    staging: PathBuf,
    /// The inputs, canonical.
    inputs: Vec<PathBuf>,
    /// Whether the staging folder is inside the target (when beside it is another file system).
    nested: bool,
    /// Set once published or kept: the staging folder is then not removed on drop.
    done: bool,
}

impl OutputDir {
    /// Prepares the output folder `target` for a run that reads `inputs` and may write the
    /// files `names` (paths relative to the folder; a name ending in `/` is a folder of
    /// outputs). Nothing in `target` is changed: it checks that no output is an input, that
    /// every existing file of those names was written by an earlier run, removes staging
    /// folders of runs that were killed, and creates this run's staging folder.
    pub fn begin(target: &Path, inputs: &[&Path], names: &[&str]) -> Result<Self, PublishError> {
        let meta = fs::symlink_metadata(target);
        let target_exists = match &meta {
            Ok(m) if m.is_dir() => true,
            Ok(m) if m.file_type().is_symlink() => match fs::metadata(target) {
                Ok(m) if m.is_dir() => true,
                Ok(_) => {
                    return Err(PublishError::NotAFolder {
                        path: target.to_path_buf(),
                    });
                }
                Err(_) => false,
            },
            Ok(_) => {
                return Err(PublishError::NotAFolder {
                    path: target.to_path_buf(),
                });
            }
            Err(_) => false,
        };
        let inputs: Vec<PathBuf> = inputs
            .iter()
            .filter_map(|p| fs::canonicalize(p).ok())
            .collect();
        if target_exists {
            let previous = read_manifest(target);
            let listed = listed_paths(previous.as_ref());
            let real = fs::canonicalize(target).map_err(io_err("read", target))?;
            for input in &inputs {
                // an input inside the folder that a run wrote, or would write, is replaced
                if let Ok(rel) = input.strip_prefix(&real) {
                    let rel = slash_path(rel);
                    let named = names.iter().any(|n| {
                        rel == *n || (n.ends_with('/') && rel.starts_with(n.trim_end_matches('/')))
                    });
                    if named || rel == MANIFEST {
                        return Err(PublishError::OutputIsInput {
                            output: target.join(&rel),
                            input: input.clone(),
                        });
                    }
                    if listed.contains(&rel) {
                        return Err(PublishError::InputInOutputs {
                            input: input.clone(),
                            folder: target.to_path_buf(),
                        });
                    }
                }
            }
            for name in names.iter().chain(&[MANIFEST]) {
                let name = name.trim_end_matches('/');
                let path = target.join(name);
                match fs::symlink_metadata(&path) {
                    Err(_) => {}
                    Ok(m) if m.is_dir() && !m.file_type().is_symlink() => {}
                    Ok(m)
                        if m.file_type().is_symlink() && names.contains(&&*format!("{name}/")) =>
                    {
                        return Err(PublishError::Symlink { path });
                    }
                    Ok(_) => {
                        let ours =
                            listed.contains(name) || (name == MANIFEST && previous.is_some());
                        if !ours {
                            return Err(PublishError::NotOurs { path });
                        }
                    }
                }
            }
        }
        remove_stale_staging(target);
        let (staging, nested) = create_staging(target, target_exists)?;
        Ok(OutputDir {
            target: target.to_path_buf(),
            staging,
            inputs,
            nested,
            done: false,
        })
    }

    /// The folder this run writes its files into.
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// The folder the user named.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Where the diagnostics of this run are kept if it fails: `<folder>.failed`.
    pub fn failed_dir(&self) -> PathBuf {
        sibling(&self.target, ".failed")
    }

    /// Publishes every file of the staging folder into the output folder, with a manifest;
    /// returns it.
    pub fn commit(mut self, record: RunRecord) -> Result<Manifest, PublishError> {
        let outputs = describe_outputs(&self.staging)?;
        let manifest = Manifest {
            manifest_version: MANIFEST_VERSION,
            tool: "stratum".into(),
            version: record.version,
            command: record.command,
            status: RunStatus::Complete,
            error: None,
            started: record.started,
            finished: record.finished,
            inputs: record.inputs,
            outputs,
        };
        let exists = fs::symlink_metadata(&self.target).is_ok();
        if !exists && !self.nested {
            write_manifest(&self.staging.join(MANIFEST), &manifest)?;
            let marker = self.staging.join(STAGING_MARKER);
            fs::remove_file(&marker).map_err(io_err("remove", &marker))?;
            fs::rename(&self.staging, &self.target).map_err(io_err("publish", &self.target))?;
        } else {
            self.publish_into_existing(&manifest)?;
        }
        self.done = true;
        remove_ours_failed(&self.failed_dir());
        Ok(manifest)
    }

    fn publish_into_existing(&self, manifest: &Manifest) -> Result<(), PublishError> {
        let target = &self.target;
        let previous = read_manifest(target);
        let listed = listed_paths(previous.as_ref());
        let new: BTreeSet<&str> = manifest.outputs.iter().map(|o| o.path.as_str()).collect();
        // every check before the first change
        for rel in &new {
            let dest = target.join(rel);
            check_parents(target, rel)?;
            if let Ok(m) = fs::symlink_metadata(&dest) {
                if m.is_dir() && !m.file_type().is_symlink() {
                    return Err(PublishError::NotOurs { path: dest });
                }
                if !listed.contains(*rel) {
                    return Err(PublishError::NotOurs { path: dest });
                }
            }
            if let Ok(real) = fs::canonicalize(&dest)
                && let Some(input) = self.inputs.iter().find(|i| **i == real)
            {
                return Err(PublishError::OutputIsInput {
                    output: dest,
                    input: input.clone(),
                });
            }
        }
        let manifest_path = target.join(MANIFEST);
        if let Ok(m) = fs::symlink_metadata(&manifest_path)
            && previous.is_none()
            && m.is_file()
        {
            return Err(PublishError::NotOurs {
                path: manifest_path,
            });
        }
        // from here on the folder is not a finished run until the new manifest is in place
        if previous.is_some() {
            fs::remove_file(&manifest_path).map_err(io_err("remove", &manifest_path))?;
        }
        if let Some(previous) = &previous {
            for old in &previous.outputs {
                if new.contains(old.path.as_str()) {
                    continue;
                }
                remove_if_unchanged(target, old, &self.inputs);
            }
        }
        for rel in &new {
            let from = self.staging.join(rel);
            let dest = target.join(rel);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(io_err("create", parent))?;
            }
            fs::rename(&from, &dest).map_err(io_err("publish", &dest))?;
        }
        write_manifest(&self.staging.join(MANIFEST), manifest)?;
        fs::rename(self.staging.join(MANIFEST), &manifest_path)
            .map_err(io_err("publish", &manifest_path))?;
        fs::remove_dir_all(&self.staging).map_err(io_err("remove", &self.staging))?;
        Ok(())
    }

    /// Keeps the diagnostics of a failed run (whatever it wrote: rejects, quality report) in
    /// [`OutputDir::failed_dir`], with a manifest that says it failed and why; the output
    /// folder is left as it was. Returns the folder, or `None` when the run wrote nothing of
    /// use (no file, or only CSV files without a record, such as the header of a rejects file
    /// when the input failed before its first row).
    pub fn keep_failed(mut self, record: RunRecord, error: &str) -> Option<PathBuf> {
        let outputs = describe_outputs(&self.staging).ok()?;
        if outputs.iter().all(|o| o.rows == Some(0)) {
            return None;
        }
        let manifest = Manifest {
            manifest_version: MANIFEST_VERSION,
            tool: "stratum".into(),
            version: record.version,
            command: record.command,
            status: RunStatus::Failed,
            error: Some(error.to_string()),
            started: record.started,
            finished: record.finished,
            inputs: record.inputs,
            outputs,
        };
        write_manifest(&self.staging.join(MANIFEST), &manifest).ok()?;
        let failed = self.failed_dir();
        remove_ours_failed(&failed);
        let _ = fs::remove_file(self.staging.join(STAGING_MARKER));
        match fs::rename(&self.staging, &failed) {
            Ok(()) => {
                self.done = true;
                Some(failed)
            }
            Err(_) => {
                // a folder of the user's has that name: keep the staging folder itself
                self.done = true;
                Some(self.staging.clone())
            }
        }
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// `path` with `suffix` added to its last component (`out` → `out.failed`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!("{name}{suffix}"))
}

/// A relative path with `/` separators.
fn slash_path(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The folder's manifest when it is one of ours and names only paths inside the folder.
pub fn read_manifest(folder: &Path) -> Option<Manifest> {
    let text = fs::read_to_string(folder.join(MANIFEST)).ok()?;
    let manifest: Manifest = serde_json::from_str(&text).ok()?;
    let safe = manifest.outputs.iter().all(|o| is_plain_relative(&o.path));
    (manifest.tool == "stratum" && safe).then_some(manifest)
}

/// Whether `rel` names something inside a folder: relative, no `..`, not empty.
fn is_plain_relative(rel: &str) -> bool {
    let path = Path::new(rel);
    !rel.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

fn listed_paths(manifest: Option<&Manifest>) -> BTreeSet<String> {
    manifest
        .map(|m| m.outputs.iter().map(|o| o.path.clone()).collect())
        .unwrap_or_default()
}

/// Every folder between `target` and `rel`'s file must be a real folder (or not exist yet).
fn check_parents(target: &Path, rel: &str) -> Result<(), PublishError> {
    let mut at = target.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Err(_) => return Ok(()),
            Ok(m) if m.file_type().is_symlink() => return Err(PublishError::Symlink { path: at }),
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(PublishError::NotOurs { path: at }),
        }
    }
    Ok(())
}

/// Removes a previous run's output that this run does not write, when it is still a plain
/// file with the size and SHA-256 that run recorded and not an input; then its folder if that
/// is left empty.
fn remove_if_unchanged(target: &Path, old: &ManifestOutput, inputs: &[PathBuf]) {
    if check_parents(target, &old.path).is_err() {
        return;
    }
    let path = target.join(&old.path);
    let Ok(meta) = fs::symlink_metadata(&path) else {
        return;
    };
    if !meta.is_file() || meta.len() != old.digest.size {
        return;
    }
    if fs::canonicalize(&path).is_ok_and(|real| inputs.contains(&real)) {
        return;
    }
    if digest_file(&path).is_ok_and(|d| d == old.digest) && fs::remove_file(&path).is_ok() {
        // a folder of outputs (actions/) that is now empty goes too; `remove_dir` keeps one
        // that still holds anything
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == target || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
}

/// Every file under `staging` (but the marker), with its digest and, for CSV, its records.
fn describe_outputs(staging: &Path) -> Result<Vec<ManifestOutput>, PublishError> {
    let mut files = Vec::new();
    collect_files(staging, staging, &mut files)?;
    files.retain(|rel| rel != STAGING_MARKER && rel != MANIFEST);
    let mut outputs: Vec<ManifestOutput> = files
        .par_iter()
        .map(|rel| {
            let path = staging.join(rel);
            // as written, else one read of the file for its digest and, for a CSV file, its
            // records
            let (digest, rows) = match take_noted(&path) {
                Some(noted) => noted,
                None => describe_reading(&path, is_csv(&path)).map_err(io_err("read", &path))?,
            };
            Ok(ManifestOutput {
                path: rel.clone(),
                digest,
                rows,
            })
        })
        .collect::<Result<_, PublishError>>()?;
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(outputs)
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), PublishError> {
    for entry in fs::read_dir(dir).map_err(io_err("read", dir))? {
        let entry = entry.map_err(io_err("read", dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io_err("read", &path))?;
        if kind.is_dir() {
            collect_files(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(slash_path(rel));
        }
    }
    Ok(())
}

/// Data records of a CSV file (header excluded), as the `csv` crate reads them: the oracle of
/// [`RecordCounter`]'s tests.
#[cfg(test)]
fn csv_records(path: &Path) -> io::Result<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .map_err(io::Error::other)?;
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(io::Error::other)?
    {
        n += 1;
    }
    Ok(n)
}

fn write_manifest(path: &Path, manifest: &Manifest) -> Result<(), PublishError> {
    let mut text = serde_json::to_string_pretty(manifest).map_err(|e| PublishError::Io {
        action: "write",
        path: path.to_path_buf(),
        source: io::Error::other(e),
    })?;
    text.push('\n');
    fs::write(path, text).map_err(io_err("write", path))
}

/// The prefix of the staging folders of `target` beside it.
fn staging_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    format!(".{name}.stratum-")
}

/// Creates this run's staging folder: beside `target`, or inside it when beside it is another
/// file system (a mount point as output folder), so that files move by renaming.
fn create_staging(target: &Path, target_exists: bool) -> Result<(PathBuf, bool), PublishError> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_err("create", &parent))?;
    let beside = make_staging(&parent, &staging_prefix(target))?;
    if target_exists && !same_device(&beside, target) {
        let _ = fs::remove_dir_all(&beside);
        return Ok((make_staging(target, ".stratum-staging-")?, true));
    }
    Ok((beside, false))
}

fn make_staging(dir: &Path, prefix: &str) -> Result<PathBuf, PublishError> {
    let pid = std::process::id();
    for n in 0..1000u32 {
        let path = dir.join(format!("{prefix}{pid}-{n}"));
        match fs::create_dir(&path) {
            Ok(()) => {
                // a folder of this name used earlier by this process (dropped unpublished)
                // may have left notes: none of them is about the new folder's files
                forget_noted_under(&path);
                let marker = path.join(STAGING_MARKER);
                fs::write(&marker, pid.to_string()).map_err(io_err("write", &marker))?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("create", &path)(e)),
        }
    }
    Err(PublishError::Io {
        action: "create",
        path: dir.join(prefix),
        source: io::Error::other("no free name for a staging folder"),
    })
}

#[cfg(unix)]
fn same_device(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev(),
        _ => true,
    }
}

#[cfg(not(unix))]
fn same_device(_: &Path, _: &Path) -> bool {
    true
}

/// Removes the staging folders of `target` left by runs that were killed: those holding our
/// marker with the id of a process that no longer runs (checked through `/proc`; where there
/// is none, they are left).
fn remove_stale_staging(target: &Path) {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let prefix = staging_prefix(target);
    let candidates = [
        (parent, prefix),
        (target.to_path_buf(), ".stratum-staging-".into()),
    ];
    for (dir, prefix) in candidates {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(&prefix) {
                continue;
            }
            let path = entry.path();
            let Ok(pid) = fs::read_to_string(path.join(STAGING_MARKER)) else {
                continue;
            };
            if let Ok(pid) = pid.trim().parse::<u32>()
                && !process_alive(pid)
            {
                let _ = fs::remove_dir_all(&path);
            }
        }
    }
}

fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.is_dir() {
        return true;
    }
    pid == std::process::id() || proc.join(pid.to_string()).exists()
}

/// Removes a `<folder>.failed` kept by an earlier failed run (one holding our manifest).
fn remove_ours_failed(failed: &Path) {
    if read_manifest(failed).is_some_and(|m| m.status == RunStatus::Failed) {
        let _ = fs::remove_dir_all(failed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The record counter agrees with the csv crate's reader on files the csv writer
        /// wrote (quotes, line breaks and carriage returns in fields, empty fields, CRLF),
        /// whatever the blocks it is fed.
        #[test]
        fn records_are_counted_as_the_csv_reader_reads_them(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a\",\r\n 中]{0,6}", 1..4),
                0..12,
            ),
            crlf in proptest::bool::ANY,
            block in 1usize..40,
        ) {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("t.csv");
            let terminator = if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') };
            let mut w = csv::WriterBuilder::new()
                .flexible(true)
                .terminator(terminator)
                .from_path(&path)
                .expect("create");
            for row in &rows {
                w.write_record(row).expect("write");
            }
            w.flush().expect("flush");
            drop(w);
            let bytes = fs::read(&path).expect("read");
            let mut counter = RecordCounter::default();
            for part in bytes.chunks(block) {
                counter.feed(part);
            }
            proptest::prop_assert_eq!(counter.data_records(), csv_records(&path).expect("oracle"));
            proptest::prop_assert_eq!(counter.data_records(), rows.len().saturating_sub(1) as u64);
        }
    }

    fn record() -> RunRecord {
        RunRecord {
            version: "0.0.0".into(),
            command: vec!["stratum".into(), "test".into()],
            started: "2026-01-01T00:00:00Z".into(),
            finished: "2026-01-01T00:00:01Z".into(),
            inputs: Vec::new(),
        }
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        collect_files(dir, dir, &mut out).expect("list");
        out.sort();
        out
    }

    #[test]
    fn a_new_folder_appears_whole_with_its_manifest() {
        let root = tempfile::tempdir().expect("tempdir");
        let target = root.path().join("out");
        let dir = OutputDir::begin(&target, &[], &["a.csv"]).expect("begin");
        fs::write(dir.staging().join("a.csv"), "h\n1\n2\n").expect("write");
        assert!(!target.exists(), "nothing visible before the commit");
        let manifest = dir.commit(record()).expect("commit");
        assert_eq!(files(&target), ["a.csv", "manifest.json"]);
        assert_eq!(manifest.outputs[0].rows, Some(2));
        // printf 'h\n1\n2\n' | sha256sum
        assert_eq!(
            manifest.outputs[0].digest.sha256,
            "fba8306bd06c5502af0d496627bffaa39b182286d28975081257ccc175069d15"
        );
        // the staging folder is gone
        let left: Vec<String> = fs::read_dir(root.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["out"]);
    }

    #[test]
    fn a_file_described_as_it_was_written_is_not_read_again_unless_it_changed() {
        use std::io::Write as _;
        let root = tempfile::tempdir().expect("tempdir");
        let target = root.path().join("out");
        let dir = OutputDir::begin(&target, &[], &["a.csv", "b.csv", "c.json"]).expect("begin");
        let write = |name: &str, blocks: &[&[u8]]| {
            let mut f = DescribedFile::create(&dir.staging().join(name)).expect("create");
            for b in blocks {
                f.write_all(b).expect("write");
            }
            f.finish().expect("finish");
        };
        // a record split across writes, a quoted line break
        write("a.csv", &[b"h\n1", b"\n\"x\ny\"\n2\n"]);
        write("b.csv", &[b"h\n1\n"]);
        write("c.json", &[b"{}\n"]);
        // rewritten after it was described (another size): read again
        fs::write(dir.staging().join("b.csv"), "h\n1\n2\n3\n").expect("rewrite");
        let noted = take_noted(&dir.staging().join("a.csv"));
        assert_eq!(noted.as_ref().map(|n| n.1), Some(Some(3)));
        // taken once: the commit reads a.csv itself, and must agree
        let manifest = dir.commit(record()).expect("commit");
        let by_name = |n: &str| manifest.outputs.iter().find(|o| o.path == n).cloned();
        let a = by_name("a.csv").expect("a.csv");
        assert_eq!(Some((a.digest.clone(), a.rows)), noted);
        assert_eq!(by_name("b.csv").map(|o| o.rows), Some(Some(3)));
        assert_eq!(
            by_name("b.csv").map(|o| o.digest),
            Some(digest_file(&target.join("b.csv")).expect("digest"))
        );
        assert_eq!(by_name("c.json").map(|o| o.rows), Some(None));
        assert_eq!(
            by_name("c.json").map(|o| o.digest.sha256),
            // printf '{}\n' | sha256sum
            Some("ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356".into())
        );
    }

    #[test]
    fn sha256_is_the_standard_one() {
        let root = tempfile::tempdir().expect("tempdir");
        let path = root.path().join("abc");
        fs::write(&path, "abc").expect("write");
        let d = digest_file(&path).expect("digest");
        // FIPS 180-2, appendix B.1
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.size, 3);
    }

    #[test]
    fn user_files_stay_and_stale_outputs_go() {
        let root = tempfile::tempdir().expect("tempdir");
        let target = root.path().join("out");
        let dir = OutputDir::begin(&target, &[], &["a.csv", "actions/"]).expect("begin");
        fs::write(dir.staging().join("a.csv"), "h\n1\n").expect("write");
        fs::create_dir(dir.staging().join("actions")).expect("mkdir");
        fs::write(dir.staging().join("actions/x.csv"), "h\n1\n").expect("write");
        dir.commit(record()).expect("commit");
        fs::write(target.join("notes.txt"), "mine").expect("write");
        fs::write(target.join("actions/mine.txt"), "mine").expect("write");
        // a second run of another kind: writes b.csv only
        let dir = OutputDir::begin(&target, &[], &["b.csv"]).expect("begin");
        fs::write(dir.staging().join("b.csv"), "h\n").expect("write");
        dir.commit(record()).expect("commit");
        assert_eq!(
            files(&target),
            ["actions/mine.txt", "b.csv", "manifest.json", "notes.txt"]
        );
    }

    #[test]
    fn a_file_of_the_users_in_the_way_stops_the_run_before_anything_changes() {
        let root = tempfile::tempdir().expect("tempdir");
        let target = root.path().join("out");
        fs::create_dir(&target).expect("mkdir");
        fs::write(target.join("a.csv"), "mine").expect("write");
        let err = OutputDir::begin(&target, &[], &["a.csv"]).expect_err("not ours");
        assert!(matches!(err, PublishError::NotOurs { .. }), "{err}");
        assert_eq!(
            fs::read_to_string(target.join("a.csv")).expect("read"),
            "mine"
        );
    }

    #[test]
    fn an_input_among_the_outputs_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let target = root.path().join("d");
        fs::create_dir(&target).expect("mkdir");
        let input = target.join("customers.csv");
        fs::write(&input, "id\n1\n").expect("write");
        let err = OutputDir::begin(&target, &[&input], &["customers.csv"]).expect_err("input");
        assert!(matches!(err, PublishError::OutputIsInput { .. }), "{err}");
        assert_eq!(fs::read_to_string(&input).expect("read"), "id\n1\n");
    }

    #[test]
    fn a_failed_run_keeps_its_diagnostics_beside_and_the_previous_run_whole() {
        let root = tempfile::tempdir().expect("tempdir");
        let target = root.path().join("out");
        let dir = OutputDir::begin(&target, &[], &["a.csv"]).expect("begin");
        fs::write(dir.staging().join("a.csv"), "h\n1\n").expect("write");
        dir.commit(record()).expect("commit");
        let before = fs::read(target.join(MANIFEST)).expect("read");
        let dir = OutputDir::begin(&target, &[], &["a.csv", "rejects.csv"]).expect("begin");
        fs::write(dir.staging().join("rejects.csv"), "h\nx\n").expect("write");
        let kept = dir.keep_failed(record(), "too many rejects").expect("kept");
        assert_eq!(kept, root.path().join("out.failed"));
        assert_eq!(files(&target), ["a.csv", "manifest.json"]);
        assert_eq!(fs::read(target.join(MANIFEST)).expect("read"), before);
        let failed = read_manifest(&kept).expect("manifest");
        assert_eq!(failed.status, RunStatus::Failed);
        // the next complete run removes the failed folder
        let dir = OutputDir::begin(&target, &[], &["a.csv"]).expect("begin");
        fs::write(dir.staging().join("a.csv"), "h\n2\n").expect("write");
        dir.commit(record()).expect("commit");
        assert!(!kept.exists());
    }

    #[test]
    fn a_dropped_run_leaves_no_staging_folder() {
        let root = tempfile::tempdir().expect("tempdir");
        let target = root.path().join("out");
        let dir = OutputDir::begin(&target, &[], &["a.csv"]).expect("begin");
        fs::write(dir.staging().join("a.csv"), "h\n").expect("write");
        drop(dir);
        assert_eq!(fs::read_dir(root.path()).expect("list").count(), 0);
    }

    #[test]
    fn staging_folders_of_dead_runs_are_removed() {
        let root = tempfile::tempdir().expect("tempdir");
        let target = root.path().join("out");
        // pid 0 is never a running process's id in /proc
        let stale = root.path().join(".out.stratum-999999999-0");
        fs::create_dir(&stale).expect("mkdir");
        fs::write(stale.join(STAGING_MARKER), "999999999").expect("write");
        let dir = OutputDir::begin(&target, &[], &["a.csv"]).expect("begin");
        assert!(!stale.exists());
        drop(dir);
    }

    #[test]
    fn manifests_naming_paths_outside_the_folder_are_not_trusted() {
        assert!(is_plain_relative("actions/a.csv"));
        assert!(!is_plain_relative("../a.csv"));
        assert!(!is_plain_relative("/etc/passwd"));
        assert!(!is_plain_relative(""));
    }

    #[test]
    fn a_file_read_to_its_end_has_its_digest_recorded() {
        // FIPS 180-2's example: SHA-256("abc")
        let board = ReadDigests::default();
        let path = Path::new("abc.csv");
        let mut r = DigestingReader::new(&b"abc"[..], path, Some(&board));
        let mut first = [0u8; 2];
        r.read_exact(&mut first).expect("read");
        // an empty read is not the end
        assert_eq!(r.read(&mut []).expect("read"), 0);
        assert_eq!(board.get(path), None);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).expect("read");
        assert_eq!(rest, b"c");
        assert_eq!(
            board.get(path),
            Some(Digest256 {
                size: 3,
                sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into(),
            })
        );
        // a file not read to its end is not recorded
        let mut half = DigestingReader::new(&b"abcdef"[..], Path::new("b.csv"), Some(&board));
        half.read_exact(&mut first).expect("read");
        drop(half);
        assert_eq!(board.get(Path::new("b.csv")), None);
        // without a list it only reads
        let mut plain = DigestingReader::new(&b"xyz"[..], path, None);
        let mut all = Vec::new();
        plain.read_to_end(&mut all).expect("read");
        assert_eq!(all, b"xyz");
    }
}
