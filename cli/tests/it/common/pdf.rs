//! Reading the PDFs salur writes back with poppler (`pdftotext`, `pdftoppm`), as a reader would.

use std::path::Path;
use std::process::Command;

/// A poppler tool, with what to install when it is missing.
pub fn tool(name: &str) -> Command {
    assert!(
        Command::new("which").arg(name).output().unwrap().status.success(),
        "{name} is missing: apt-get install poppler-utils (scripts/test.sh does)"
    );
    Command::new(name)
}

/// The PDF's text, laid out as on the page.
pub fn text(pdf: &Path) -> String {
    let out = tool("pdftotext").arg("-layout").arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success(), "pdftotext {}", pdf.display());
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts that every word lies inside a `width` x `height` page, `margin` points from its left
/// and right edges; the number of words read.
pub fn words_within(pdf: &Path, width: f64, height: f64, margin: f64) -> usize {
    let boxes = tool("pdftotext").arg("-bbox").arg(pdf).arg("-").output().unwrap();
    let boxes = String::from_utf8(boxes.stdout).unwrap();
    let mut words = 0;
    for line in boxes.lines().filter(|l| l.trim_start().starts_with("<word ")) {
        let attr = |name: &str| -> f64 {
            let at = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            line[at..].split('"').next().unwrap().parse().unwrap()
        };
        assert!(attr("xMin") >= margin && attr("xMax") <= width - margin, "a word outside the margins: {line}");
        assert!(attr("yMin") >= 0.0 && attr("yMax") <= height, "a word off the page: {line}");
        words += 1;
    }
    words
}
