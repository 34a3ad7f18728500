//! Turning what the caller has (an encoded photo or a raw camera frame) into an upright RGB image.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};

use crate::error::{Error, Result};

/// Largest side accepted, in pixels: a 50 MP phone photo is about 8160 x 6120.
pub const MAX_SIDE: u32 = 8192;
/// Largest pixel count accepted (50 MP, 150 MB as RGB).
pub const MAX_PIXELS: u64 = 50_000_000;

/// Decodes a JPEG or PNG photo, applying its EXIF orientation.
///
/// The size is read from the header and checked before any pixel buffer is allocated, so a
/// decompression bomb is refused cheaply.
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage> {
    let reader = || -> Result<ImageReader<Cursor<&[u8]>>> {
        let r = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(io_error)?;
        match r.format() {
            Some(ImageFormat::Jpeg | ImageFormat::Png) => Ok(r),
            _ => Err(Error::NotAnImage),
        }
    };
    let (width, height) = reader()?.into_dimensions().map_err(decode_error)?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Error::ImageTooLarge { width, height, max_side: MAX_SIDE, max_pixels: MAX_PIXELS });
    }
    if width == 0 || height == 0 {
        return Err(Error::CorruptImage("the image has no pixels".into()));
    }
    // A camera JPEG always ends with the EOI marker; the JPEG decoder would pad a cut file with grey.
    if reader()?.format() == Some(ImageFormat::Jpeg) && !bytes.ends_with(&[0xFF, 0xD9]) {
        return Err(Error::TruncatedImage);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4);
    let mut r = reader()?;
    r.limits(limits);
    let mut decoder = r.into_decoder().map_err(decode_error)?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    img.apply_orientation(orientation);
    Ok(img.into_rgb8())
}

/// Decodes an aligned face crop (a receipt's evidence JPEG), refusing from its header alone any
/// image that is not [`super::CROP_SIZE`] pixels square: a server decoding uploads never
/// allocates for a large picture sent in a crop's place.
pub fn decode_crop(bytes: &[u8]) -> Result<RgbImage> {
    let size = super::CROP_SIZE;
    let r = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(io_error)?;
    let (width, height) = r.into_dimensions().map_err(decode_error)?;
    if (width, height) != (size, size) {
        return Err(Error::InvalidArgument(format!(
            "a face crop is {size}x{size} pixels; this image is {width}x{height}"
        )));
    }
    decode_image(bytes)
}

/// Reads and decodes a photo file.
pub fn read_image(path: &std::path::Path) -> Result<RgbImage> {
    let bytes =
        std::fs::read(path).map_err(|source| Error::Io { context: format!("reading {}", path.display()), source })?;
    decode_image(&bytes)
}

fn io_error(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        Error::TruncatedImage
    } else {
        Error::CorruptImage(e.to_string())
    }
}

fn decode_error(e: ImageError) -> Error {
    match e {
        ImageError::IoError(e) => io_error(e),
        ImageError::Unsupported(_) => Error::NotAnImage,
        ImageError::Limits(_) => Error::CorruptImage("the image needs more memory than allowed".into()),
        ImageError::Decoding(d) => {
            let text = d.to_string();
            let lower = text.to_ascii_lowercase();
            if lower.contains("eof") || lower.contains("end of") || lower.contains("truncat") {
                Error::TruncatedImage
            } else {
                Error::CorruptImage(text)
            }
        }
        other => Error::CorruptImage(other.to_string()),
    }
}

/// Clockwise rotation that makes a camera frame upright (Android's sensor orientation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Already upright.
    R0,
    /// Rotate 90 degrees clockwise.
    R90,
    /// Rotate 180 degrees.
    R180,
    /// Rotate 270 degrees clockwise.
    R270,
}

impl Rotation {
    /// From degrees: 0, 90, 180 or 270.
    pub fn from_degrees(degrees: u32) -> Result<Self> {
        Ok(match degrees {
            0 => Self::R0,
            90 => Self::R90,
            180 => Self::R180,
            270 => Self::R270,
            d => return Err(Error::InvalidFrame(format!("rotation {d} is not 0, 90, 180 or 270"))),
        })
    }

    /// Applies the rotation.
    pub fn apply(self, img: RgbImage) -> RgbImage {
        match self {
            Self::R0 => img,
            Self::R90 => image::imageops::rotate90(&img),
            Self::R180 => image::imageops::rotate180(&img),
            Self::R270 => image::imageops::rotate270(&img),
        }
    }
}

/// One plane of a YUV frame, as Android's `Image.Plane` gives it.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    /// The plane's bytes.
    pub data: &'a [u8],
    /// Bytes from one row to the next.
    pub row_stride: usize,
    /// Bytes from one pixel to the next within a row (1 planar, 2 interleaved).
    pub pixel_stride: usize,
}

/// A YUV 4:2:0 camera frame (Android `ImageFormat.YUV_420_888`), with 2x2-subsampled chroma.
#[derive(Debug, Clone, Copy)]
pub struct YuvFrame<'a> {
    /// Width of the luma plane in pixels.
    pub width: u32,
    /// Height of the luma plane in pixels.
    pub height: u32,
    /// Luma.
    pub y: Plane<'a>,
    /// Blue-difference chroma.
    pub u: Plane<'a>,
    /// Red-difference chroma.
    pub v: Plane<'a>,
    /// Rotation that makes the frame upright.
    pub rotation: Rotation,
}

impl<'a> YuvFrame<'a> {
    /// An NV21 frame (Android's legacy camera format): the Y plane, then V and U interleaved.
    pub fn nv21(data: &'a [u8], width: u32, height: u32, rotation: Rotation) -> Result<Self> {
        let luma = width as usize * height as usize;
        if data.len() < luma + 2 {
            return Err(Error::InvalidFrame(format!(
                "NV21 {width}x{height} needs {} bytes, got {}",
                luma + luma / 2,
                data.len()
            )));
        }
        let w = width as usize;
        Ok(Self {
            width,
            height,
            y: Plane { data: &data[..luma], row_stride: w, pixel_stride: 1 },
            v: Plane { data: &data[luma..], row_stride: w, pixel_stride: 2 },
            u: Plane { data: &data[luma + 1..], row_stride: w, pixel_stride: 2 },
            rotation,
        })
    }

    /// Converts to upright RGB with the full-range BT.601 (JFIF) matrix that Android cameras use.
    pub fn to_rgb(&self) -> Result<RgbImage> {
        let (w, h) = (self.width as usize, self.height as usize);
        if w < 2 || h < 2 || w as u64 * h as u64 > MAX_PIXELS || self.width.max(self.height) > MAX_SIDE {
            return Err(Error::InvalidFrame(format!("frame size {w}x{h} out of range")));
        }
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        check_plane("Y", &self.y, w, h)?;
        check_plane("U", &self.u, cw, ch)?;
        check_plane("V", &self.v, cw, ch)?;
        let mut rgb = RgbImage::new(self.width, self.height);
        for (row, out) in rgb.rows_mut().enumerate() {
            let y_row = &self.y.data[row * self.y.row_stride..];
            let (u_row, v_row) = (row / 2 * self.u.row_stride, row / 2 * self.v.row_stride);
            for (col, px) in out.enumerate() {
                let y = f32::from(y_row[col * self.y.pixel_stride]);
                let u = f32::from(self.u.data[u_row + col / 2 * self.u.pixel_stride]) - 128.0;
                let v = f32::from(self.v.data[v_row + col / 2 * self.v.pixel_stride]) - 128.0;
                let clamp = |x: f32| x.round().clamp(0.0, 255.0) as u8;
                px.0 = [clamp(y + 1.402 * v), clamp(y - 0.344_136 * u - 0.714_136 * v), clamp(y + 1.772 * u)];
            }
        }
        Ok(self.rotation.apply(rgb))
    }
}

fn check_plane(name: &str, p: &Plane, cols: usize, rows: usize) -> Result<()> {
    // Checked arithmetic: on 32-bit ABIs (armeabi-v7a) hostile strides could wrap `usize`.
    let row_span = cols.checked_sub(1).and_then(|c| c.checked_mul(p.pixel_stride)).and_then(|w| w.checked_add(1));
    if p.pixel_stride == 0 || row_span.is_none_or(|w| p.row_stride < w) {
        return Err(Error::InvalidFrame(format!("{name} plane strides do not fit its width")));
    }
    // Android may end the last row right after its last pixel, short of a full row stride.
    let needed = rows
        .checked_sub(1)
        .and_then(|r| r.checked_mul(p.row_stride))
        .and_then(|n| row_span.and_then(|w| n.checked_add(w)))
        .ok_or_else(|| Error::InvalidFrame(format!("{name} plane strides overflow")))?;
    if p.data.len() < needed {
        return Err(Error::InvalidFrame(format!("{name} plane has {} bytes, needs {needed}", p.data.len())));
    }
    Ok(())
}
