package id.salur.app.ui

import android.app.Activity
import android.app.AlertDialog
import android.app.KeyguardManager
import android.content.Intent
import android.os.Looper
import android.view.View
import android.view.ViewGroup
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import org.junit.Assert.assertNotNull
import org.junit.Assert.fail
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowDialog

/** Drives the real screens: starts them, waits for their background work, reads and taps them. */
object Robo {
    /** Runs the main looper until [done] holds (background core calls post back to it). */
    fun waitUntil(what: String, timeoutMs: Long = 20_000, done: () -> Boolean) {
        val end = System.currentTimeMillis() + timeoutMs
        while (System.currentTimeMillis() < end) {
            shadowOf(Looper.getMainLooper()).idle()
            if (done()) return
            Thread.sleep(10)
        }
        if (System.getenv("SALUR_DUMP") != null) {
            for ((th, st) in Thread.getAllStackTraces()) if (st.any { it.className.startsWith("id.salur") }) {
                System.err.println("--- ${th.name}"); st.take(25).forEach { System.err.println("    $it") }
            }
        }
        fail("timed out waiting for: $what")
    }

    /** Starts a screen as Android would, and answers the app lock's credential prompt with the phone's PIN. */
    fun <T : Activity> launch(cls: Class<T>, intent: Intent? = null): T {
        val keyguard = RuntimeEnvironment.getApplication().getSystemService(KeyguardManager::class.java)
        shadowOf(keyguard).setIsDeviceSecure(true)
        val controller = if (intent == null) Robolectric.buildActivity(cls) else Robolectric.buildActivity(cls, intent)
        val activity = controller.setup().get()
        unlockIfAsked(activity)
        return activity
    }

    /** Answers a pending credential prompt as a worker who typed the right PIN. */
    fun unlockIfAsked(activity: Activity): Boolean {
        val asked = shadowOf(activity).peekNextStartedActivityForResult() ?: return false
        if (asked.intent.action != KeyguardManager.ACTION_CONFIRM_DEVICE_CREDENTIAL) return false
        shadowOf(activity).nextStartedActivityForResult
        shadowOf(activity).receiveResult(asked.intent, Activity.RESULT_OK, null)
        return true
    }

    /** The screen the activity started next (skipping the lock's prompt). */
    fun next(activity: Activity, what: String): Intent {
        var intent: Intent? = null
        waitUntil(what) {
            intent = shadowOf(activity).nextStartedActivity
            while (intent?.action == KeyguardManager.ACTION_CONFIRM_DEVICE_CREDENTIAL) intent = shadowOf(activity).nextStartedActivity
            intent != null
        }
        return intent!!
    }

    fun views(root: View): List<View> = if (root is ViewGroup) listOf(root) + (0 until root.childCount).flatMap { views(root.getChildAt(it)) } else listOf(root)

    fun views(activity: Activity): List<View> = views(activity.window.decorView)

    /** Every text the screen shows (visible views only). */
    fun texts(root: View): List<String> = views(root).filter { it.isShown }.filterIsInstance<TextView>().map { it.text.toString() }

    fun texts(activity: Activity) = texts(activity.window.decorView)

    fun shows(activity: Activity, text: String) = texts(activity).any { it.contains(text) }

    fun button(root: View, text: String): Button =
        views(root).filterIsInstance<Button>().firstOrNull { it.text.toString() == text && it.isShown }
            ?: throw AssertionError("no button \"$text\" among ${texts(root)}")

    fun button(activity: Activity, text: String) = button(activity.window.decorView, text)

    fun tap(activity: Activity, text: String) = tap(button(activity, text))

    fun tap(b: Button) {
        check(b.isEnabled) { "button \"${b.text}\" is disabled" }
        b.performClick()
        shadowOf(Looper.getMainLooper()).idle()
    }

    /** Types into the field whose hint is [hint]. */
    fun type(root: View, hint: String, text: String) {
        val f = views(root).filterIsInstance<EditText>().firstOrNull { it.hint?.toString() == hint }
        assertNotNull("no field \"$hint\"", f)
        f!!.setText(text)
    }

    /** The dialog on top, if any. */
    fun dialog(): AlertDialog? = ShadowDialog.getLatestDialog() as? AlertDialog

    fun dialogView(): View = dialog()?.window?.decorView ?: throw AssertionError("no dialog is showing")
}
