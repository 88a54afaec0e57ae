//! A plain table, rendered as aligned text for the terminal or as Markdown for the docs.

pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    /// How many leading columns are left-aligned (the rest are right-aligned).
    left_columns: usize,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            left_columns: 1,
        }
    }

    /// Left-aligns the first `n` columns instead of only the first.
    pub fn left_aligned(mut self, n: usize) -> Self {
        self.left_columns = n;
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn widths(&self) -> Vec<usize> {
        (0..self.headers.len())
            .map(|i| {
                std::iter::once(&self.headers)
                    .chain(&self.rows)
                    .filter_map(|row| row.get(i))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Columns padded to their widest cell.
    pub fn to_text(&self) -> String {
        let widths = self.widths();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, width))| {
                    if i < self.left_columns {
                        format!("{cell:<width$}")
                    } else {
                        format!("{cell:>width$}")
                    }
                })
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        let rule = "-".repeat(widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1));
        let mut out = vec![line(&self.headers), rule];
        out.extend(self.rows.iter().map(|row| line(row)));
        out.join("\n") + "\n"
    }

    pub fn to_markdown(&self) -> String {
        let line = |cells: &[String]| format!("| {} |", cells.join(" | "));
        let align: Vec<String> = (0..self.headers.len())
            .map(|i| if i < self.left_columns { ":---" } else { "---:" }.to_owned())
            .collect();
        let mut out = vec![line(&self.headers), line(&align)];
        out.extend(self.rows.iter().map(|row| line(row)));
        out.join("\n") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_aligned_text_and_markdown() {
        let mut table = Table::new(&["metric", "value"]);
        table.row(vec!["init".into(), "1.00 ms".into()]);
        assert_eq!(table.to_text(), "metric    value\n---------------\ninit    1.00 ms\n");
        assert_eq!(
            table.to_markdown(),
            "| metric | value |\n| :--- | ---: |\n| init | 1.00 ms |\n"
        );
    }
}
