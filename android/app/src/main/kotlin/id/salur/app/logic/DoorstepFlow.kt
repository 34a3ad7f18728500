package id.salur.app.logic

import id.salur.core.FaceCheck
import id.salur.core.FaceDecision
import id.salur.core.LiveProgress
import id.salur.core.SalurException

/** What the doorstep screen shows. */
sealed interface DoorstepState {
    /** Waiting for frames: what to tell the recipient (face the camera, turn left...). */
    data class Framing(val hint: String) : DoorstepState
    /** A live person whose face matches: the worker may confirm the payment. */
    data class Matched(val check: FaceCheck, val score: Float) : DoorstepState
    /** Live, but unsure of the face: run the visit again. */
    data class Retry(val message: String, val score: Float) : DoorstepState
    /** Another person: do not pay. */
    data class Rejected(val message: String, val score: Float) : DoorstepState
    /** The live check failed (a photo, a screen, not done in time): run the visit again. */
    data class LiveFailed(val message: String) : DoorstepState
}

/**
 * The doorstep screen over one live visit at a time (the core's `LiveSession`): the core picks
 * the challenge and judges each frame; this class turns its answers into what the screen shows.
 * Capture problems (no face, two faces) are hints and count for nothing, and neither does a
 * failed live check (a photo held up must not open a way round the camera): only after
 * [maxFailures] completed face comparisons that did not verify is the supervisor override for
 * "face not verified" offered. The override for a recipient who cannot do the live check is
 * always there; both need the supervisor's own approval code.
 */
class DoorstepFlow(private val texts: Texts, private val maxFailures: Int = 3) {
    var state: DoorstepState = DoorstepState.Framing(texts.holdInOval)
        private set
    /** Completed face comparisons that did not verify. */
    var failures = 0
        private set

    /** The last completed face check (kept with an override as evidence of what the camera saw). */
    var lastCheck: FaceCheck? = null
        private set

    /** The current visit ended: the screen starts a new one (with a new random challenge). */
    var visitEnded = false
        private set

    /** Whether the "face not verified" override is offered. */
    val overrideOffered: Boolean get() = failures >= maxFailures && state !is DoorstepState.Matched

    /** Whether the payment may be confirmed (only on the core's acceptance: live and matched). */
    val canPay: Boolean get() = (state as? DoorstepState.Matched)?.check?.accepted() == true

    /** A new visit started. */
    fun onNewVisit() {
        visitEnded = false
        state = DoorstepState.Framing(texts.holdInOval)
    }

    /** Takes the answer of one `LiveSession.pushFrame`; `check` reads the visit's face check. */
    fun onProgress(result: Result<LiveProgress>, check: () -> FaceCheck?): DoorstepState {
        val p = result.getOrElse { error ->
            val failed = error as? SalurException.Failed
            // Capture problems (no face, too dark...) and faults alike: the text for the core's kind.
            state = DoorstepState.Framing(failed?.let { texts.error(it.kind) } ?: texts.holdInOval)
            return state
        }
        if (!p.finished) {
            state = DoorstepState.Framing(p.hint?.let(texts::liveHint) ?: texts.holdInOval)
            return state
        }
        visitEnded = true
        val failure = p.failure
        if (failure != null) {
            state = DoorstepState.LiveFailed(texts.liveFailure(failure))
            return state
        }
        val c = check() ?: return DoorstepState.LiveFailed(texts.startAgain).also { state = it }
        lastCheck = c
        val r = c.result()
        state = when {
            c.accepted() -> DoorstepState.Matched(c, r.score)
            r.outcome == FaceDecision.RETRY -> DoorstepState.Retry(texts.retry, r.score).also { failures++ }
            else -> DoorstepState.Rejected(texts.rejected, r.score).also { failures++ }
        }
        return state
    }
}
