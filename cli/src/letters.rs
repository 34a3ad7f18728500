//! `salur letters` prints a roster's invitation letters (A4 PDF, Bahasa Indonesia, one page per
//! recipient, each with its signed QR code); `salur letter` verifies a letter's token offline and
//! exports the programme's public key for auditors and phones.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clap::{Args, Subcommand};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use qrcode::{EcLevel, QrCode};
use salur_core::letter;
use salur_core::Error;
use salur_server::read::names::AreaNames;
use salur_server::store::PrintedLetter;
use serde_json::json;

use super::serve::{runtime, server_error, DbArgs};
use super::typeset::{FontRefs, Fonts, Style};

/// `salur letters`.
#[derive(Args, Debug)]
pub struct LettersArgs {
    /// Roster (period) whose letters to print.
    #[arg(long)]
    roster: String,
    /// The PDF to write.
    #[arg(long, value_name = "FILE.pdf")]
    out: PathBuf,
    /// When recipients may collect, as printed on the letter.
    #[arg(long, default_value = DEFAULT_SCHEDULE)]
    schedule: String,
    /// Where a recipient checks their receipt code and reports a short payment: the server's
    /// public check page, e.g. https://salur.example.go.id/cek (printed on every letter).
    #[arg(long, value_name = "URL")]
    check_url: String,
    /// The programme's complaint number, printed beside the check page (e.g. "0800-1-500-500").
    #[arg(long, value_name = "NUMBER")]
    complaint_phone: String,
    /// Post office names and street addresses (`post_office,CODE,NAME` and
    /// `post_office_address,CODE,ADDRESS` lines; the file `salur serve --area-names` reads).
    /// Without one, the letter names the post office by its code.
    #[arg(long, value_name = "FILE.csv")]
    area_names: Option<PathBuf>,
    #[command(flatten)]
    db: DbArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `salur letter`.
#[derive(Args, Debug)]
pub struct LetterArgs {
    #[command(subcommand)]
    command: LetterCommand,
    #[command(flatten)]
    db: DbArgs,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
enum LetterCommand {
    /// Check a letter's QR text (exit 0 valid, 1 invalid, 2 error), with the programme key from
    /// the database in --data-dir or from --public-key.
    Verify {
        /// The QR code's text (`SALUR-L1:...`).
        token: String,
        /// The programme's public key (PEM, from `salur letter public-key`) instead of the database.
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
        /// Also require the letter to be of this roster (period).
        #[arg(long)]
        roster: Option<String>,
    },
    /// Write the programme's public key (PEM), for auditors who check letters offline.
    PublicKey {
        /// File to write (default: print it).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// A4 in points.
const A4: Rect = Rect { x1: 0.0, y1: 0.0, x2: 595.0, y2: 842.0 };
/// When recipients may collect, printed when no schedule is given.
pub(crate) const DEFAULT_SCHEDULE: &str = "sesuai jadwal yang diumumkan Kantor Pos";

/// Side of the printed QR code in points (8.5 cm: about 1.3 mm a module, read from arm's length).
const QR_SIDE: f32 = 240.0;

/// Runs `salur letters`.
pub fn print(args: &LettersArgs) -> Result<ExitCode, Error> {
    let letters = runtime()?.block_on(async {
        let db = args.db.open().await?;
        db.letters(&args.roster).await.map_err(server_error)
    })?;
    let names = match &args.area_names {
        Some(path) => AreaNames::bundled_and(path).map_err(server_error)?,
        None => AreaNames::bundled(),
    };
    let settings = LetterSettings {
        schedule: &args.schedule,
        check_url: &args.check_url,
        complaint_phone: &args.complaint_phone,
        names: &names,
    };
    settings.check()?;
    let pdf = render(&letters, &settings)?;
    std::fs::write(&args.out, pdf)
        .map_err(|source| Error::Io { context: format!("writing {}", args.out.display()), source })?;
    if args.json {
        println!("{}", json!({ "roster": args.roster, "letters": letters.len(), "out": args.out }));
    } else {
        println!("{} letters for {} written to {}", letters.len(), args.roster, args.out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `salur letter`.
pub fn run(args: &LetterArgs) -> Result<ExitCode, Error> {
    match &args.command {
        LetterCommand::PublicKey { out } => {
            let spki = runtime()?
                .block_on(async { args.db.open().await?.programme_public_key().await.map_err(server_error) })?;
            let pem = pem(&spki);
            match out {
                Some(path) => std::fs::write(path, &pem)
                    .map_err(|source| Error::Io { context: format!("writing {}", path.display()), source })?,
                None => print!("{pem}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        LetterCommand::Verify { token, public_key, roster } => {
            let spki = match public_key {
                Some(path) => read_public_key(path)?,
                None => runtime()?
                    .block_on(async { args.db.open().await?.programme_public_key().await.map_err(server_error) })?,
            };
            let checked = letter::verify(token, &spki).and_then(|l| match roster {
                Some(r) if *r != l.roster => {
                    Err(Error::InvalidLetter(format!("the letter is for roster {}, not {r}", l.roster)))
                }
                _ => Ok(l),
            });
            match checked {
                Ok(l) => {
                    if args.json {
                        println!("{}", json!({ "valid": true, "letter": l }));
                    } else {
                        println!(
                            "valid: letter {} of {} for recipient {}, {}",
                            l.letter_id,
                            l.roster,
                            l.recipient,
                            super::demo::rupiah(l.amount)
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e @ Error::InvalidLetter(_)) => {
                    if args.json {
                        println!("{}", json!({ "valid": false, "reason": e.to_string() }));
                    } else {
                        println!("INVALID: {e}");
                    }
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// SPKI DER as a PEM public key.
fn pem(spki: &[u8]) -> String {
    let b64 = B64.encode(spki);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
}

/// A PEM public key's SPKI DER (a P-256 key).
/// A P-256 public key (SPKI) from a file: PEM, as `salur letter public-key` writes it, or DER.
pub(crate) fn read_public_key(path: &Path) -> Result<Vec<u8>, Error> {
    let bytes =
        std::fs::read(path).map_err(|source| Error::Io { context: format!("reading {}", path.display()), source })?;
    let spki = match std::str::from_utf8(&bytes) {
        Ok(text) if text.trim_start().starts_with("-----") => {
            let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
            B64.decode(body.trim())
                .map_err(|_| Error::InvalidArgument(format!("{} is not a PEM public key", path.display())))?
        }
        _ => bytes,
    };
    salur_core::crypto::p256_point(&spki)?;
    Ok(spki)
}

/// One letter's QR code as grey pixels, one per module, with the 4-module quiet zone.
pub(crate) fn qr_pixels(token: &str) -> Result<(u32, Vec<u8>), Error> {
    // Level M: a creased or smudged letter still reads (15 % of the code may be lost).
    let code = QrCode::with_error_correction_level(token.as_bytes(), EcLevel::M)
        .map_err(|e| Error::InvalidArgument(format!("QR code: {e}")))?;
    let modules = code.width();
    let side = modules + 8;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; side * side];
    for y in 0..modules {
        for x in 0..modules {
            if colors[y * modules + x] == qrcode::Color::Dark {
                pixels[(y + 4) * side + x + 4] = 0;
            }
        }
    }
    Ok((side as u32, pixels))
}

/// What every letter of a print run says besides the recipient's own lines.
pub(crate) struct LetterSettings<'a> {
    /// When recipients may collect.
    pub schedule: &'a str,
    /// The public check page.
    pub check_url: &'a str,
    /// The complaint number.
    pub complaint_phone: &'a str,
    /// Post office names and addresses.
    pub names: &'a AreaNames,
}

impl LetterSettings<'_> {
    /// Refuses settings a recipient could not use.
    fn check(&self) -> Result<(), Error> {
        let url = self.check_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.chars().any(char::is_whitespace) {
            return Err(Error::InvalidArgument(format!(
                "--check-url {url:?} is not a web address: give the public check page, e.g. https://salur.example.go.id/cek"
            )));
        }
        if !self.complaint_phone.chars().any(|c| c.is_ascii_digit()) {
            return Err(Error::InvalidArgument(
                "--complaint-phone holds no number: give the programme's complaint line, e.g. 0800-1-500-500".into(),
            ));
        }
        Ok(())
    }
}

/// Left margin and text width of a letter, in points.
const MARGIN: f32 = 60.0;
const TEXT_WIDTH: f32 = 595.0 - 2.0 * MARGIN;

/// One letter's lines: (style, size, text), each already no wider than the page's text width.
fn letter_lines(l: &PrintedLetter, settings: &LetterSettings<'_>, fonts: &Fonts) -> Vec<(Style, f32, String)> {
    let amount = super::demo::rupiah(l.letter.amount);
    let office = settings.names.post_office(&l.post_office).unwrap_or(&l.post_office);
    let place = match settings.names.post_office_address(&l.post_office) {
        Some(address) => format!("Tempat: {office}, {address}; atau diantar ke rumah oleh petugas pos."),
        None => format!("Tempat: Kantor Pos {office}; atau diantar ke rumah oleh petugas pos."),
    };
    let paragraphs: Vec<(Style, f32, String)> = vec![
        (Style::Bold, 16.0, "SURAT UNDANGAN PENYALURAN BANTUAN SOSIAL".into()),
        (Style::Regular, 11.0, format!("Nomor surat: {}    Periode: {}", l.letter.letter_id, l.letter.period)),
        (Style::Regular, 11.0, String::new()),
        (Style::Regular, 12.0, "Kepada Yth.".into()),
        (Style::Bold, 13.0, l.name.clone()),
        (Style::Regular, 12.0, l.address.clone()),
        (Style::Regular, 11.0, String::new()),
        (Style::Regular, 12.0, "Anda terdaftar sebagai Keluarga Penerima Manfaat (KPM) dengan besaran bantuan:".into()),
        (Style::Bold, 18.0, amount.clone()),
        (Style::Regular, 12.0, place),
        (Style::Regular, 12.0, format!("Waktu: {}.", settings.schedule.trim_end_matches('.'))),
        (Style::Regular, 11.0, String::new()),
        (
            Style::Regular,
            11.0,
            "Bawa surat ini, e-KTP dan Kartu Keluarga (KK) asli. Wajah Anda akan dicocokkan. Jika sakit, lanjut \
             usia atau disabilitas, anggota keluarga dalam KK yang sama boleh mengambil dengan surat kuasa \
             bertanda tangan dan e-KTP-nya sendiri."
                .into(),
        ),
        (Style::Regular, 11.0, format!("Hitung uang yang Anda terima: harus {amount} penuh, tanpa potongan apa pun.")),
        (
            Style::Regular,
            11.0,
            format!(
                "Simpan kode tanda terima yang diberikan petugas. Periksa kode itu di {} dan laporkan di sana \
                 jika uang kurang atau tidak diterima, atau telepon {}.",
                settings.check_url.trim(),
                settings.complaint_phone.trim()
            ),
        ),
    ];
    paragraphs
        .into_iter()
        .flat_map(|(style, size, text)| {
            fonts.wrap(style, &text, size, TEXT_WIDTH).into_iter().map(move |line| (style, size, line))
        })
        .collect()
}

/// The letters as one PDF, a page each, in the embedded font (any name prints as written; long
/// lines wrap within the page).
pub(crate) fn render(letters: &[PrintedLetter], settings: &LetterSettings<'_>) -> Result<Vec<u8>, Error> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let mut next = 3;
    let mut alloc = || {
        next += 1;
        Ref::new(next - 1)
    };
    let (regular, bold) = (FontRefs::take(&mut alloc), FontRefs::take(&mut alloc));
    let pages: Vec<(Ref, Ref, Ref)> = letters.iter().map(|_| (alloc(), alloc(), alloc())).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(pages.iter().map(|p| p.0)).count(pages.len() as i32);
    let mut fonts = Fonts::new()?;
    for (l, &(page_id, content_id, image_id)) in letters.iter().zip(&pages) {
        let mut page = pdf.page(page_id);
        page.media_box(A4).parent(tree).contents(content_id);
        let mut resources = page.resources();
        resources.fonts().pair(Style::Regular.resource(), regular.type0).pair(Style::Bold.resource(), bold.type0);
        resources.x_objects().pair(Name(b"Qr"), image_id);
        resources.finish();
        page.finish();

        let (side, pixels) = qr_pixels(&l.token)?;
        let mut image = pdf.image_xobject(image_id, &pixels);
        image.width(side as i32).height(side as i32).bits_per_component(8).interpolate(false);
        image.color_space().device_gray();
        image.finish();

        let mut content = Content::new();
        let mut y = 780.0;
        for (style, size, text) in letter_lines(l, settings, &fonts) {
            content.begin_text();
            content.set_font(style.resource(), size);
            content.next_line(MARGIN, y);
            content.show(Str(&fonts.encode(style, &text)));
            content.end_text();
            y -= size * 1.45;
        }
        // The QR code below the text, smaller when a long address took the room (it stays
        // readable down to about 1 mm a module).
        let qr = QR_SIDE.min(y - 40.0).max(150.0);
        content.save_state();
        content.transform([qr, 0.0, 0.0, qr, (A4.x2 - qr) / 2.0, y - qr - 8.0]);
        content.x_object(Name(b"Qr"));
        content.restore_state();
        content.begin_text();
        content.set_font(Style::Regular.resource(), 9.0);
        content.next_line(MARGIN, (y - qr - 24.0).max(20.0));
        let note = "Kode QR ini ditandatangani secara digital oleh penyelenggara program; petugas memindainya.";
        content.show(Str(&fonts.encode(Style::Regular, note)));
        content.end_text();
        pdf.stream(content_id, &content.finish());
    }
    fonts.write(&mut pdf, regular, bold)?;
    Ok(pdf.finish())
}
