package id.salur.app.ui

import android.Manifest
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Bundle
import android.os.SystemClock
import android.view.TextureView
import android.view.View
import android.widget.FrameLayout
import android.widget.TextView
import id.salur.app.camera.FrameSource
import id.salur.core.LetterScan

/**
 * The door starts from the recipient's invitation letter: the camera on its QR code, the core
 * verifies it offline with the roster's programme key and opens that recipient's doorstep. A
 * forged, altered, other-period or other-worker letter is refused with what to do instead, and the
 * camera keeps looking (the next letter may be the right one).
 */
class LetterScanActivity : Screen() {
    private var camera: FrameSource? = null
    private lateinit var roster: String
    private lateinit var hint: TextView
    private lateinit var problem: TextView
    @Volatile private var opened = false
    private var cameraOn = false

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val t = app().texts
        title = t.scanLetter
        roster = app().prefs.getString("roster_id", null) ?: return finish()
        val preview = TextureView(this).apply { contentDescription = t.scanLetter }
        // The preview takes what the screen has; the instruction over it, the refusal under it,
        // both in view on a small phone without scrolling.
        hint = overPreview(t.scanLetterHint)
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
        if (::hint.isInitialized && hasCamera() && !cameraOn && !opened) startCamera()
    }

    private fun startCamera() {
        cameraOn = true
        camera?.start { frame, _ ->
            // Camera thread: the core reads and verifies the code here, never on the UI thread.
            if (opened) return@start
            app().lock.touched(SystemClock.elapsedRealtime())
            val scan = runCatching { app().phone.scanLetter(roster, frame) }
            runOnUiThread { show(scan) }
        }
    }

    private fun show(scan: Result<LetterScan>) {
        if (opened || isFinishing) return
        val t = app().texts
        when (val s = scan.getOrElse { e -> problem.text = t.error(e); problem.visibility = View.VISIBLE; return }) {
            is LetterScan.NoCode -> {}
            is LetterScan.Refused -> {
                problem.text = t.letterProblem(s.problem)
                problem.visibility = View.VISIBLE
            }
            is LetterScan.Opened -> {
                opened = true
                val r = s.recipient
                hint.text = t.letterOpened(s.letterId)
                problem.visibility = View.GONE
                startActivity(Intent(this, DoorstepActivity::class.java)
                    .putExtra("recipient_ref", r.recipientRef).putExtra("name", r.name)
                    .putExtra("address", r.address).putExtra("amount", r.amount.toLong())
                    .putExtra("letter_id", s.letterId))
                finish()
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
