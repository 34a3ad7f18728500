//! The face engine on the server, loaded on first use (most requests never need it): it embeds
//! uploaded evidence crops for the 1:N sweep.

use std::sync::{Arc, Mutex};

use salur_core::face::{decode_crop, FaceConfig, FaceEngine};

use crate::error::ApiError;

/// The lazily loaded engine, shared by every request.
#[derive(Clone, Default)]
pub struct Faces(Arc<Mutex<Option<Arc<FaceEngine>>>>);

impl Faces {
    fn get(&self) -> Result<Arc<FaceEngine>, ApiError> {
        let mut slot = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = slot.as_ref() {
            return Ok(e.clone());
        }
        let engine = Arc::new(
            FaceEngine::bundled(FaceConfig::default()).map_err(|e| ApiError::Internal(format!("face models: {e}")))?,
        );
        *slot = Some(engine.clone());
        Ok(engine)
    }

    /// The embedding of an aligned evidence crop (JPEG), or why there is none; on a blocking thread.
    pub async fn embed(&self, jpeg: Vec<u8>) -> Result<Result<Vec<f32>, String>, ApiError> {
        let faces = self.clone();
        tokio::task::spawn_blocking(move || -> Result<Result<Vec<f32>, String>, ApiError> {
            let engine = faces.get()?;
            Ok(decode_crop(&jpeg).and_then(|crop| engine.embed_crop(&crop)).map_err(|e| e.to_string()))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("embedding task: {e}")))?
    }
}
