package id.salur.app.ui

import android.app.Activity
import android.app.Dialog
import android.app.KeyguardManager
import android.content.Intent
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.os.SystemClock
import android.view.MotionEvent
import android.widget.TextView
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * What every screen shares: a coroutine scope whose core calls run on the app's background
 * dispatcher, errors caught and shown in the worker's language, screens kept out of screenshots
 * and Recents, and the app lock (the phone's own credential after idle, which also lets the
 * device key sign again), checked on resume, on every touch and every half minute.
 */
abstract class Screen : Activity() {
    protected val scope: CoroutineScope = MainScope()
    private var covered = false
    private val dialogs = mutableListOf<Dialog>()
    private val ticker = Handler(Looper.getMainLooper())
    private val lockCheck = object : Runnable {
        override fun run() {
            if (app().lock.locked(SystemClock.elapsedRealtime()) && !covered) cover()
            ticker.postDelayed(this, LOCK_CHECK_MS)
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        // The theme is the app's own choice, not the manifest's alone: what runs without the
        // manifest (the tests' Config.NONE) is what ships. The framework's dark default would
        // leave the list text and the field hints near-invisible on the screens' white.
        setTheme(android.R.style.Theme_Material_Light)
        super.onCreate(savedInstanceState)
        secure()
    }

    /** Runs [work] off the UI thread, then [done] on it; an error in either is shown in [status]. */
    protected fun <T> core(status: TextView?, work: suspend () -> T, done: (T) -> Unit = {}): Job = scope.launch {
        runCatching { withContext(app().io) { work() } }
            .mapCatching(done)
            .onFailure { e -> status?.text = app().texts.error(e); onCoreError(e) }
    }

    /** Called after an error was shown. */
    protected open fun onCoreError(e: Throwable) {}

    /** Shows a dialog kept out of screenshots, and closed when the app locks. */
    protected fun show(dialog: Dialog): Dialog {
        dialog.show()
        dialog.window?.setFlags(android.view.WindowManager.LayoutParams.FLAG_SECURE, android.view.WindowManager.LayoutParams.FLAG_SECURE)
        dialog.setOnDismissListener { dialogs.remove(dialog) }
        dialogs += dialog
        return dialog
    }

    override fun onResume() {
        super.onResume()
        if (app().lock.locked(SystemClock.elapsedRealtime())) askUnlock()
        ticker.postDelayed(lockCheck, LOCK_CHECK_MS)
    }

    override fun onPause() {
        ticker.removeCallbacks(lockCheck)
        super.onPause()
    }

    override fun dispatchTouchEvent(ev: MotionEvent?): Boolean {
        val now = SystemClock.elapsedRealtime()
        if (!covered && app().lock.locked(now)) {
            // Left open and idle: the touch goes to the lock, not to the screen under it.
            cover()
            return true
        }
        app().lock.touched(now)
        return super.dispatchTouchEvent(ev)
    }

    /** Hides the screen (and closes its dialogs) until the worker unlocks. */
    private fun cover() {
        dialogs.toList().forEach { it.dismiss() }
        covered = true
        title = app().texts.locked
        setContentView(column(label(app().texts.unlockWhy, 22f), button(app().texts.unlock) { askUnlock() }))
        askUnlock()
    }

    private fun askUnlock() {
        val t = app().texts
        val keyguard = getSystemService(KeyguardManager::class.java)
        if (!keyguard.isDeviceSecure) {
            // Without a screen lock the device key cannot be bound to the worker: nothing to unlock with.
            covered = true
            title = t.locked
            setContentView(column(label(t.screenLockNeeded, 22f)))
            return
        }
        @Suppress("DEPRECATION")
        val intent = keyguard.createConfirmDeviceCredentialIntent(t.locked, t.unlockWhy)
        if (intent == null) app().lock.unlocked(SystemClock.elapsedRealtime()) else startActivityForResult(intent, UNLOCK)
    }

    @Deprecated("Deprecated in Java")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        @Suppress("DEPRECATION")
        super.onActivityResult(requestCode, resultCode, data)
        if (requestCode != UNLOCK) return
        if (resultCode == RESULT_OK) {
            app().lock.unlocked(SystemClock.elapsedRealtime())
            // The screen was replaced by the lock's message: build it again.
            if (covered) recreate()
        } else {
            covered = true
            title = app().texts.locked
            setContentView(column(label(app().texts.unlockWhy, 22f), button(app().texts.unlock) { askUnlock() }))
        }
    }

    override fun onDestroy() {
        ticker.removeCallbacks(lockCheck)
        scope.cancel()
        super.onDestroy()
    }

    companion object {
        const val UNLOCK = 7001
        private const val LOCK_CHECK_MS = 30_000L
    }
}
