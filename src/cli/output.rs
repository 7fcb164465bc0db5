//! What the tools print: aligned tables for people, JSON for scripts, progress on stderr.

use std::io::{IsTerminal, Write};

use comfy_table::{presets, CellAlignment, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::error::CliError;

/// `--output`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// JSON on stdout for scripts (`consume`: one object per line).
    Json,
}

/// Aligned columns without borders, a header row first; numeric columns align right.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_header(headers.iter().copied());
    for row in rows {
        table.add_row(row.iter().map(String::as_str));
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, 2));
        let numeric = !rows.is_empty()
            && rows.iter().all(|r| {
                r.get(i)
                    .is_some_and(|c| c == "-" || c.parse::<i64>().is_ok())
            });
        if numeric {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut text = String::new();
    for line in table.lines() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Writes `text` to stdout.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Stdio {
            what: "cannot write to stdout",
            source,
        })
}

/// Writes `value` as pretty JSON to stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| CliError::Stdio {
        what: "cannot serialize JSON",
        source: e.into(),
    })?;
    text.push('\n');
    print(&text)
}

/// A value or `-` for "none" (Kafka's -1).
pub fn or_dash(value: i64) -> String {
    if value < 0 {
        "-".to_string()
    } else {
        value.to_string()
    }
}

/// A progress bar (known total) or spinner on stderr, drawn only when stderr is a terminal and
/// `show` holds (the data itself is not going to the same terminal).
pub fn progress(total: Option<u64>, what: &str, show: bool) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if total.is_some() {
        format!("{{bar:40}} {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)")
    } else {
        format!("{{spinner}} {{pos}} {what} ({{per_sec}})")
    };
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_without_borders() {
        let text = table(
            &["TOPIC", "PARTITIONS"],
            &[
                vec!["a".into(), "3".into()],
                vec!["longer".into(), "12".into()],
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "TOPIC   PARTITIONS");
        assert_eq!(lines[1], "a                3");
        assert_eq!(lines[2], "longer          12");
    }
}
