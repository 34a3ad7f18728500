//! Text in an embedded Unicode font for the PDFs salur prints: DejaVu Sans and DejaVu Sans Bold
//! (`cli/fonts/`, the Bitstream Vera licence beside them), so that any Indonesian name, address
//! and typographic punctuation prints as written (the standard PDF fonts stop at Latin-1). Text
//! is measured with ttf-parser and wrapped to a width; each font goes into the PDF as a subset
//! holding only the glyphs printed (typst's subsetter), as a CID font with a ToUnicode map so the
//! text can be searched and copied. The output is deterministic: the same text gives the same bytes.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Finish, Name, Pdf, Rect, Ref, Str};
use salur_core::Error;
use subsetter::GlyphRemapper;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// The weight of a run of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

impl Style {
    /// The font's resource name on every page.
    pub fn resource(self) -> Name<'static> {
        match self {
            Self::Regular => Name(b"F1"),
            Self::Bold => Name(b"F2"),
        }
    }
}

/// One font as used by a document: the glyphs printed so far, by their id in the subset.
struct FontUse {
    data: &'static [u8],
    face: ttf_parser::Face<'static>,
    base_name: &'static str,
    remapper: GlyphRemapper,
    /// Subset glyph id → the character it printed (for the ToUnicode map).
    chars: BTreeMap<u16, char>,
}

impl FontUse {
    fn new(data: &'static [u8], base_name: &'static str) -> Result<Self, Error> {
        let face = ttf_parser::Face::parse(data, 0)
            .map_err(|e| Error::InvalidArgument(format!("the bundled font {base_name} cannot be read: {e}")))?;
        Ok(Self { data, face, base_name, remapper: GlyphRemapper::new(), chars: BTreeMap::new() })
    }

    /// The glyph of `c`: the font's own, else its missing-glyph box (the character still reads
    /// back through the ToUnicode map).
    fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    /// Width of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        let units = f32::from(self.face.units_per_em());
        let advance: u32 = printable(text)
            .map(|c| u32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(self.glyph(c))).unwrap_or(0)))
            .sum();
        advance as f32 / units * size
    }

    /// `text` as a content stream's string: two bytes per glyph, the glyph's id in the subset.
    fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in printable(text) {
            let new = self.remapper.remap(self.glyph(c));
            self.chars.entry(new).or_insert(c);
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }

    /// Writes the font (Type0 → CIDFontType2 → descriptor → subset file, and its ToUnicode map)
    /// at `ids`.
    fn write(&self, pdf: &mut Pdf, ids: FontRefs) -> Result<(), Error> {
        let subset = subsetter::subset(self.data, 0, &self.remapper)
            .map_err(|e| Error::InvalidArgument(format!("subsetting {}: {e}", self.base_name)))?;
        // A subset's name carries a six-letter tag (PDF 32000 9.6.4), here from its bytes.
        let digest = salur_core::crypto::sha256(&subset);
        let tag: String = digest.iter().take(6).map(|b| char::from(b'A' + b % 26)).collect();
        let name = format!("{tag}+{}", self.base_name);
        let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
        pdf.type0_font(ids.type0)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(ids.cid)
            .to_unicode(ids.cmap);
        let units = f32::from(self.face.units_per_em());
        let scale = |v: i16| f32::from(v) * 1000.0 / units;
        // Widths in the subset's glyph order (its ids count up from 0 in the order first printed).
        let old_ids: Vec<u16> = self.remapper.remapped_gids().collect();
        let widths: Vec<f32> = old_ids
            .iter()
            .map(|&g| f32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(g)).unwrap_or(0)) * 1000.0 / units)
            .collect();
        let mut cid = pdf.cid_font(ids.cid);
        cid.subtype(CidFontType::Type2)
            .base_font(Name(name.as_bytes()))
            .system_info(system)
            .font_descriptor(ids.descriptor)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        cid.widths().consecutive(0, widths);
        cid.finish();
        let b = self.face.global_bounding_box();
        pdf.font_descriptor(ids.descriptor)
            .name(Name(name.as_bytes()))
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(scale(b.x_min), scale(b.y_min), scale(b.x_max), scale(b.y_max)))
            .italic_angle(0.0)
            .ascent(scale(self.face.ascender()))
            .descent(scale(self.face.descender()))
            .cap_height(scale(self.face.capital_height().unwrap_or(self.face.ascender())))
            .stem_v(80.0)
            .font_file2(ids.file);
        pdf.stream(ids.file, &subset).pair(Name(b"Length1"), i32::try_from(subset.len()).unwrap_or(i32::MAX));
        let mut cmap = UnicodeCmap::new(Name(b"Salur-UTF16"), system);
        for (&glyph, &c) in &self.chars {
            cmap.pair(glyph, c);
        }
        pdf.cmap(ids.cmap, &cmap.finish());
        Ok(())
    }
}

/// The characters that print: control characters (a tab, a stray line break) are dropped.
fn printable(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().filter(|c| !c.is_control())
}

/// Where one font's objects go in the PDF.
#[derive(Debug, Clone, Copy)]
pub struct FontRefs {
    /// The font the pages name.
    pub type0: Ref,
    /// Its descendant CID font.
    pub cid: Ref,
    /// The font descriptor.
    pub descriptor: Ref,
    /// The embedded subset.
    pub file: Ref,
    /// The ToUnicode map.
    pub cmap: Ref,
}

impl FontRefs {
    /// Five references from `next`.
    pub fn take(next: &mut impl FnMut() -> Ref) -> Self {
        Self { type0: next(), cid: next(), descriptor: next(), file: next(), cmap: next() }
    }
}

/// The two fonts of one document.
pub struct Fonts {
    regular: FontUse,
    bold: FontUse,
}

impl Fonts {
    /// The bundled fonts, nothing printed yet.
    pub fn new() -> Result<Self, Error> {
        Ok(Self { regular: FontUse::new(REGULAR, "DejaVuSans")?, bold: FontUse::new(BOLD, "DejaVuSans-Bold")? })
    }

    fn of(&self, style: Style) -> &FontUse {
        match style {
            Style::Regular => &self.regular,
            Style::Bold => &self.bold,
        }
    }

    /// Width of `text` in `style` at `size` points.
    pub fn width(&self, style: Style, text: &str, size: f32) -> f32 {
        self.of(style).width(text, size)
    }

    /// `text` for a content stream's `Tj` in `style` (select the font with [`Style::resource`]).
    pub fn encode(&mut self, style: Style, text: &str) -> Vec<u8> {
        match style {
            Style::Regular => self.regular.encode(text),
            Style::Bold => self.bold.encode(text),
        }
    }

    /// `text` broken into lines no wider than `width` points at `size`: at spaces, and inside a
    /// word only when the word alone is wider than a line.
    pub fn wrap(&self, style: Style, text: &str, size: f32, width: f32) -> Vec<String> {
        let font = self.of(style);
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if font.width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the line (a long road name without spaces) is cut where it must be.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if font.width(&piece, size) > width && piece.chars().count() > 1 {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Writes both fonts' objects (call once, after every page's text was encoded).
    pub fn write(&self, pdf: &mut Pdf, regular: FontRefs, bold: FontRefs) -> Result<(), Error> {
        self.regular.write(pdf, regular)?;
        self.bold.write(pdf, bold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_within_the_width() {
        let fonts = Fonts::new().unwrap();
        let address = "Jl. Raya Pasar Minggu Gang Haji Ridi RT 003/RW 008 No. 17, Kelurahan Pejaten Timur, \
                       Kecamatan Pasar Minggu, Kota Jakarta Selatan";
        let lines = fonts.wrap(Style::Regular, address, 12.0, 200.0);
        assert!(lines.len() >= 3, "{lines:?}");
        for l in &lines {
            assert!(fonts.of(Style::Regular).width(l, 12.0) <= 200.0, "{l:?}");
        }
        assert_eq!(lines.join(" "), address.split_whitespace().collect::<Vec<_>>().join(" "), "nothing lost");
        let long = "Sastrowardoyomangkunegaranhadiningratkusumawijayakusuma";
        let cut = fonts.wrap(Style::Bold, long, 13.0, 120.0);
        assert!(cut.len() > 1 && cut.concat() == long, "{cut:?}");
        assert_eq!(fonts.wrap(Style::Regular, "", 12.0, 100.0), vec![String::new()]);
    }

    #[test]
    fn text_outside_latin_1_is_measured_encoded_and_mapped_back() {
        let mut fonts = Fonts::new().unwrap();
        // An en dash, a curly apostrophe and a Vietnamese-Indonesian name: all in DejaVu Sans.
        let text = "Senin–Rabu · Ma’ruf Nguyễn";
        assert!(fonts.regular.width(text, 10.0) > fonts.regular.width("Senin", 10.0));
        let encoded = fonts.encode(Style::Regular, text);
        assert_eq!(encoded.len(), text.chars().count() * 2);
        assert!(fonts.regular.chars.values().any(|&c| c == '–') && fonts.regular.chars.values().any(|&c| c == 'ễ'));
        assert!(fonts.regular.glyph('–') != 0 && fonts.regular.glyph('ễ') != 0, "the font has them");
        // Control characters do not print.
        assert_eq!(fonts.encode(Style::Bold, "a\tb\n").len(), 4);
    }
}
