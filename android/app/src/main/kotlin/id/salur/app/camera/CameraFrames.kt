package id.salur.app.camera

import android.annotation.SuppressLint
import android.content.Context
import android.graphics.Bitmap
import android.graphics.ImageFormat
import android.graphics.SurfaceTexture
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraManager
import android.hardware.camera2.CaptureRequest
import android.media.Image
import android.media.ImageReader
import android.os.Handler
import android.os.HandlerThread
import android.os.SystemClock
import android.view.Surface
import android.view.TextureView
import id.salur.core.CameraFrame
import java.io.ByteArrayOutputStream
import java.util.concurrent.atomic.AtomicBoolean

/**
 * Camera2 preview plus YUV_420_888 frames for the core, on a background thread. A frame is handed
 * on only when the previous one has been processed, so a slow phone never queues frames.
 */
class CameraFrames(private val context: Context, private val preview: TextureView) : FrameSource {
    private val thread = HandlerThread("salur-camera").apply { start() }
    private val handler = Handler(thread.looper)
    private val busy = AtomicBoolean(false)
    private var device: CameraDevice? = null
    private var reader: ImageReader? = null

    override fun start(onFrame: (frame: CameraFrame, capturedMs: Long) -> Unit) {
        val texture = preview.surfaceTexture
        if (texture != null) return open(texture, onFrame)
        preview.surfaceTextureListener = object : TextureView.SurfaceTextureListener {
            override fun onSurfaceTextureAvailable(surface: SurfaceTexture, width: Int, height: Int) = open(surface, onFrame)
            override fun onSurfaceTextureSizeChanged(surface: SurfaceTexture, width: Int, height: Int) {}
            override fun onSurfaceTextureDestroyed(surface: SurfaceTexture): Boolean { closeCamera(); return true }
            override fun onSurfaceTextureUpdated(surface: SurfaceTexture) {}
        }
    }

    override fun still(): ByteArray? {
        val bmp = preview.bitmap ?: return null
        return ByteArrayOutputStream().also { bmp.compress(Bitmap.CompressFormat.JPEG, 90, it) }.toByteArray()
    }

    /** Opens the back camera. */
    @SuppressLint("MissingPermission")
    private fun open(texture: SurfaceTexture, onFrame: (CameraFrame, Long) -> Unit) {
        val manager = context.getSystemService(CameraManager::class.java)
        val id = manager.cameraIdList.first {
            manager.getCameraCharacteristics(it).get(CameraCharacteristics.LENS_FACING) == CameraCharacteristics.LENS_FACING_BACK
        }
        val rotation = manager.getCameraCharacteristics(id).get(CameraCharacteristics.SENSOR_ORIENTATION) ?: 90
        // 640x480 is plenty for the 320 detector input and cheap to convert on low-end phones.
        val imageReader = ImageReader.newInstance(640, 480, ImageFormat.YUV_420_888, 2)
        imageReader.setOnImageAvailableListener({ r ->
            val image = r.acquireLatestImage() ?: return@setOnImageAvailableListener
            image.use {
                if (busy.compareAndSet(false, true)) {
                    val frame = toFrame(it, rotation)
                    val at = it.timestamp / 1_000_000
                    try { onFrame(frame, if (at > 0) at else SystemClock.elapsedRealtime()) } finally { busy.set(false) }
                }
            }
        }, handler)
        reader = imageReader
        texture.setDefaultBufferSize(640, 480)
        val previewSurface = Surface(texture)
        manager.openCamera(id, object : CameraDevice.StateCallback() {
            override fun onOpened(camera: CameraDevice) {
                device = camera
                val request = camera.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW).apply {
                    addTarget(previewSurface)
                    addTarget(imageReader.surface)
                    set(CaptureRequest.CONTROL_AF_MODE, CaptureRequest.CONTROL_AF_MODE_CONTINUOUS_PICTURE)
                }
                @Suppress("DEPRECATION")
                camera.createCaptureSession(listOf(previewSurface, imageReader.surface), object : CameraCaptureSession.StateCallback() {
                    override fun onConfigured(session: CameraCaptureSession) {
                        session.setRepeatingRequest(request.build(), null, handler)
                    }
                    override fun onConfigureFailed(session: CameraCaptureSession) = closeCamera()
                }, handler)
            }
            override fun onDisconnected(camera: CameraDevice) = closeCamera()
            override fun onError(camera: CameraDevice, error: Int) = closeCamera()
        }, handler)
    }

    override fun stop() {
        // On the camera thread, after any frame in progress: the reader is never closed under it.
        val done = java.util.concurrent.CountDownLatch(1)
        if (!handler.post { closeCamera(); done.countDown() }) return closeCamera()
        done.await(2, java.util.concurrent.TimeUnit.SECONDS)
    }

    private fun closeCamera() {
        device?.close()
        device = null
        reader?.close()
        reader = null
    }

    override fun release() {
        stop()
        thread.quitSafely()
        thread.join(2_000)
    }

    companion object {
        private fun bytes(plane: Image.Plane): ByteArray {
            val buffer = plane.buffer
            return ByteArray(buffer.remaining()).also { buffer.get(it) }
        }

        /** The planes as the core takes them (strides kept; the core handles NV21 and I420 layouts). */
        fun toFrame(image: Image, rotationDegrees: Int): CameraFrame {
            val (y, u, v) = image.planes
            return CameraFrame(
                width = image.width.toUInt(),
                height = image.height.toUInt(),
                rotationDegrees = rotationDegrees.toUInt(),
                y = bytes(y),
                yRowStride = y.rowStride.toUInt(),
                u = bytes(u),
                v = bytes(v),
                uvRowStride = u.rowStride.toUInt(),
                uvPixelStride = u.pixelStride.toUInt(),
            )
        }
    }
}
