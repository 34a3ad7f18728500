package id.salur.app.logic

/**
 * A supervisor override as typed on the screen, checked before it reaches the core (which checks
 * again): the supervisor's id, a reason in words, and the 8-digit approval code the supervisor
 * computed from the phone's challenge with their own secret (the server verifies it).
 */
data class OverrideRequest(val workerId: String, val supervisorId: String, val reason: String, val approvalCode: String = "") {
    /** Why it cannot be recorded yet, or null when it can. */
    fun problem(texts: Texts): String? = when {
        supervisorId.isBlank() || reason.trim().length < 5 -> texts.overrideNeedsReason
        supervisorId.trim().equals(workerId.trim(), ignoreCase = true) -> texts.overrideSameWorker
        !CODE.matches(approvalCode.trim()) -> texts.approvalCodeNeeded
        else -> null
    }

    private companion object {
        val CODE = Regex("[0-9]{8}")
    }
}
