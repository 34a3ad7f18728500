package id.salur.app.logic

import id.salur.core.ErrorKind
import id.salur.core.FaceCheck
import id.salur.core.FaceDecision
import id.salur.core.SalurException

/** What the doorstep screen shows. */
sealed interface DoorstepState {
    /** Waiting for a good frame. */
    data class Framing(val hint: String) : DoorstepState
    /** The face matches: the worker may confirm the payment. */
    data class Matched(val check: FaceCheck, val score: Float) : DoorstepState
    /** Unsure: take another capture. */
    data class Retry(val message: String, val score: Float) : DoorstepState
    /** Another person: do not pay. */
    data class Rejected(val message: String, val score: Float) : DoorstepState
}

/**
 * The doorstep decision over successive camera checks: capture problems become hints, a match
 * allows payment, and after [maxFailures] failed checks of a genuine-looking visit the screen
 * offers the supervisor override (flagged for audit) so a real recipient is never simply turned away.
 */
class DoorstepFlow(private val texts: Texts, private val maxFailures: Int = 3) {
    var state: DoorstepState = DoorstepState.Framing(texts.holdInOval)
        private set
    var failures = 0
        private set

    /** The last face check that ran (kept with an override as evidence of what the camera saw). */
    var lastCheck: FaceCheck? = null
        private set

    /** Whether the supervisor override is offered. */
    val overrideOffered: Boolean get() = failures >= maxFailures && state !is DoorstepState.Matched

    /** Whether the payment may be confirmed (only on a match). */
    val canPay: Boolean get() = state is DoorstepState.Matched

    /** Takes the outcome of one `FaceEngine.checkFrame` / `checkImage` call. */
    fun onCheck(result: Result<FaceCheck>): DoorstepState {
        val check = result.getOrElse { error ->
            failures++
            val kind = (error as? SalurException.Failed)?.kind
            state = DoorstepState.Framing(hintFor(kind) ?: (error as? SalurException.Failed)?.hint ?: texts.holdInOval)
            return state
        }
        lastCheck = check
        val r = check.result()
        state = when (r.outcome) {
            FaceDecision.ACCEPT -> DoorstepState.Matched(check, r.score)
            FaceDecision.RETRY -> DoorstepState.Retry(texts.retry, r.score).also { failures++ }
            FaceDecision.REJECT -> DoorstepState.Rejected(texts.rejected, r.score).also { failures++ }
        }
        return state
    }

    /** The hint for a capture problem the core reported. */
    fun hintFor(kind: ErrorKind?): String? = when (kind) {
        ErrorKind.NO_FACE -> texts.noFace
        ErrorKind.MULTIPLE_FACES -> texts.twoFaces
        ErrorKind.FACE_TOO_SMALL -> texts.tooFar
        ErrorKind.TOO_DARK -> texts.tooDark
        ErrorKind.TOO_BLURRY -> texts.blurry
        else -> null
    }
}
