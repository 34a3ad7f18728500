//! Area-averaging downscale, the same arithmetic as OpenCV's `INTER_AREA`.
//!
//! Why hand-written: YuNet's landmarks move by several pixels with the resampling filter, and the
//! reference pipeline (and the parity test against it) shrinks with `INTER_AREA`; neither the
//! `image` crate nor fast_image_resize offers that filter (their box filters differ from it by about
//! twice as much as a triangle filter). Area averaging is also the right anti-aliasing for a shrink.

use image::RgbImage;

/// For each output index, the source indices it covers and their weights (summing to 1).
fn footprints(src: u32, dst: u32) -> Vec<Vec<(usize, f32)>> {
    let scale = f64::from(src) / f64::from(dst);
    (0..dst)
        .map(|d| {
            let (f1, f2) = (f64::from(d) * scale, (f64::from(d) + 1.0) * scale);
            let (s1, s2) = (f1.ceil(), f2.floor().min(f64::from(src)));
            let mut w = Vec::with_capacity(scale.ceil() as usize + 2);
            if s1 - f1 > 1e-3 && s1 >= 1.0 {
                w.push((s1 as usize - 1, ((s1 - f1) / scale) as f32));
            }
            let mut s = s1;
            while s < s2 {
                w.push((s as usize, (1.0 / scale) as f32));
                s += 1.0;
            }
            if f2 - s2 > 1e-3 && (s2 as u32) < src {
                w.push((s2 as usize, ((f2 - s2).min(1.0) / scale) as f32));
            }
            w
        })
        .collect()
}

/// Shrinks `img` to `width` x `height` (each no larger than the source's).
pub(crate) fn shrink(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (sw, sh) = img.dimensions();
    let (xs, ys) = (footprints(sw, width), footprints(sh, height));
    let (src_row, row_len) = (sw as usize * 3, width as usize * 3);
    // Horizontal pass into f32 rows, then vertical pass.
    let mut rows = vec![0f32; sh as usize * row_len];
    for (line, out) in img.as_raw().chunks_exact(src_row).zip(rows.chunks_exact_mut(row_len)) {
        for (taps, px) in xs.iter().zip(out.chunks_exact_mut(3)) {
            let mut acc = [0f32; 3];
            for &(sx, w) in taps {
                let p = &line[sx * 3..sx * 3 + 3];
                acc[0] += w * f32::from(p[0]);
                acc[1] += w * f32::from(p[1]);
                acc[2] += w * f32::from(p[2]);
            }
            px.copy_from_slice(&acc);
        }
    }
    let mut dst = vec![0u8; height as usize * row_len];
    let mut acc = vec![0f32; row_len];
    for (taps, out) in ys.iter().zip(dst.chunks_exact_mut(row_len)) {
        acc.fill(0.0);
        for &(sy, w) in taps {
            acc.iter_mut().zip(&rows[sy * row_len..(sy + 1) * row_len]).for_each(|(a, r)| *a += w * r);
        }
        // Values are in 0..=255 by construction; adding 0.5 and truncating rounds without libm's roundf.
        out.iter_mut().zip(&acc).for_each(|(d, a)| *d = (a + 0.5).min(255.0) as u8);
    }
    RgbImage::from_raw(width, height, dst).expect("buffer of width x height x 3")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_for_fractional_scales() {
        for (s, d) in [(1024, 640), (150, 149), (4000, 640), (641, 640)] {
            for taps in footprints(s, d) {
                let sum: f32 = taps.iter().map(|t| t.1).sum();
                assert!((sum - 1.0).abs() < 1e-4, "{s}->{d}: {sum}");
            }
        }
    }

    #[test]
    fn halving_averages_pixel_pairs() {
        let img = RgbImage::from_fn(4, 2, |x, _| image::Rgb([(x * 10) as u8; 3]));
        let out = shrink(&img, 2, 1);
        assert_eq!(out.get_pixel(0, 0).0, [5; 3]);
        assert_eq!(out.get_pixel(1, 0).0, [25; 3]);
    }
}
