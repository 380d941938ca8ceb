//! The output folder of every command that writes one: files go to a staging folder, and are
//! published whole, with `manifest.json`, only when the run succeeds; a failed run keeps its
//! diagnostics beside the folder and leaves the previous outputs as they were (see
//! [`stratum_io::publish`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use anyhow::Result;
use stratum_io::publish::{
    Digest256, ManifestInput, OutputDir, ReadDigests, RunRecord, digest_file,
    hashes_as_fast_as_it_reads,
};
use stratum_io::source::{Format, detect_format};

/// A run's output folder, being written.
#[derive(Debug)]
pub(crate) struct Outputs {
    dir: OutputDir,
    started: String,
    inputs: Vec<(&'static str, PathBuf)>,
    /// The inputs' digests, worked out beside the run (they are read once more, from the
    /// page cache, on another core), except the `by_engine` ones.
    digests: Option<JoinHandle<Vec<Option<Digest256>>>>,
    /// The inputs the engine hashes as it reads them (the transactions' CSV files, read whole
    /// anyway, on a processor with SHA-256 instructions): their digests come from `read`.
    /// Emptied once their digests are in `digested`.
    by_engine: Vec<bool>,
    /// The digests of the files the engine read to their end.
    read: ReadDigests,
    /// The digests, once worked out.
    digested: Vec<Option<Digest256>>,
    rows: BTreeMap<&'static str, serde_json::Value>,
}

impl Outputs {
    /// Prepares `out` for a run that reads `inputs` (role and path; absent ones skipped) and
    /// may write `names` (a name ending in `/` is a folder of outputs). Fails before anything
    /// is changed when an output would replace an input or a file the user put there.
    pub(crate) fn begin(
        out: &Path,
        inputs: &[(&'static str, Option<&Path>)],
        names: &[&str],
    ) -> Result<Self> {
        let started = now();
        let inputs: Vec<(&'static str, PathBuf)> = inputs
            .iter()
            .filter_map(|(role, path)| path.map(|p| (*role, p.to_path_buf())))
            .collect();
        let paths: Vec<&Path> = inputs.iter().map(|(_, p)| p.as_path()).collect();
        let dir = OutputDir::begin(out, &paths, names)?;
        let fast = hashes_as_fast_as_it_reads();
        let by_engine: Vec<bool> = inputs
            .iter()
            .map(|(role, p)| {
                fast && *role == "transactions" && matches!(detect_format(p), Ok(Format::Csv))
            })
            .collect();
        let to_hash: Vec<Option<PathBuf>> = inputs
            .iter()
            .zip(&by_engine)
            .map(|((_, p), &engine)| (!engine).then(|| p.clone()))
            .collect();
        let digests = std::thread::Builder::new()
            .name("input digests".into())
            .spawn(move || {
                to_hash
                    .iter()
                    .map(|p| p.as_deref().and_then(|p| digest_file(p).ok()))
                    .collect::<Vec<_>>()
            })
            .ok();
        Ok(Outputs {
            dir,
            started,
            inputs,
            digests,
            by_engine,
            read: ReadDigests::default(),
            digested: Vec::new(),
            rows: BTreeMap::new(),
        })
    }

    /// Where the engine records the digests of the transactions' CSV files as it reads them
    /// (see [`TransactionOptions::digests`](stratum_io::ingest::TransactionOptions)).
    /// `None` when the engine hashes none of the inputs.
    pub(crate) fn read_digests(&self) -> Option<ReadDigests> {
        self.by_engine.contains(&true).then(|| self.read.clone())
    }

    /// The folder the run writes its files into (published at the end).
    pub(crate) fn dir(&self) -> &Path {
        self.dir.staging()
    }

    /// Where `name` will be if the run fails: the diagnostics folder, for error messages that
    /// send the user to the rejects.
    pub(crate) fn failed_path(&self, name: &str) -> PathBuf {
        self.dir.failed_dir().join(name)
    }

    /// Records what happened to the rows of the input `role`, for the manifest.
    pub(crate) fn rows(&mut self, role: &'static str, counts: &impl serde::Serialize) {
        if let Ok(value) = serde_json::to_value(counts) {
            self.rows.insert(role, value);
        }
    }

    /// Publishes the outputs when `result` is a success; otherwise keeps the diagnostics of
    /// the failed run in `<out>.failed` and says so. Returns `result`.
    pub(crate) fn finish<T>(mut self, result: Result<T>) -> Result<T> {
        let record = self.record();
        match result {
            Ok(value) => {
                self.dir.commit(record)?;
                Ok(value)
            }
            Err(err) => {
                let target = self.dir.target().to_path_buf();
                let staging = self.dir.staging().to_path_buf();
                let existed = target.exists();
                let kept = self.dir.keep_failed(record, &format!("{err:#}"));
                Err(err.context(FailedRun {
                    staging,
                    target,
                    existed,
                    kept,
                }))
            }
        }
    }

    /// The inputs as the manifest lists them: path, size, SHA-256 and what became of their
    /// rows (so far).
    pub(crate) fn inputs(&mut self) -> Vec<ManifestInput> {
        if let Some(handle) = self.digests.take() {
            self.digested = handle.join().unwrap_or_default();
        }
        self.digested.resize(self.inputs.len(), None);
        // a file the engine did not read to its end (a run that failed on the way) is read
        // again now, after the run rather than beside it
        for (i, by_engine) in std::mem::take(&mut self.by_engine).into_iter().enumerate() {
            if let (true, Some((_, path))) = (by_engine, self.inputs.get(i)) {
                self.digested[i] = self.read.get(path).or_else(|| digest_file(path).ok());
            }
        }
        self.inputs
            .iter()
            .enumerate()
            .map(|(i, (role, path))| ManifestInput {
                role: role.to_string(),
                path: path.clone(),
                digest: self.digested.get(i).cloned().flatten(),
                rows: self.rows.get(role).cloned(),
            })
            .collect()
    }

    fn record(&mut self) -> RunRecord {
        let inputs = self.inputs();
        RunRecord {
            version: env!("CARGO_PKG_VERSION").to_string(),
            command: shown_command(),
            started: self.started.clone(),
            finished: now(),
            inputs,
        }
    }
}

/// The command line as the manifest and the history keep it: every URL without its password
/// (`--source postgres://user:secret@host/db` is kept as `postgres://user@host/db`).
pub(crate) fn shown_command() -> Vec<String> {
    std::env::args_os()
        .map(|a| {
            let a = a.to_string_lossy();
            if a.contains("://") {
                stratum_pushdown::source::redact(&a)
            } else {
                a.into_owned()
            }
        })
        .collect()
}

/// What became of a failed run's output folder: the context of its error, so that the error
/// names the files by where they would have been (not the staging folder) and a note after it
/// says where the diagnostics are.
#[derive(Debug)]
pub(crate) struct FailedRun {
    staging: PathBuf,
    target: PathBuf,
    /// Whether the output folder existed (and so holds an earlier run).
    existed: bool,
    kept: Option<PathBuf>,
}

impl FailedRun {
    /// `text` with the staging folder named as the output folder.
    pub(crate) fn unstaged(&self, text: &str) -> String {
        text.replace(
            &self.staging.display().to_string(),
            &self.target.display().to_string(),
        )
    }

    /// The note printed after the error, if there is something to say.
    pub(crate) fn note(&self) -> Option<String> {
        let kept = self.kept.as_ref()?;
        Some(if self.existed {
            format!(
                "this run's diagnostics are in `{}`; `{}` is as the last complete run left it",
                kept.display(),
                self.target.display()
            )
        } else {
            format!(
                "this run's diagnostics are in `{}`; `{}` was not created",
                kept.display(),
                self.target.display()
            )
        })
    }
}

impl std::fmt::Display for FailedRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the run writing to `{}` failed", self.target.display())
    }
}

/// The time now, RFC 3339 in UTC to the second.
pub(crate) fn now() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Prints a finished command's tables on stdout and where its files went on stderr.
pub(crate) fn print_done(
    tables: &str,
    lang: stratum_core::Lang,
    out: &Path,
    files: &[impl AsRef<str>],
) {
    print!("{tables}");
    let files: Vec<&str> = files.iter().map(AsRef::as_ref).collect();
    eprintln!(
        "{} {}: {}",
        lang.pick("结果已写入", "wrote"),
        out.display(),
        files.join(", ")
    );
}
