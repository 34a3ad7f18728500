package id.salur.app.lock

/**
 * When the app must ask for the phone's credential again: after [idleMs] without a touch or a
 * camera frame, and always before [maxUnlockedMs] since the last unlock, so that the device key
 * (valid for 30 minutes after an unlock) never runs out in the middle of a payment. Plain logic on
 * a clock the caller passes in (elapsed milliseconds), so it is tested without Android.
 */
class AppLock(private val idleMs: Long, private val maxUnlockedMs: Long = 25 * 60 * 1000L) {
    private var unlockedAt: Long? = null
    private var lastActivity = 0L

    /** Whether the screen must be covered by the lock now. */
    fun locked(now: Long): Boolean {
        val at = unlockedAt ?: return true
        return now - lastActivity >= idleMs || now - at >= maxUnlockedMs
    }

    /** The worker proved who they are (device credential or biometric). */
    fun unlocked(now: Long) {
        unlockedAt = now
        lastActivity = now
    }

    /** A touch, a key, a camera frame: the worker is still there. */
    fun touched(now: Long) {
        if (!locked(now)) lastActivity = now
    }

    /** Locks at once (a signing call found the key needs a fresh unlock). */
    fun lockNow() {
        unlockedAt = null
    }
}
