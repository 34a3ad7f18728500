package id.salur.app.ui

import android.app.Activity
import android.app.KeyguardManager
import android.content.Intent
import android.os.SystemClock
import android.view.MotionEvent
import android.widget.TextView
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * What every screen shares: a coroutine scope whose core calls run on the app's background
 * dispatcher, errors caught and shown in the worker's language, and the app lock (the phone's
 * own credential after idle, which also lets the device key sign again).
 */
abstract class Screen : Activity() {
    protected val scope: CoroutineScope = MainScope()
    private var covered = false

    /** Runs [work] off the UI thread, then [done] on it; an error is shown in [status]. */
    protected fun <T> core(status: TextView?, work: suspend () -> T, done: (T) -> Unit = {}) = scope.launch {
        runCatching { withContext(app().io) { work() } }
            .onSuccess(done)
            .onFailure { e -> status?.text = app().texts.error(e); onCoreError(e) }
    }

    /** Called after an error was shown. */
    protected open fun onCoreError(e: Throwable) {}

    override fun onResume() {
        super.onResume()
        if (app().lock.locked(SystemClock.elapsedRealtime())) askUnlock()
    }

    override fun dispatchTouchEvent(ev: MotionEvent?): Boolean {
        app().lock.touched(SystemClock.elapsedRealtime())
        return super.dispatchTouchEvent(ev)
    }

    private fun askUnlock() {
        val t = app().texts
        val keyguard = getSystemService(KeyguardManager::class.java)
        if (!keyguard.isDeviceSecure) {
            // Without a screen lock the device key cannot be bound to the worker: nothing to unlock with.
            covered = true
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
            setContentView(column(label(app().texts.unlockWhy, 22f), button(app().texts.unlock) { askUnlock() }))
        }
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    companion object {
        const val UNLOCK = 7001
    }
}
