//! The `stratum` binary: argument parsing, settings, one module per subcommand.

mod cli;
mod commands;
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

/// 1 for bad input or usage, 2 for anything unexpected.
fn exit_code(err: &anyhow::Error) -> u8 {
    use stratum_io::transactions::LoadError;
    let input = err.chain().any(|e| {
        e.is::<BadInput>()
            || e.downcast_ref::<LoadError>()
                .is_some_and(|l| !matches!(l, LoadError::Rejects(_)))
            || e.is::<stratum_io::source::SourceError>()
            || e.is::<stratum_io::mapping::MappingError>()
    });
    if input { 1 } else { 2 }
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Demo(args) => commands::demo::run(args),
        cli::Command::Segment(args) => commands::segment::run(*args),
        cli::Command::Report(mut args) => {
            args.report = true;
            args.clv = true;
            commands::segment::run(*args)
        }
        cli::Command::Check(args) => commands::check::run(args),
        cli::Command::Clv(args) => commands::clv::run(*args),
        cli::Command::Cluster(args) => commands::cluster::run(*args),
        cli::Command::Validate(args) => commands::validate::run(*args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Library errors often show their cause in their own message; print a cause only
            // when it adds something.
            let mut shown = err.to_string();
            eprintln!("error: {shown}");
            for cause in err.chain().skip(1) {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                    shown.push_str(&text);
                }
            }
            ExitCode::from(exit_code(&err))
        }
    }
}
