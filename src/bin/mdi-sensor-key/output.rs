//! What a command prints on stdout: a table for people, or JSON (`--json`) for scripts, the same
//! JSON the HTTP routes answer with.

use serde_json::Value;

/// A command's result, in both forms.
pub struct Report {
    pub json: Value,
    pub table: String,
    /// The exit code with the output: 0, but for `verdict --wait` the last verdict's.
    pub code: u8,
}

impl Report {
    pub fn render(&self, json: bool) -> String {
        if json {
            serde_json::to_string_pretty(&self.json).unwrap_or_else(|_| self.json.to_string())
        } else {
            self.table.clone()
        }
    }
}

/// Label-value lines with the values aligned.
pub fn pairs(rows: &[(&str, &str)]) -> String {
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(label, value)| format!("{label:<width$}  {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A table with a header row; every column as wide as its widest cell.
pub fn columns(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|header| header.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    std::iter::once(line(headers.to_vec()))
        .chain(rows.iter().map(|row| line(row.iter().map(String::as_str).collect())))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A missing value in a table.
pub fn or_dash(value: Option<&str>) -> &str {
    value.filter(|value| !value.is_empty()).unwrap_or("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_align_their_values() {
        assert_eq!(pairs(&[("a", "1"), ("long", "2")]), "a     1\nlong  2");
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let table = columns(
            &["NAME", "V"],
            &[
                vec!["dc1".into(), "healthy".into()],
                vec!["domain-controller-2".into(), "-".into()],
            ],
        );
        assert_eq!(
            table,
            "NAME                 V\ndc1                  healthy\ndomain-controller-2  -"
        );
    }

    #[test]
    fn json_output_is_the_json_and_table_output_the_table() {
        let report = Report {
            json: serde_json::json!({"a": 1}),
            table: "A  1".into(),
            code: 0,
        };
        assert_eq!(serde_json::from_str::<Value>(&report.render(true)).unwrap()["a"], 1);
        assert_eq!(report.render(false), "A  1");
    }
}
