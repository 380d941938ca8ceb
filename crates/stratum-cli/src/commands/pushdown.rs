//! `stratum pushdown`: what a database source runs, shown before it runs.

use anyhow::Result;

use crate::cli::PushdownArgs;
use crate::settings::pushdown_settings;

/// Prints the plan for `--source URL --table NAME` and, with `--print-sql`, both statements.
pub fn run(args: PushdownArgs) -> Result<()> {
    let print_sql = args.print_sql;
    let (table, options, as_of) = pushdown_settings(args)?;
    let plan = stratum_pushdown::plan(&table, &options, as_of)?;
    if print_sql {
        print!("{}", plan.script(&table, as_of));
    } else {
        println!("source: {} ({})", table.shown(), plan.engine.name());
        println!("plan: {}", plan.plan.en);
        if !plan.shards.is_empty() {
            println!("shards: {}", plan.shards.join(", "));
        }
        println!("columns: {}", plan.columns);
        println!("(--print-sql shows the statements)");
    }
    Ok(())
}
