package id.salur.app.camera

import id.salur.core.CameraFrame

/**
 * Where the doorstep screen's frames come from: the Camera2 camera on a phone, recorded frames of
 * real people in the JVM tests. Frames arrive on a background thread, one at a time, with the
 * time they were captured (elapsed milliseconds), which the live check judges motion by.
 */
interface FrameSource {
    /** Starts the frames (the caller holds the CAMERA permission); again after [stop]. */
    fun start(onFrame: (frame: CameraFrame, capturedMs: Long) -> Unit)

    /** Stops the frames; returns once no frame is being handled any more. */
    fun stop()

    /** The current picture as a JPEG (the e-KTP photo), or null before the first frame. */
    fun still(): ByteArray?

    /** Stops the camera for good and ends its thread. */
    fun release()
}
