// The screens' plain logic on the JVM, against the real host-built core and the project's photos.
package id.salur.app

import id.salur.app.lock.AppLock
import id.salur.app.logic.DoorstepFlow
import id.salur.app.logic.DoorstepState
import id.salur.app.logic.OverrideRequest
import id.salur.app.logic.RosterSummary
import id.salur.app.logic.SyncStatusText
import id.salur.app.logic.Texts
import id.salur.core.CameraFrame
import id.salur.core.test.TestFrames
import id.salur.core.ErrorKind
import id.salur.core.FaceEngine
import id.salur.core.HeadMove
import id.salur.core.LiveFailure
import id.salur.core.LiveHint
import id.salur.core.RecipientItem
import id.salur.core.RecipientStatus
import id.salur.core.ReferenceKind
import id.salur.core.SyncStatus
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File

class LogicTest {
    private val root = File(System.getProperty("salur.root"))
    private val engine by lazy { FaceEngine.fromDir(File(root, "models").path, 320u) }
    private val id = Texts(english = false)
    private val en = Texts(english = true)
    private fun photo(rel: String) = File(root, "test-vectors/faces/$rel").readBytes()

    private fun frame(file: File): CameraFrame = TestFrames.nv21(file)

    private val headTurn by lazy {
        File(root, "test-vectors/liveness/motion/lp_d12").listFiles { f -> f.name.endsWith(".jpg") }!!.sorted().map(::frame)
    }

    /**
     * Runs one visit through the flow: `frames` as given, or (null) a person doing what the screen
     * asks: lp_d12's frame 2 facing the camera until a turn is asked, then its frames 11-17 turning
     * left or 24-33 turning right, 120 ms a frame.
     */
    private fun visit(flow: DoorstepFlow, template: ByteArray, frames: List<CameraFrame>?): DoorstepState {
        val session = engine.startVisit(template, ReferenceKind.REGISTRY)
        flow.onNewVisit()
        var t = 0uL
        val given = frames?.let { ArrayDeque(it) }
        val next = ArrayDeque<CameraFrame>()
        repeat(400) {
            val f = if (given != null) given.removeFirstOrNull() ?: return flow.state else next.removeFirstOrNull() ?: headTurn[2]
            val result = runCatching { session.pushFrame(f, t) }
            t += 120uL
            val state = flow.onProgress(result) { session.check() }
            if (flow.visitEnded) return state
            if (given == null && next.isEmpty()) when (result.getOrNull()?.hint) {
                LiveHint.TURN_LEFT -> next.addAll(headTurn.subList(11, 18))
                LiveHint.TURN_RIGHT -> next.addAll(headTurn.subList(24, 34))
                else -> {}
            }
        }
        return flow.state
    }

    @Test
    fun a_roster_is_titled_by_its_programme_and_period() {
        assertEquals("BLT · Desember 2026", id.programmeTitle("blt-2026-12"))
        assertEquals("BLT · January 2027", en.programmeTitle("blt-2027-01"))
        assertEquals("PKH · Triwulan IV 2026", id.programmeTitle("pkh-2026-q4"))
        assertEquals("PKH · Quarter I 2026 · 3 recipients · Rp900.000", en.rosterLine("pkh-2026-q1", 3, 900_000))
        // Not a month, or another shape: the id as it is rather than a wrong title.
        assertEquals("blt-2026-13", id.programmeTitle("blt-2026-13"))
        assertEquals("uji coba", id.programmeTitle("uji coba"))
    }

    @Test
    fun the_live_visit_prompts_then_a_live_match_allows_payment() {
        val flow = DoorstepFlow(en)
        val reference = engine.templateFromCard(File(root, "test-vectors/liveness/motion/lp_d12/0060.jpg").readBytes())
        // A frame with no face is a hint, not a failure.
        val coffee = frame(File(root, "test-vectors/faces/noface/skimage_coffee.jpg"))
        val session = engine.startVisit(reference, ReferenceKind.REGISTRY)
        val first = flow.onProgress(runCatching { session.pushFrame(coffee, 0uL) }) { session.check() }
        assertTrue(first is DoorstepState.Framing)
        assertEquals(0, flow.failures)
        val matched = visit(flow, reference, null)
        assertTrue("$matched", matched is DoorstepState.Matched)
        assertTrue(flow.canPay)
        assertFalse("no override once matched", flow.overrideOffered)
    }

    @Test
    fun a_held_up_photo_fails_the_live_check_never_pays_and_opens_no_override_but_failed_comparisons_do() {
        val flow = DoorstepFlow(id, maxFailures = 2)
        val reference = engine.templateFromCard(File(root, "test-vectors/liveness/motion/lp_d12/0060.jpg").readBytes())
        // The recipient's own photo held still in front of the camera for 12 seconds.
        val still = frame(File(root, "test-vectors/liveness/motion/lp_d12/0000.jpg"))
        repeat(2) {
            val state = visit(flow, reference, List(100) { still })
            assertTrue("$state", state is DoorstepState.LiveFailed)
            // A photo held up must not open a way round the camera.
            assertFalse(flow.overrideOffered)
        }
        assertFalse(flow.canPay)
        assertEquals(0, flow.failures)
        // Another person who does the challenge is live but not the recipient: completed
        // comparisons that fail do open the supervisor override.
        val other = engine.templateFromCard(File(root, "test-vectors/faces/same/fr_obama/1.jpg").readBytes())
        val rejected = DoorstepFlow(id, maxFailures = 2)
        assertTrue(visit(rejected, other, null) is DoorstepState.Rejected)
        assertFalse(rejected.overrideOffered)
        assertTrue(visit(rejected, other, null) is DoorstepState.Rejected)
        assertTrue(rejected.overrideOffered)
        assertFalse(rejected.canPay)
        assertEquals(id.liveFailure(LiveFailure.SPOOF), id.liveFailure(LiveFailure.FLAT_PICTURE))
        assertTrue(id.liveHint(LiveHint.TURN_LEFT).contains("kiri"))
    }

    private fun item(name: String, status: RecipientStatus) =
        RecipientItem("blt", name.lowercase(), "3171", name, "Jl. $name", 600_000uL, true, status)

    @Test
    fun roster_counts_and_visit_order() {
        val items = listOf(item("Wati", RecipientStatus.PAID), item("Budi", RecipientStatus.NOT_HOME),
            item("Siti", RecipientStatus.TO_DO), item("Agus", RecipientStatus.INELIGIBLE), item("Ani", RecipientStatus.TO_DO))
        val c = RosterSummary.counts(items)
        assertEquals(listOf(1, 3, 1, 1), listOf(c.paid, c.toDo, c.ineligible, c.notHome))
        assertEquals(listOf("Ani", "Siti", "Budi", "Agus", "Wati"), RosterSummary.visitOrder(items).map { it.name })
        assertEquals("Dibayar 1 · Belum 3", id.counts(c.paid, c.toDo))
        assertEquals("Tidak di rumah", RosterSummary.label(id, RecipientStatus.NOT_HOME))
    }

    @Test
    fun sync_status_lines_say_what_waits_and_what_failed() {
        val now = 1_800_000_000_000L
        val waiting = SyncStatus(3uL, 10uL, 1uL, now - 2 * 3_600_000, now - 30 * 60_000, "No connection", ErrorKind.NETWORK, 2uL)
        assertEquals(
            listOf("3 waiting to upload", "Oldest waiting 2 h", "Last upload 30 min ago",
                "1 refused by the server: tell your supervisor", en.evidenceRefused(2)),
            SyncStatusText.lines(en, waiting, now),
        )
        assertEquals(en.error(ErrorKind.NETWORK), SyncStatusText.problem(en, waiting))
        val done = SyncStatus(0uL, 10uL, 0uL, null, null, null, null, 0uL)
        assertEquals(listOf("Semua sudah terunggah", "Belum pernah terunggah"), SyncStatusText.lines(id, done, now))
        assertEquals(null, SyncStatusText.problem(id, done))
    }

    @Test
    fun an_override_needs_another_person_and_a_reason() {
        assertEquals(en.overrideNeedsReason, OverrideRequest("pos-1", "", "elderly").problem(en))
        assertEquals(en.overrideNeedsReason, OverrideRequest("pos-1", "spv-9", "old").problem(en))
        assertEquals(en.overrideSameWorker, OverrideRequest("pos-1", "POS-1", "elderly, cannot stand").problem(en))
        assertEquals(en.approvalCodeNeeded, OverrideRequest("pos-1", "spv-9", "elderly, cannot stand").problem(en))
        assertEquals(en.approvalCodeNeeded, OverrideRequest("pos-1", "spv-9", "elderly, cannot stand", "1234567a").problem(en))
        assertNull(OverrideRequest("pos-1", "spv-9", "elderly, cannot stand", "04718253").problem(en))
        // Every error kind of the core has words for the worker, in both languages.
        for (kind in ErrorKind.values()) {
            assertTrue(id.error(kind).isNotBlank() && id.error(kind) != en.error(kind))
        }
        assertEquals("Rp600.000", id.amount(600_000))
        assertEquals("Rp1.250.000", id.amount(1_250_000))
    }

    @Test
    fun the_app_lock_asks_again_after_idle_and_before_the_key_runs_out() {
        val lock = AppLock(idleMs = 5 * 60_000L, maxUnlockedMs = 25 * 60_000L)
        assertTrue("locked until the first unlock", lock.locked(0))
        lock.unlocked(1_000)
        assertFalse(lock.locked(1_000 + 4 * 60_000))
        // Work goes on: each touch keeps it open, but not past the key's window.
        var now = 1_000L
        repeat(20) { now += 60_000; lock.touched(now); assertFalse("minute ${it + 1}", lock.locked(now)) }
        now += 6 * 60_000
        assertTrue("25 minutes after the unlock", lock.locked(now))
        lock.unlocked(now)
        assertTrue("five idle minutes", lock.locked(now + 5 * 60_000))
        // A touch while locked does not unlock.
        lock.touched(now + 6 * 60_000)
        assertTrue(lock.locked(now + 6 * 60_000))
        lock.unlocked(now + 7 * 60_000)
        lock.lockNow()
        assertTrue(lock.locked(now + 7 * 60_000))
    }
}
