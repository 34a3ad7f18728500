// The screens' plain logic on the JVM, against the real host-built core and the project's photos.
package id.salur.app

import id.salur.app.logic.DoorstepFlow
import id.salur.app.logic.DoorstepState
import id.salur.app.logic.OverrideRequest
import id.salur.app.logic.RosterSummary
import id.salur.app.logic.SyncStatusText
import id.salur.app.logic.Texts
import id.salur.core.ErrorKind
import id.salur.core.FaceEngine
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

    @Test
    fun doorstep_hints_then_match_allows_payment() {
        val flow = DoorstepFlow(en)
        val reference = engine.templateFromCard(photo("same/fr_biden/1.jpg"))
        fun check(rel: String) = flow.onCheck(runCatching { engine.checkImage(reference, ReferenceKind.REGISTRY, photo(rel)) })
        assertEquals(DoorstepState.Framing(en.noFace), check("noface/skimage_coffee.jpg"))
        assertEquals(DoorstepState.Framing(en.twoFaces), check("multi/fr_obama_and_biden.jpg"))
        assertFalse(flow.canPay)
        val matched = check("same/fr_biden/2.jpg")
        assertTrue(matched is DoorstepState.Matched)
        assertTrue(flow.canPay)
        assertFalse("no override once matched", flow.overrideOffered)
    }

    @Test
    fun repeated_failures_offer_the_supervisor_override_but_never_payment() {
        val flow = DoorstepFlow(id, maxFailures = 3)
        val reference = engine.templateFromCard(photo("same/fr_biden/1.jpg"))
        repeat(3) {
            val state = flow.onCheck(runCatching { engine.checkImage(reference, ReferenceKind.REGISTRY, photo("same/fr_obama/1.jpg")) })
            assertTrue(state is DoorstepState.Rejected)
            assertEquals(it == 2, flow.overrideOffered)
        }
        assertFalse(flow.canPay)
        assertTrue("the last check is kept as evidence for the override", flow.lastCheck != null)
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
        val waiting = SyncStatus(3uL, 10uL, 1uL, now - 2 * 3_600_000, now - 30 * 60_000, "No connection", ErrorKind.NETWORK)
        assertEquals(
            listOf("3 waiting to upload", "Oldest waiting 2 h", "Last upload 30 min ago",
                "1 refused by the server: tell your supervisor", "No connection"),
            SyncStatusText.lines(en, waiting, now),
        )
        val done = SyncStatus(0uL, 10uL, 0uL, null, null, null, null)
        assertEquals(listOf("Semua sudah terunggah", "Belum pernah terunggah"), SyncStatusText.lines(id, done, now))
    }

    @Test
    fun an_override_needs_another_person_and_a_reason() {
        assertEquals(en.overrideNeedsReason, OverrideRequest("pos-1", "", "elderly").problem(en))
        assertEquals(en.overrideNeedsReason, OverrideRequest("pos-1", "spv-9", "old").problem(en))
        assertEquals(en.overrideSameWorker, OverrideRequest("pos-1", "POS-1", "elderly, cannot stand").problem(en))
        assertNull(OverrideRequest("pos-1", "spv-9", "elderly, cannot stand").problem(en))
        assertEquals("Rp600.000", id.amount(600_000))
        assertEquals("Rp1.250.000", id.amount(1_250_000))
    }
}
