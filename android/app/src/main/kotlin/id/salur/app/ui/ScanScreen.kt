package id.salur.app.ui

import android.Manifest
import android.content.pm.PackageManager
import android.os.Bundle
import android.os.SystemClock
import android.view.TextureView
import android.view.View
import android.widget.FrameLayout
import android.widget.TextView
import id.salur.app.camera.FrameSource
import id.salur.core.CameraFrame

/**
 * A screen that reads a QR code from the camera: the preview takes what the screen has, the
 * instruction over it, a refusal under it (both in view on a small phone without scrolling). The
 * core reads each frame on the camera thread ([read]); [show] answers on the UI thread and calls
 * [done] once the code is used, after which no frame is read.
 */
abstract class ScanScreen<T> : Screen() {
    private var camera: FrameSource? = null
    protected lateinit var hint: TextView
    protected lateinit var problem: TextView
    @Volatile private var finished = false
    private var cameraOn = false

    /** The screen's title and the instruction over the preview. */
    protected abstract fun texts(): Pair<String, String>

    /** The core's reading of one frame (camera thread). */
    protected abstract fun read(frame: CameraFrame): T

    /** What the screen does with a reading (UI thread). */
    protected abstract fun show(reading: T)

    /** Stops reading: the code has been used. */
    protected fun done() { finished = true }

    /** Shows [text] under the preview in the warning colour. */
    protected fun refuse(text: String) {
        problem.text = text
        problem.visibility = View.VISIBLE
    }

    /** Whether the screen can scan now (else it closes at once). */
    protected open fun ready(): Boolean = true

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        if (!ready()) return finish()
        val (screenTitle, instruction) = texts()
        title = screenTitle
        val preview = TextureView(this).apply { contentDescription = screenTitle }
        hint = overPreview(instruction)
        problem = label("", 20f).apply { setTextColor(WARNING); visibility = View.GONE; setPadding(dp(16), dp(8), dp(16), dp(8)) }
        val cameraPart = FrameLayout(this).apply {
            addView(preview, FrameLayout.LayoutParams(FrameLayout.LayoutParams.MATCH_PARENT, FrameLayout.LayoutParams.MATCH_PARENT))
            addView(hint, FrameLayout.LayoutParams(FrameLayout.LayoutParams.MATCH_PARENT, FrameLayout.LayoutParams.WRAP_CONTENT, android.view.Gravity.BOTTOM))
        }
        setContentView(android.widget.LinearLayout(this).apply {
            orientation = android.widget.LinearLayout.VERTICAL
            setBackgroundColor(android.graphics.Color.WHITE)
            addView(cameraPart, android.widget.LinearLayout.LayoutParams(android.widget.LinearLayout.LayoutParams.MATCH_PARENT, 0, 1f))
            addView(problem)
        })
        camera = app().camera(this, preview)
        if (hasCamera()) startCamera() else requestPermissions(arrayOf(Manifest.permission.CAMERA), PERMISSION_REQUEST)
    }

    private fun hasCamera() = checkSelfPermission(Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED

    @Deprecated("Deprecated in Java")
    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        if (requestCode != PERMISSION_REQUEST) return
        if (hasCamera()) startCamera() else hint.text = app().texts.cameraNeeded
    }

    override fun onResume() {
        super.onResume()
        if (::hint.isInitialized && hasCamera() && !cameraOn && !finished) startCamera()
    }

    private fun startCamera() {
        cameraOn = true
        camera?.start { frame, _ ->
            // Camera thread: the core reads the code here, never on the UI thread.
            if (finished) return@start
            app().lock.touched(SystemClock.elapsedRealtime())
            val reading = runCatching { read(frame) }
            runOnUiThread {
                if (finished || isFinishing) return@runOnUiThread
                reading.fold(::show) { e -> refuse(app().texts.error(e)) }
            }
        }
    }

    override fun onPause() {
        if (cameraOn) { cameraOn = false; camera?.stop() }
        super.onPause()
    }

    override fun onDestroy() {
        camera?.release()
        super.onDestroy()
    }

    companion object {
        private const val PERMISSION_REQUEST = 2
    }
}
