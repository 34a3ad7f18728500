//! Pages of a typeset document: paragraphs that wrap, tables whose cells wrap and whose header
//! repeats on every page they run onto, blocks kept together, and a footer on every page that
//! may name the page count ("Halaman 2 dari 5"). Laid out first, written last, so the count is
//! known when the footers are drawn. Hand-written over `pdf-writer` and [`super::typeset`]
//! rather than a layout crate: the report needs only these four things, and the crates that do
//! more (typst, genpdf with its own font stack) cost minutes of build on two cores.

use pdf_writer::{Content, Finish, Pdf, Rect, Ref, Str};
use salur_core::Error;

use super::typeset::{FontRefs, Fonts, Style};

/// Line height as a share of the font size.
const LEADING: f32 = 1.3;
/// Space inside a table cell, points.
const PAD: f32 = 2.5;
/// Room kept at the bottom of every page for its footer, points.
const FOOTER: f32 = 18.0;

/// What is drawn on a page.
enum Mark {
    /// Text whose baseline starts at (x, y).
    Text { x: f32, y: f32, style: Style, size: f32, text: String },
    /// A rectangle's outline (`fill`: a light grey background instead).
    Box { rect: Rect, fill: bool },
}

/// A table column: its header, width in points and alignment.
pub struct Column<'a> {
    /// The header (wraps inside the column).
    pub title: &'a str,
    /// Width in points.
    pub width: f32,
    /// Numbers align right.
    pub right: bool,
}

/// One table row: its cells (one per column) and whether it is a total line (bold, shaded).
pub struct Row {
    /// The cells' text.
    pub cells: Vec<String>,
    /// A total line.
    pub total: bool,
}

/// A document being laid out.
pub struct Layout {
    fonts: Fonts,
    page: Rect,
    margin: f32,
    pages: Vec<Vec<Mark>>,
    /// The next line's top, from the page's bottom.
    y: f32,
}

impl Layout {
    /// An empty document of `page`-sized pages with `margin` on every side; the first page begun.
    pub fn new(fonts: Fonts, page: Rect, margin: f32) -> Self {
        Self { fonts, page, margin, pages: vec![Vec::new()], y: page.y2 - margin }
    }

    /// The text width between the margins.
    pub fn width(&self) -> f32 {
        self.page.x2 - self.page.x1 - 2.0 * self.margin
    }

    fn left(&self) -> f32 {
        self.page.x1 + self.margin
    }

    fn bottom(&self) -> f32 {
        self.page.y1 + self.margin + FOOTER
    }

    /// Starts a new page.
    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.page.y2 - self.margin;
    }

    /// Starts a new page unless `height` points still fit on this one.
    pub fn keep(&mut self, height: f32) {
        if self.y - height < self.bottom() {
            self.new_page();
        }
    }

    /// Vertical space.
    pub fn gap(&mut self, height: f32) {
        self.y -= height;
    }

    fn mark(&mut self, mark: Mark) {
        if let Some(page) = self.pages.last_mut() {
            page.push(mark);
        }
    }

    /// A paragraph across the text width.
    pub fn paragraph(&mut self, style: Style, size: f32, text: &str) {
        self.paragraph_at(0.0, self.width(), style, size, text);
    }

    /// A paragraph in a column `width` wide, `indent` points from the left margin.
    pub fn paragraph_at(&mut self, indent: f32, width: f32, style: Style, size: f32, text: &str) {
        for line in self.fonts.wrap(style, text, size, width) {
            self.keep(size * LEADING);
            self.y -= size * LEADING;
            let (x, y) = (self.left() + indent, self.y + size * 0.3);
            self.mark(Mark::Text { x, y, style, size, text: line });
        }
    }

    /// Paragraphs set side by side in columns of equal width starting at the current line
    /// (e.g. a signature block); the line after the tallest becomes the current one.
    pub fn columns(&mut self, columns: &[Vec<(Style, f32, String)>]) {
        let gutter = 24.0;
        let n = columns.len().max(1) as f32;
        let width = (self.width() - gutter * (n - 1.0)) / n;
        let top = self.y;
        let mut lowest = top;
        for (i, column) in columns.iter().enumerate() {
            self.y = top;
            for (style, size, text) in column {
                self.paragraph_at(i as f32 * (width + gutter), width, *style, *size, text);
            }
            lowest = lowest.min(self.y);
        }
        self.y = lowest;
    }

    /// A table of `rows` under `columns`' headers at `size` points: cells wrap within their
    /// column; a row that does not fit starts a new page, where the header is drawn again.
    pub fn table(&mut self, columns: &[Column<'_>], rows: &[Row], size: f32) {
        let fitted = self.fit(columns, rows, size);
        let columns = &fitted[..];
        let header = Row { cells: columns.iter().map(|c| c.title.to_string()).collect(), total: false };
        let header_height = self.row_height(columns, &header, Style::Bold, size);
        let mut header_drawn_on = None;
        for row in rows {
            let style = if row.total { Style::Bold } else { Style::Regular };
            let height = self.row_height(columns, row, style, size);
            if self.y - height < self.bottom() || header_drawn_on != Some(self.pages.len()) {
                self.keep(header_height + height);
                self.draw_row(columns, &header, Style::Bold, size, header_height, true);
                header_drawn_on = Some(self.pages.len());
            }
            self.draw_row(columns, row, style, size, height, row.total);
        }
    }

    /// `columns` widened where a word (a header's, or a long amount) would not fit whole, and the
    /// table kept within the margins: the room is taken from the text columns, which can wrap.
    fn fit<'c>(&self, columns: &[Column<'c>], rows: &[Row], size: f32) -> Vec<Column<'c>> {
        let widest_word = |i: usize, c: &Column<'_>| {
            let header = c.title.split_whitespace().map(|w| self.fonts.width(Style::Bold, w, size));
            let cells = rows.iter().filter_map(|r| r.cells.get(i)).flat_map(|text| {
                text.split_whitespace().map(|w| self.fonts.width(Style::Bold, w, size)).collect::<Vec<_>>()
            });
            header.chain(cells).fold(0.0f32, f32::max) + 2.0 * PAD + 0.5
        };
        let needed: Vec<f32> = columns.iter().enumerate().map(|(i, c)| widest_word(i, c)).collect();
        let mut widths: Vec<f32> = columns.iter().zip(&needed).map(|(c, &n)| c.width.max(n)).collect();
        // Whatever runs past the right margin, from widening or from the widths asked.
        let mut excess: f32 = widths.iter().sum::<f32>() - self.width();
        // Shrink the widest text columns first, never below their own widest word.
        while excess > 0.01 {
            let slack = columns
                .iter()
                .enumerate()
                .filter(|(i, c)| !c.right && widths[*i] > needed[*i] + 0.01)
                .max_by(|a, b| widths[a.0].total_cmp(&widths[b.0]));
            let Some((i, _)) = slack else { break };
            let take = excess.min(widths[i] - needed[i]).min(4.0);
            widths[i] -= take;
            excess -= take;
        }
        columns.iter().zip(widths).map(|(c, width)| Column { title: c.title, width, right: c.right }).collect()
    }

    fn cell_lines(&self, column: &Column<'_>, text: &str, style: Style, size: f32) -> Vec<String> {
        self.fonts.wrap(style, text, size, column.width - 2.0 * PAD)
    }

    fn row_height(&self, columns: &[Column<'_>], row: &Row, style: Style, size: f32) -> f32 {
        let lines = columns
            .iter()
            .zip(&row.cells)
            .map(|(c, text)| self.cell_lines(c, text, style, size).len())
            .max()
            .unwrap_or(1);
        lines as f32 * size * LEADING + 2.0 * PAD
    }

    fn draw_row(&mut self, columns: &[Column<'_>], row: &Row, style: Style, size: f32, height: f32, shade: bool) {
        let top = self.y;
        let mut x = self.left();
        for (column, text) in columns.iter().zip(&row.cells) {
            let rect = Rect::new(x, top - height, x + column.width, top);
            if shade {
                self.mark(Mark::Box { rect, fill: true });
            }
            self.mark(Mark::Box { rect, fill: false });
            let mut baseline = top - PAD - size * 0.95;
            for line in self.cell_lines(column, text, style, size) {
                let line_x =
                    if column.right { x + column.width - PAD - self.fonts.width(style, &line, size) } else { x + PAD };
                self.mark(Mark::Text { x: line_x, y: baseline, style, size, text: line });
                baseline -= size * LEADING;
            }
            x += column.width;
        }
        self.y = top - height;
    }

    /// The PDF: every page with its marks and `footer(page, pages)` (1-based) centred at its foot.
    pub fn into_pdf(mut self, footer: impl Fn(usize, usize) -> String) -> Result<Vec<u8>, Error> {
        let mut pdf = Pdf::new();
        let (catalog, tree) = (Ref::new(1), Ref::new(2));
        let mut next = 3;
        let mut alloc = || {
            next += 1;
            Ref::new(next - 1)
        };
        let (regular, bold) = (FontRefs::take(&mut alloc), FontRefs::take(&mut alloc));
        let ids: Vec<(Ref, Ref)> = self.pages.iter().map(|_| (alloc(), alloc())).collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids(ids.iter().map(|p| p.0)).count(i32::try_from(ids.len()).unwrap_or(i32::MAX));
        let count = self.pages.len();
        let pages = std::mem::take(&mut self.pages);
        for (i, (marks, &(page_id, content_id))) in pages.into_iter().zip(&ids).enumerate() {
            let mut page = pdf.page(page_id);
            page.media_box(self.page).parent(tree).contents(content_id);
            page.resources()
                .fonts()
                .pair(Style::Regular.resource(), regular.type0)
                .pair(Style::Bold.resource(), bold.type0);
            page.finish();
            let mut content = Content::new();
            content.set_line_width(0.5);
            for mark in marks {
                match mark {
                    Mark::Box { rect, fill: true } => {
                        content.set_fill_gray(0.9);
                        content.rect(rect.x1, rect.y1, rect.x2 - rect.x1, rect.y2 - rect.y1);
                        content.fill_nonzero();
                        content.set_fill_gray(0.0);
                    }
                    Mark::Box { rect, fill: false } => {
                        content.rect(rect.x1, rect.y1, rect.x2 - rect.x1, rect.y2 - rect.y1);
                        content.stroke();
                    }
                    Mark::Text { x, y, style, size, text } => self.text(&mut content, x, y, style, size, &text),
                }
            }
            let foot = footer(i + 1, count);
            let size = 8.0;
            let x = (self.page.x1 + self.page.x2 - self.fonts.width(Style::Regular, &foot, size)) / 2.0;
            self.text(&mut content, x, self.page.y1 + self.margin, Style::Regular, size, &foot);
            pdf.stream(content_id, &content.finish());
        }
        self.fonts.write(&mut pdf, regular, bold)?;
        Ok(pdf.finish())
    }

    fn text(&mut self, content: &mut Content, x: f32, y: f32, style: Style, size: f32, text: &str) {
        content.begin_text();
        content.set_font(style.resource(), size);
        content.next_line(x, y);
        content.show(Str(&self.fonts.encode(style, text)));
        content.end_text();
    }
}

/// A4 landscape in points.
pub const A4_LANDSCAPE: Rect = Rect { x1: 0.0, y1: 0.0, x2: 842.0, y2: 595.0 };

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(page: &[Mark]) -> Vec<(f32, f32, f32, &str, Style)> {
        page.iter()
            .filter_map(|m| match m {
                Mark::Text { x, y, size, text, style } => Some((*x, *y, *size, text.as_str(), *style)),
                Mark::Box { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_long_table_repeats_its_header_on_every_page_and_stays_within_the_margins() {
        let mut doc = Layout::new(Fonts::new().unwrap(), A4_LANDSCAPE, 36.0);
        doc.paragraph(Style::Bold, 16.0, "Judul");
        // Widths asked add up past the text width; one amount is wider than its column.
        let columns = [
            Column { title: "Nama", width: 400.0, right: false },
            Column { title: "Belum dikunjungi", width: 30.0, right: true },
            Column { title: "Nilai", width: 400.0, right: true },
        ];
        let rows: Vec<Row> = (0..150)
            .map(|i| Row {
                cells: vec![
                    format!("Penerima nomor {i} dengan nama yang panjang sekali"),
                    i.to_string(),
                    "Rp900.000.000.000".into(),
                ],
                total: i == 149,
            })
            .collect();
        doc.table(&columns, &rows, 8.0);
        assert!(doc.pages.len() >= 3, "{} pages", doc.pages.len());
        let (left, right) = (36.0, 842.0 - 36.0);
        for (i, page) in doc.pages.iter().enumerate() {
            let texts = texts(page);
            let first_cell = texts.iter().find(|t| t.3 != "Judul").unwrap();
            assert_eq!((first_cell.3, first_cell.4), ("Nama", Style::Bold), "page {i} starts with the header");
            // "dikunjungi" whole, not cut inside the word.
            assert!(texts.iter().any(|t| t.3 == "dikunjungi"), "page {i}");
            for (x, y, size, text, style) in &texts {
                let end = x + doc.fonts.width(*style, text, *size);
                assert!(*x >= left - 0.01 && end <= right + 0.01, "page {i}: {text:?} from {x} to {end}");
                assert!(*y >= 36.0 + FOOTER - 0.01 && *y <= 595.0 - 36.0, "page {i}: {text:?} at {y}");
            }
        }
        let pages = doc.pages.len();
        let pdf = doc.into_pdf(|p, n| format!("Halaman {p} dari {n}")).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(pdf.windows(10).filter(|w| w == b"/Type /Pag").count(), pages + 1, "the pages and their tree");
    }
}
