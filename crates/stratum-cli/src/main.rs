//! The `stratum` binary: argument parsing, settings, one module per subcommand.

mod cli;
mod commands;
mod memory;
mod progress;
mod settings;
mod terminal;

use std::process::ExitCode;

use clap::Parser;

/// An error in what the user gave us (a file, a flag, a config value): exit code 1.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// 1 for bad input or usage, 2 for anything unexpected (a full disk, an I/O error, a bug).
fn exit_code(err: &anyhow::Error) -> u8 {
    use stratum_io::source::SourceError;
    use stratum_io::transactions::LoadError;
    let input = err.chain().any(|e| {
        e.is::<BadInput>()
            || e.downcast_ref::<LoadError>().is_some_and(|l| match l {
                LoadError::Source(s) => source_is_input(s),
                LoadError::Mapping(_) | LoadError::Expression(_) => true,
                LoadError::Rejects(_) => false,
            })
            || e.downcast_ref::<SourceError>().is_some_and(source_is_input)
            || e.is::<stratum_io::mapping::MappingError>()
            || e.downcast_ref::<stratum_pushdown::PushdownError>()
                .is_some_and(|p| p.is_input())
            || e.downcast_ref::<stratum_io::publish::PublishError>()
                .is_some_and(|p| p.is_usage())
    });
    if input { 1 } else { 2 }
}

/// Whether a failure to read an input is the input's fault (a missing file, one that cannot be
/// opened, one that is not what it claims to be) rather than the machine's (an I/O error
/// while reading: exit 2 with the OS error).
fn source_is_input(e: &stratum_io::source::SourceError) -> bool {
    use std::io::ErrorKind;
    match e {
        stratum_io::source::SourceError::Io { source, .. } => matches!(
            source.kind(),
            ErrorKind::NotFound
                | ErrorKind::PermissionDenied
                | ErrorKind::IsADirectory
                | ErrorKind::InvalidData
                | ErrorKind::InvalidInput
                | ErrorKind::UnexpectedEof
        ),
        _ => true,
    }
}

fn main() -> ExitCode {
    // A panic is a bug: say so once, in words, and exit 2 (not Rust's 101). Panics of the
    // workbook reader and writers become errors of their file (a malformed workbook, a full
    // disk): those stay quiet here.
    std::panic::set_hook(Box::new(|info| {
        if stratum_io::guard::guarded() {
            return;
        }
        let what = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: internal failure (a bug in Stratum; please report it with the command you ran): {what}{place}"
        );
    }));
    // usage errors exit 1 as the README says (clap's own convention is 2); --help and
    // --version print and exit 0
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // A command that runs once and exits keeps what it frees for its later phases. The server
    // (whose `--demo` runs `demo` and `backfill` inside it) and the commands that only talk to
    // a store keep glibc's defaults. Here, before any other thread exists.
    if matches!(
        cli.command,
        cli::Command::Demo(_)
            | cli::Command::Segment(_)
            | cli::Command::Report(_)
            | cli::Command::Check(_)
            | cli::Command::Clv(_)
            | cli::Command::Cluster(_)
            | cli::Command::Validate(_)
            | cli::Command::Backfill(_)
    ) {
        memory::keep_freed();
    }
    let outcome = std::panic::catch_unwind(|| run(cli));
    let result = match outcome {
        Ok(result) => result,
        Err(_) => return ExitCode::from(2),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            use commands::outputs::FailedRun;
            // Library errors often show their cause in their own message; print a cause only
            // when it adds something. A failed run's folder is the outermost context: files are
            // named where they would have been, and where the diagnostics are comes last.
            let run = err.downcast_ref::<FailedRun>();
            let text = |e: &dyn std::error::Error| match run {
                Some(run) => run.unstaged(&e.to_string()),
                None => e.to_string(),
            };
            let mut causes = err.chain().skip(usize::from(run.is_some()));
            let mut shown = causes.next().map(text).unwrap_or_default();
            eprintln!("error: {shown}");
            for cause in causes {
                let cause = text(cause);
                if !shown.contains(&cause) {
                    eprintln!("  caused by: {cause}");
                    shown.push_str(&cause);
                }
            }
            if let Some(note) = run.and_then(FailedRun::note) {
                eprintln!("note: {note}");
            }
            ExitCode::from(exit_code(&err))
        }
    }
}

pub(crate) fn run(cli: cli::Cli) -> anyhow::Result<()> {
    match cli.command {
        cli::Command::Demo(args) => commands::demo::run(args),
        cli::Command::Segment(args) => commands::segment::run(*args),
        cli::Command::Report(mut args) => {
            args.report = true;
            args.clv = true;
            args.out.get_or_insert_with(|| "stratum-report".into());
            commands::segment::run(*args)
        }
        cli::Command::Check(args) => commands::check::run(args),
        cli::Command::Clv(args) => commands::clv::run(*args),
        cli::Command::Cluster(args) => commands::cluster::run(*args),
        cli::Command::Validate(args) => commands::validate::run(*args),
        cli::Command::Runs(args) => commands::history::runs(args),
        cli::Command::History(args) => commands::history::history(args),
        cli::Command::Migrations(args) => commands::history::migrations(args),
        cli::Command::Diff(args) => commands::history::diff(args),
        cli::Command::Export(args) => commands::history::export(args),
        cli::Command::Backfill(args) => commands::backfill::run(*args),
        cli::Command::Scheme(args) => commands::versions::run(args),
        cli::Command::Preview(args) => commands::preview::run(args),
        cli::Command::Alerts(args) => commands::alerts::run(args),
        cli::Command::Pushdown(args) => commands::pushdown::run(args),
        cli::Command::Serve(args) => commands::serve::run(args),
        cli::Command::Users(args) => commands::serve::users(args),
        cli::Command::Review(args) => commands::review::run(args),
        cli::Command::Followups(args) => commands::review::followups(args),
        cli::Command::Pool(args) => commands::pool::run(args),
        cli::Command::Scorecards(args) => commands::review::scorecards(args),
    }
}
