package id.salur.app.logic

/** A supervisor override as typed on the screen, checked before it reaches the core. */
data class OverrideRequest(val workerId: String, val supervisorId: String, val reason: String) {
    /** Why it cannot be recorded yet, or null when it can. */
    fun problem(texts: Texts): String? = when {
        supervisorId.isBlank() || reason.trim().length < 5 -> texts.overrideNeedsReason
        supervisorId.trim().equals(workerId.trim(), ignoreCase = true) -> texts.overrideSameWorker
        else -> null
    }
}
