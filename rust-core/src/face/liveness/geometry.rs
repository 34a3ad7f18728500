//! What YuNet's five landmarks say about the head: how far it is turned, and whether it moved as a
//! 3-D head or as a flat picture.
//!
//! Landmark order (YuNet): the subject's right eye, left eye, nose tip, right and left mouth corners.

/// The landmarks of one face, as [`crate::face::Detection`] gives them.
pub type Landmarks = [[f32; 2]; 5];

fn sub(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn dot(a: [f32; 2], b: [f32; 2]) -> f32 {
    a[0] * b[0] + a[1] * b[1]
}

/// Distance between the eyes, in pixels.
pub fn inter_eye(lm: &Landmarks) -> f32 {
    let e = sub(lm[1], lm[0]);
    dot(e, e).sqrt()
}

/// Head turn: how far the nose tip sits from the eyes' midpoint along the eye line, in inter-eye
/// distances. 0 is frontal; positive means the nose moved towards the subject's left eye (the head
/// turned to the subject's left, in a frame as the camera delivers it, not mirrored). The projection
/// on the eye line makes it insensitive to a tilted (rolled) head.
pub fn turn(lm: &Landmarks) -> f32 {
    let eye = sub(lm[1], lm[0]);
    let mid = [(lm[0][0] + lm[1][0]) / 2.0, (lm[0][1] + lm[1][1]) / 2.0];
    dot(sub(lm[2], mid), eye) / dot(eye, eye).max(f32::EPSILON)
}

/// Maps points by a 3x3 homography (row-major, h[8] = 1).
fn apply(h: &[f64; 9], p: [f32; 2]) -> Option<[f32; 2]> {
    let (x, y) = (f64::from(p[0]), f64::from(p[1]));
    let w = h[6] * x + h[7] * y + h[8];
    if w.abs() < 1e-9 {
        return None;
    }
    Some([((h[0] * x + h[1] * y + h[2]) / w) as f32, ((h[3] * x + h[4] * y + h[5]) / w) as f32])
}

/// The homography taking four points `from` exactly onto `to` (direct linear transform), if the
/// points are in general position.
pub(crate) fn homography(from: &[[f32; 2]; 4], to: &[[f32; 2]; 4]) -> Option<[f64; 9]> {
    // Normalise both point sets (centre, unit mean distance) for a well-conditioned system.
    let norm = |pts: &[[f32; 2]; 4]| -> ([[f64; 2]; 4], [f64; 3]) {
        let c = pts.iter().fold([0.0, 0.0], |a, p| [a[0] + f64::from(p[0]) / 4.0, a[1] + f64::from(p[1]) / 4.0]);
        let d = pts.iter().map(|p| (f64::from(p[0]) - c[0]).hypot(f64::from(p[1]) - c[1])).sum::<f64>() / 4.0;
        let s = if d > 1e-9 { 1.0 / d } else { 1.0 };
        let out = pts.map(|p| [(f64::from(p[0]) - c[0]) * s, (f64::from(p[1]) - c[1]) * s]);
        (out, [s, c[0], c[1]])
    };
    let (a, ta) = norm(from);
    let (b, tb) = norm(to);
    let mut m = [[0f64; 9]; 8];
    for i in 0..4 {
        let ([x, y], [u, v]) = (a[i], b[i]);
        m[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        m[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    // Gauss-Jordan with partial pivoting on the 8x8 system (last column is the right-hand side).
    for col in 0..8 {
        let piv = (col..8).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))?;
        if m[piv][col].abs() < 1e-10 {
            return None;
        }
        m.swap(col, piv);
        let pivot_row = m[col];
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (v, p) in row.iter_mut().zip(pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    let hn: Vec<f64> = (0..8).map(|i| m[i][8] / m[i][i]).collect();
    let hn = [hn[0], hn[1], hn[2], hn[3], hn[4], hn[5], hn[6], hn[7], 1.0];
    // H = Tb^-1 * Hn * Ta, with T = [[s, 0, -s cx], [0, s, -s cy], [0, 0, 1]].
    let t_a = [ta[0], 0.0, -ta[0] * ta[1], 0.0, ta[0], -ta[0] * ta[2], 0.0, 0.0, 1.0];
    let t_b_inv = [1.0 / tb[0], 0.0, tb[1], 0.0, 1.0 / tb[0], tb[2], 0.0, 0.0, 1.0];
    let mul = |p: &[f64; 9], q: &[f64; 9]| {
        let mut r = [0f64; 9];
        for i in 0..3 {
            for j in 0..3 {
                r[3 * i + j] = (0..3).map(|k| p[3 * i + k] * q[3 * k + j]).sum();
            }
        }
        r
    };
    let h = mul(&t_b_inv, &mul(&hn, &t_a));
    if h[8].abs() < 1e-12 {
        return None;
    }
    Some(h.map(|v| v / h[8]))
}

/// Nose parallax of `current` against a frontal `reference` frame, in inter-eye distances.
///
/// The homography that maps the reference's eyes and mouth corners onto the current ones is the
/// motion a flat picture of that face would make; it predicts where a nose printed on that picture
/// would be. A real head turning moves its nose tip (which stands out of the eye-mouth plane) further
/// in the direction of the turn. Returns the nose's offset from the flat prediction along the
/// current eye line (signed like [`turn`]) and its full length, or `None` for a degenerate fit.
pub fn nose_parallax(reference: &Landmarks, current: &Landmarks) -> Option<(f32, f32)> {
    let pick = |lm: &Landmarks| [lm[0], lm[1], lm[3], lm[4]];
    let h = homography(&pick(reference), &pick(current))?;
    let predicted = apply(&h, reference[2])?;
    let d = sub(current[2], predicted);
    let eye = sub(current[1], current[0]);
    let ied2 = dot(eye, eye).max(f32::EPSILON);
    let along = dot(d, eye) / ied2;
    let len = dot(d, d).sqrt() / ied2.sqrt();
    (along.is_finite() && len.is_finite()).then_some((along, len))
}

/// Eye-mouth plane width kept, current against reference: the ratio of the two frames' aspect
/// (inter-eye distance over the distance from the eyes' midpoint to the mouth's midpoint).
///
/// A head turned 20-25 degrees keeps most of it (about cos 20 = 0.94, measured 0.82-1.0); a flat
/// picture has to be tilted 45-60 degrees before YuNet's landmarks read a turn that large, and then
/// keeps only about half of it.
pub fn width_kept(reference: &Landmarks, current: &Landmarks) -> f32 {
    let aspect = |lm: &Landmarks| {
        let eyes = [(lm[0][0] + lm[1][0]) / 2.0, (lm[0][1] + lm[1][1]) / 2.0];
        let mouth = [(lm[3][0] + lm[4][0]) / 2.0, (lm[3][1] + lm[4][1]) / 2.0];
        let v = sub(mouth, eyes);
        inter_eye(lm) / dot(v, v).sqrt().max(f32::EPSILON)
    };
    aspect(current) / aspect(reference).max(f32::EPSILON)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRONTAL: Landmarks = [[40.0, 50.0], [70.0, 50.0], [55.0, 68.0], [44.0, 85.0], [66.0, 85.0]];

    fn map(h: &[f64; 9], lm: &Landmarks) -> Landmarks {
        lm.map(|p| apply(h, p).expect("finite"))
    }

    #[test]
    fn turn_is_zero_for_a_centred_nose_and_signed_by_side() {
        assert!(turn(&FRONTAL).abs() < 1e-6);
        let mut lm = FRONTAL;
        lm[2][0] = 61.0;
        assert!((turn(&lm) - 0.2).abs() < 1e-5);
        lm[2][0] = 49.0;
        assert!((turn(&lm) + 0.2).abs() < 1e-5);
    }

    #[test]
    fn any_homography_of_a_flat_face_leaves_no_nose_parallax() {
        // Shift, rotation, scale and a strong perspective tilt: all planar.
        let tilt = [0.9, 0.05, 12.0, -0.08, 1.1, -7.0, 0.002, -0.0015, 1.0];
        let flat = map(&tilt, &FRONTAL);
        let (along, len) = nose_parallax(&FRONTAL, &flat).expect("fit");
        assert!(along.abs() < 1e-3 && len < 1e-3, "{along} {len}");
        let recovered =
            homography(&[FRONTAL[0], FRONTAL[1], FRONTAL[3], FRONTAL[4]], &[flat[0], flat[1], flat[3], flat[4]])
                .expect("fit");
        for (a, b) in recovered.iter().zip(tilt) {
            // The points are f32: a few parts in 1e5.
            assert!((a - b).abs() < 1e-4 * b.abs().max(1.0), "{recovered:?}");
        }
    }

    #[test]
    fn a_nose_moving_against_the_face_plane_shows_parallax_in_its_direction() {
        let mut turned = FRONTAL;
        turned[2][0] += 6.0; // 0.2 inter-eye distances towards the subject's left eye
        let (along, len) = nose_parallax(&FRONTAL, &turned).expect("fit");
        assert!((along - 0.2).abs() < 1e-3 && (len - 0.2).abs() < 1e-3, "{along} {len}");
    }

    #[test]
    fn collinear_points_give_no_fit() {
        let line = [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]];
        assert!(homography(&line, &line).is_none());
    }
}
