package id.salur.app.ui

import android.Manifest
import android.app.Activity
import android.content.Intent
import android.location.Location
import android.location.LocationManager
import android.os.SystemClock
import android.util.TypedValue
import android.view.TextureView
import android.widget.Button
import android.widget.ListView
import android.widget.TextView
import id.salur.app.logic.Texts
import id.salur.app.ui.Robo.button
import id.salur.app.ui.Robo.dialog
import id.salur.app.ui.Robo.dialogView
import id.salur.app.ui.Robo.launch
import id.salur.app.ui.Robo.next
import id.salur.app.ui.Robo.shows
import id.salur.app.ui.Robo.tap
import id.salur.app.ui.Robo.texts
import id.salur.app.ui.Robo.type
import id.salur.app.ui.Robo.waitUntil
import id.salur.app.ui.ServerFixture.Companion.ROSTER
import id.salur.app.ui.ServerFixture.Companion.WORKER
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowSystemClock
import java.io.File
import java.time.Duration

/**
 * A worker's day on the real screens (Robolectric runs the Activities on the JVM), against the
 * real core, models, recorded frames of real people, a real SQLite file and a real `salur serve`.
 * The screens are in Bahasa Indonesia, as on a worker's phone.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], application = TestSalurApp::class, manifest = Config.NONE, qualifiers = "in-rID")
class AppDayTest {
    private lateinit var server: ServerFixture
    private val t = Texts(english = false)
    private val app get() = RuntimeEnvironment.getApplication() as TestSalurApp

    @Before
    fun setUp() {
        server = ServerFixture()
        World.serverUrl = server.url
        World.databasePath = File(server.work, "phone.db").path
        World.scene = Scene.Person
        World.stills.clear()
        World.printed.reset()
        shadowOf(app).grantPermissions(Manifest.permission.CAMERA)
    }

    @After
    fun tearDown() = server.close()

    // --- the way in ------------------------------------------------------------------------------

    /** Signs in, registers, and (once an administrator approved the device) reaches the roster choice. */
    private fun signIn(worker: String = WORKER): Activity {
        val signIn = launch(SignInActivity::class.java)
        type(signIn.window.decorView, t.workerId, worker)
        type(signIn.window.decorView, t.postOffice, "po-1")
        type(signIn.window.decorView, t.enrolmentCode, server.enrolmentCode(worker))
        tap(signIn, t.register)
        waitUntil("waiting for approval") { shows(signIn, t.waitingApproval) }
        server.admin("POST", "/v1/admin/devices/${app.deviceId}/approve")
        tap(signIn, t.checkAgain)
        return launch(RosterChoiceActivity::class.java, next(signIn, "the roster choice"))
    }

    /** The roster's title as the worker reads it (the programme and period). */
    private val title get() = t.programmeTitle(ROSTER)

    /** Signed in and on the roster's list. */
    private fun roster(): RosterActivity {
        val choice = signIn()
        waitUntil("the assigned rosters") { shows(choice, title) }
        tap(button(choice, Robo.texts(choice).first { it.startsWith(title) }))
        val roster = launch(RosterActivity::class.java, next(choice, "the roster"))
        waitUntil("the recipients") { items(roster).size == 4 }
        return roster
    }

    private fun items(roster: RosterActivity): List<String> {
        val list = Robo.views(roster).filterIsInstance<ListView>().single()
        return (0 until (list.adapter?.count ?: 0)).map { list.adapter.getItem(it).toString() }
    }

    /** Opens a recipient's doorstep from the roster. */
    private fun doorstep(roster: RosterActivity, name: String): DoorstepActivity {
        val list = Robo.views(roster).filterIsInstance<ListView>().single()
        val at = items(roster).indexOfFirst { it.startsWith(name) }
        assertTrue("$name is on the roster", at >= 0)
        list.performItemClick(list, at, at.toLong())
        val d = launch(DoorstepActivity::class.java, next(roster, "the doorstep of $name"))
        waitUntil("where $name stands") { !shows(d, t.loading) }
        return d
    }

    private fun hint(d: Activity) = texts(d).joinToString(" | ")

    /** Picks [choice] among the doorstep's other outcomes (behind "Lainnya"). */
    private fun other(d: Activity, choice: String) {
        tap(d, t.more)
        val list = dialog()!!.listView
        val at = (0 until list.adapter.count).firstOrNull { list.adapter.getItem(it).toString() == choice }
            ?: throw AssertionError("no \"$choice\" behind ${t.more}")
        list.performItemClick(list, at, at.toLong())
        shadowOf(android.os.Looper.getMainLooper()).idle()
    }

    /** "Tidak di rumah", confirmed. */
    private fun notHome(d: Activity) {
        other(d, t.notHome)
        tap(button(dialogView(), t.yesNotHome))
    }

    private fun overrideShown(d: Activity) = Robo.views(d).any { it is Button && it.text == t.supervisorOverride && it.isShown }

    private fun sync(): Activity {
        val s = launch(SyncActivity::class.java)
        tap(s, t.syncNow)
        waitUntil("everything uploaded") { shows(s, t.allUploaded) }
        return s
    }

    /**
     * The recipient confirms receiving it all; the screen then shows the receipt code to read
     * aloud (the code of the receipt the phone signed), and closes when the worker is done.
     */
    private fun handOver(d: Activity, onReceipt: () -> Unit = {}): String {
        tap(button(dialogView(), t.receivedInFull))
        var code = ""
        waitUntil("the receipt code") {
            code = dialog()?.takeIf { it.isShowing }?.let { texts(dialogView()) }
                ?.firstOrNull { it.matches(Regex("[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")) } ?: ""
            code.isNotEmpty()
        }
        assertTrue(texts(dialogView()).any { it.contains("/cek") })
        qrShown(code)
        onReceipt()
        tap(button(dialogView(), t.done))
        waitUntil("closed") { d.isFinishing }
        return code
    }

    /**
     * The receipt's QR code on the dialog: its drawn modules are the signed receipt's QR code, and
     * that receipt verifies offline against the device key in the server's database.
     */
    private fun qrShown(code: String) {
        val image = Robo.views(dialogView()).filterIsInstance<android.widget.ImageView>().single { it.contentDescription == t.receiptQr }
        val bitmap = (image.drawable as android.graphics.drawable.BitmapDrawable).bitmap
        val receipt = app.phone.roster(ROSTER, "", null).flatMap { app.phone.receiptsFor(ROSTER, it.recipientRef) }.single { it.code == code }
        val qr = app.phone.receiptQr(receipt.id)
        val side = qr.side.toInt()
        val px = bitmap.width / (side + 2 * QrImage.QUIET)
        assertEquals((side + 2 * QrImage.QUIET) * px, bitmap.width)
        assertTrue("$px px a module", px >= QrImage.MIN_PX_PER_MODULE)
        assertEquals(QrImage.pxPerModule(qr, app.resources.displayMetrics.widthPixels), px)
        for (y in 0 until side) for (x in 0 until side) {
            val dark = bitmap.getPixel((QrImage.QUIET + x) * px + px / 2, (QrImage.QUIET + y) * px + px / 2) == android.graphics.Color.BLACK
            assertEquals("module $x,$y", qr.modules[y * side + x].toInt() == 1, dark)
        }
        assertEquals(android.graphics.Color.WHITE, bitmap.getPixel(1, 1))
        val checked = server.verifyReceipt(qr.text)
        assertTrue(checked, checked.startsWith("valid:") && checked.contains(app.deviceId))
    }

    private fun dashboard() = server.admin("GET", "/v1/dashboard?roster=$ROSTER")

    // --- the tests --------------------------------------------------------------------------------

    @Test
    fun sign_in_registers_the_device_and_waits_for_an_administrator() {
        val signIn = launch(SignInActivity::class.java)
        tap(signIn, t.register)
        assertTrue("empty fields are refused", shows(signIn, t.needWorkerAndOffice))
        type(signIn.window.decorView, t.workerId, WORKER)
        type(signIn.window.decorView, t.postOffice, "po-1")
        tap(signIn, t.register)
        assertTrue("no enrolment code is refused", shows(signIn, t.needEnrolmentCode))
        // A code the server does not know: refused in the worker's language.
        type(signIn.window.decorView, t.enrolmentCode, "AAAAA-AAAAA")
        tap(signIn, t.register)
        waitUntil("the refused code") { shows(signIn, t.error(id.salur.core.ErrorKind.ENROLMENT_REFUSED)) }
        // The supervisor's code, typed as read out (lower case, a space).
        type(signIn.window.decorView, t.enrolmentCode, server.enrolmentCode().lowercase().replace('-', ' '))
        tap(signIn, t.register)
        waitUntil("waiting for approval") { shows(signIn, t.waitingApproval) }
        assertTrue(server.admin("GET", "/v1/admin/devices").contains("\"status\":\"pending\""))
        // A software key registers unattested: flagged for the approver.
        assertTrue(server.admin("GET", "/v1/admin/devices").contains("\"security_level\":\"none\""))
        // Still pending: asking again changes nothing.
        tap(signIn, t.checkAgain)
        waitUntil("still waiting") { shows(signIn, t.waitingApproval) }
        server.admin("POST", "/v1/admin/devices/${app.deviceId}/approve")
        tap(signIn, t.checkAgain)
        assertEquals(RosterChoiceActivity::class.java.name, next(signIn, "the roster choice").component!!.className)
        // Next time the app opens straight on the roster choice.
        val again = launch(SignInActivity::class.java)
        assertEquals(RosterChoiceActivity::class.java.name, next(again, "straight on").component!!.className)
    }

    @Test
    fun sign_in_by_scanning_the_enrolment_qr_fills_worker_post_office_and_code() {
        // A letter held to the enrolment scanner is said not to be one; the camera keeps looking.
        World.letter = server.letterPages().getValue("Siti Rahayu")
        val wrong = launch(EnrolmentScanActivity::class.java)
        waitUntil("not an enrolment code: ${hint(wrong)}") { shows(wrong, t.notAnEnrolmentCode) }
        assertFalse(wrong.isFinishing)
        wrong.finish()
        // The approver's printed code: one scan fills the three fields, and the device registers.
        World.letter = server.enrolmentQr()
        val signIn = launch(SignInActivity::class.java)
        tap(signIn, t.scanEnrolment)
        var asked: org.robolectric.shadows.ShadowActivity.IntentForResult? = null
        waitUntil("the scanner opened") {
            asked = shadowOf(signIn).nextStartedActivityForResult?.takeIf { it.intent.component?.className == EnrolmentScanActivity::class.java.name } ?: asked
            asked != null
        }
        val scan = launch(EnrolmentScanActivity::class.java, asked!!.intent)
        waitUntil("the code read: ${hint(scan)}", 60_000) { scan.isFinishing }
        shadowOf(signIn).receiveResult(asked!!.intent, shadowOf(scan).resultCode, shadowOf(scan).resultIntent)
        fun field(hint: String) = Robo.views(signIn).filterIsInstance<android.widget.EditText>().single { it.hint == hint }.text.toString()
        assertEquals(WORKER, field(t.workerId))
        assertEquals("po-1", field(t.postOffice))
        assertTrue(field(t.enrolmentCode), field(t.enrolmentCode).matches(Regex("[0-9A-Z]{5}-[0-9A-Z]{5}")))
        tap(signIn, t.register)
        waitUntil("registered, waiting for approval: ${hint(signIn)}") { shows(signIn, t.waitingApproval) }
        val devices = server.admin("GET", "/v1/admin/devices")
        assertTrue(devices, devices.contains("\"worker_id\":\"$WORKER\"") && devices.contains("\"post_office\":\"po-1\""))
    }

    @Test
    fun the_roster_choice_lists_the_workers_own_rosters_with_counts() {
        val choice = signIn()
        waitUntil("the assigned rosters") { shows(choice, title) }
        // The programme and period, never the raw id, as the worker reads them.
        assertTrue(hint(choice), shows(choice, "BLT · Desember 2026 · 4 penerima") && shows(choice, "PKH · Triwulan IV 2026 · 1 penerima"))
        assertFalse(hint(choice), shows(choice, ROSTER))
        assertTrue(hint(choice), shows(choice, t.rosterLine(ROSTER, 4, 2_400_000)))
        assertTrue(hint(choice), shows(choice, t.rosterLine("pkh-2026-q4", 1, 300_000)))
        assertFalse("another worker's recipients are not counted", shows(choice, t.rosterLine(ROSTER, 5, 3_000_000)))
    }

    @Test
    fun a_worker_with_no_roster_is_told_so() {
        val choice = signIn("pos-nobody")
        waitUntil("no roster") { shows(choice, t.noRosters) }
        assertFalse(Robo.views(choice).any { it is Button && it.isShown })
    }

    @Test
    fun the_roster_searches_filters_and_counts() {
        val roster = roster()
        // Titled by the app itself (not the manifest the tests run without): the programme and period.
        assertEquals("BLT · Desember 2026", roster.title.toString())
        assertTrue(shows(roster, t.counts(0, 4)))
        type(roster.window.decorView, t.search, "siti")
        waitUntil("the search") { items(roster).size == 1 }
        assertTrue(items(roster).single().startsWith("Siti Rahayu"))
        type(roster.window.decorView, t.search, "nobody-by-that-name")
        waitUntil("no match") { shows(roster, t.noMatch) }
        type(roster.window.decorView, t.search, "")
        tap(roster, t.paid)
        waitUntil("nobody paid yet") { items(roster).isEmpty() }
        tap(roster, t.all)
        waitUntil("all again") { items(roster).size == 4 }
        assertFalse("another worker's recipient is not on the phone", items(roster).any { it.startsWith("Joko") })
    }

    @Test
    fun a_live_recipient_is_paid_after_confirming_the_full_amount_and_the_dashboard_shows_it() {
        val roster = roster()
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION)
        val d = doorstep(roster, "Siti Rahayu")
        assertTrue("the amount due is shown large", texts(d).contains(t.amount(600_000)))
        // Where the worker stands (Jakarta, 12 m).
        val gps = Location(LocationManager.GPS_PROVIDER).apply {
            latitude = -6.1754; longitude = 106.8272; accuracy = 12f
            elapsedRealtimeNanos = SystemClock.elapsedRealtimeNanos(); time = System.currentTimeMillis()
        }
        shadowOf(d.getSystemService(LocationManager::class.java)).simulateLocation(gps)
        val confirm = button(d, t.confirmPayment)
        waitUntil("a live match: ${hint(d)}", 120_000) { confirm.isEnabled }
        assertTrue(hint(d), shows(d, t.matched))
        tap(confirm)
        // The recipient reads the amount and confirms they received it in full.
        assertTrue(texts(dialogView()).contains(t.amount(600_000)))
        val code = handOver(d) {
            // No printer paired yet: told so. Then the one paired printer gets the slip.
            shadowOf(app).grantPermissions(Manifest.permission.BLUETOOTH_CONNECT)
            tap(button(dialogView(), t.printSlip))
            assertTrue(texts(dialogView()).toString(), texts(dialogView()).contains(t.noPrinter))
            val adapter = app.getSystemService(android.bluetooth.BluetoothManager::class.java).adapter
            shadowOf(adapter).setEnabled(true)
            shadowOf(adapter).setBondedDevices(setOf(org.robolectric.shadows.ShadowBluetoothDevice.newInstance("66:22:1B:0A:58:01")))
            tap(button(dialogView(), t.printSlip))
            waitUntil("printed: ${texts(dialogView())}") { texts(dialogView()).contains(t.printed) }
        }
        // What the printer received is the core's slip of this receipt: amount, code, check link.
        val receipt = app.phone.roster(ROSTER, "", null).flatMap { app.phone.receiptsFor(ROSTER, it.recipientRef) }.single()
        assertTrue(World.printed.toByteArray().contentEquals(app.phone.receiptSlip(receipt.id, "po-1")))
        val slip = String(World.printed.toByteArray(), Charsets.US_ASCII)
        assertTrue(slip, slip.contains(code) && slip.contains("Rp600.000") && slip.contains("/cek?kode="))
        assertEquals(1, app.uploadsAsked)
        sync()
        val board = dashboard()
        assertTrue(board, board.contains("\"paid\":1"))
        // What the phone signed: live, matched, received in full, where and how accurately.
        val signed = server.run("receipts", "show", "1", "--db", World.databasePath, "--json")
        for (field in listOf("\"received_in_full\":true", "\"liveness\":\"passed\"", "\"lat_e7\":-61754000", "\"accuracy_m\":12")) {
            assertTrue("$field in $signed", signed.replace(" ", "").contains(field))
        }
        // The roster counts her as paid.
        val back = launch(RosterActivity::class.java)
        waitUntil("paid") { shows(back, t.counts(1, 3)) }
    }

    @Test
    fun the_door_starts_from_the_scanned_letter_and_forged_or_other_workers_letters_are_refused() {
        val roster = roster()
        val pages = server.letterPages()
        /** Holds [page] to the camera on the scan screen (opened from the roster) until [done]. */
        fun scan(page: File, what: String, done: (LetterScanActivity) -> Boolean): LetterScanActivity {
            World.letter = page
            tap(roster, t.scanLetter)
            val s = launch(LetterScanActivity::class.java, next(roster, "the letter scan"))
            waitUntil("$what: ${hint(s)}", 60_000) { done(s) }
            return s
        }
        // Another worker's recipient: a genuine letter, but not this phone's to pay.
        val joko = scan(pages.getValue("Joko Widodo"), "another worker's letter") {
            shows(it, t.letterProblem(id.salur.core.LetterProblem.NOT_ON_THIS_PHONE))
        }
        assertFalse(joko.isFinishing)
        joko.finish()
        // Siti's letter printed by someone without the programme's key.
        val forged = scan(server.letterPages(forged = true).getValue("Siti Rahayu"), "a forged letter") {
            shows(it, t.letterProblem(id.salur.core.LetterProblem.FORGED))
        }
        forged.finish()
        // Her real letter opens her doorstep, which names the letter.
        val scanned = scan(pages.getValue("Siti Rahayu"), "the genuine letter") { it.isFinishing }
        val intent = next(scanned, "the doorstep")
        assertEquals(DoorstepActivity::class.java.name, intent.component!!.className)
        val letterId = intent.getStringExtra("letter_id")!!
        assertTrue(letterId, letterId.matches(Regex("SU-[0-9A-F]{10}")))
        val d = launch(DoorstepActivity::class.java, intent)
        waitUntil("her standing") { !shows(d, t.loading) }
        assertTrue(hint(d), shows(d, "Siti Rahayu") && shows(d, t.letterOpened(letterId)))
        val confirm = button(d, t.confirmPayment)
        waitUntil("a live match: ${hint(d)}", 120_000) { confirm.isEnabled }
        tap(confirm)
        val code = handOver(d)
        // The signed receipt names the letter, and the server accepted it.
        val signed = server.run("receipts", "show", "1", "--db", World.databasePath, "--json").replace(" ", "")
        assertTrue(signed, signed.contains("\"letter_id\":\"$letterId\""))
        sync()
        assertTrue(dashboard().contains("\"paid\":1"))
        // The code read out to her is the one the server knows: she can check it herself.
        val checked = server.run("receipt", "check", code.lowercase(), "--server", server.url)
        assertTrue(checked, checked.contains("paid Rp600.000") && checked.contains("po-1"))
        assertFalse("no name on the public check", checked.contains("Siti"))
    }

    @Test
    fun a_first_visit_enrols_the_live_face_which_then_pays_and_survives_a_roster_refresh() {
        val roster = roster()
        val d = doorstep(roster, "Dewi Lestari")
        assertFalse("no reference yet: nothing to compare with", button(d, t.confirmPayment).isEnabled)
        tap(d, t.enrolFirstVisit)
        val confirm = button(d, t.confirmPayment)
        // The enrolment visit (with its own live check), then a visit against the enrolled face.
        waitUntil("enrolled and matched: ${hint(d)}", 120_000) { confirm.isEnabled }
        d.finish()
        // A roster refresh from the server keeps the face enrolled on the phone: the next visit
        // compares with it straight away.
        val again = launch(RosterActivity::class.java)
        waitUntil("refreshed") { items(again).size == 4 }
        val next = doorstep(again, "Dewi Lestari")
        assertFalse(hint(next), shows(next, t.noReference))
        val pay = button(next, t.confirmPayment)
        waitUntil("matched against the enrolled face: ${hint(next)}", 120_000) { pay.isEnabled }
        tap(pay)
        handOver(next)
        val signed = server.run("receipts", "show", "1", "--db", World.databasePath, "--json").replace(" ", "")
        assertTrue(signed, signed.contains("\"kind\":\"enrolled_template\""))
        sync()
        // The enrolled template went up with the payment: the server judged the face itself.
        val board = dashboard().replace(" ", "")
        assertTrue(board, board.contains("\"paid\":1") && board.contains("[\"verified\",1]"))
    }

    @Test
    fun a_first_visit_on_the_ektp_photo_pays_and_the_server_checks_the_cards_face_itself() {
        val d = doorstep(roster(), "Dewi Lestari")
        assertFalse("no reference yet: nothing to compare with", button(d, t.confirmPayment).isEnabled)
        // Her e-KTP's photo (a still of the clip's person), then her live check against it.
        World.stills.add(File(World.root, "test-vectors/liveness/motion/lp_d12/0060.jpg"))
        tap(d, t.captureEktp)
        val confirm = button(d, t.confirmPayment)
        waitUntil("live and matched to her card: ${hint(d)}", 120_000) { confirm.isEnabled }
        tap(confirm)
        handOver(d)
        // The receipt signs the hash of the card's face crop, which goes up with the evidence.
        val signed = server.run("receipts", "show", "1", "--db", World.databasePath, "--json").replace(" ", "")
        assertTrue(signed, signed.contains("\"kind\":\"ektp_photo\"") && signed.contains("\"card_face_sha256\""))
        sync()
        val board = dashboard().replace(" ", "")
        assertTrue(board, board.contains("\"paid\":1") && board.contains("[\"verified\",1]"))
    }

    @Test
    fun a_family_member_in_the_kk_collects_with_a_surat_kuasa_and_an_outsider_is_refused() {
        val roster = roster()
        val d = doorstep(roster, "Agus Salim")
        other(d, t.proxyCollect)
        // A neighbour offers to collect: not in his KK.
        type(d.window.decorView, t.proxyNik, "3171010101800099")
        tap(d, t.proxyFind)
        waitUntil("refused: ${hint(d)}") { shows(d, t.kkLookup(id.salur.core.KkLookup.NotInKk)) }
        assertFalse("nothing to photograph for an outsider", button(d, t.photoKuasa).isEnabled)
        // His own NIK: he would collect in person.
        type(d.window.decorView, t.proxyNik, "3171010101800004")
        tap(d, t.proxyFind)
        waitUntil("the recipient himself") { shows(d, t.kkLookup(id.salur.core.KkLookup.RecipientThemself)) }
        // His daughter, typed in groups as printed on her card.
        type(d.window.decorView, t.proxyNik, ServerFixture.KK_DAUGHTER.chunked(4).joinToString(" "))
        tap(d, t.proxyFind)
        waitUntil("found in the KK: ${hint(d)}") { shows(d, "Sri Wahyuni") && button(d, t.photoKuasa).isEnabled }
        // A photo too small to read is told so; then the whole letter, then her e-KTP.
        World.stills.add(File(World.root, "test-vectors/faces/noface/sklearn_china.jpg"))
        tap(d, t.photoKuasa)
        waitUntil("unreadable: ${hint(d)}") { shows(d, t.kuasaUnreadable) }
        assertFalse(button(d, t.photoMemberEktp).isEnabled)
        World.stills.add(server.letterPages().getValue("Agus Salim"))
        tap(d, t.photoKuasa)
        waitUntil("the surat kuasa taken: ${hint(d)}") { shows(d, t.kuasaTaken) }
        World.stills.add(File(World.root, "test-vectors/liveness/motion/lp_d12/0060.jpg"))
        tap(d, t.photoMemberEktp)
        waitUntil("her live check: ${hint(d)}") { shows(d, t.proxyCollecting("Sri Wahyuni")) }
        val confirm = button(d, t.confirmPayment)
        waitUntil("she is live and matches her e-KTP: ${hint(d)}", 120_000) { confirm.isEnabled }
        tap(confirm)
        handOver(d)
        // The signed receipt names her (method proxy) and the surat kuasa photo's hash.
        val signed = server.run("receipts", "show", "1", "--db", World.databasePath, "--json").replace(" ", "")
        assertTrue(signed, signed.contains("\"kind\":\"proxy\"") && signed.contains("\"kuasa_sha256\""))
        sync()
        val board = dashboard().replace(" ", "")
        assertTrue(board, board.contains("\"paid\":1") && board.contains("\"proxy_paid\":1"))
        // Her card's face went up with the payment (only the face): the server judged it itself.
        assertTrue(board, board.contains("[\"verified\",1]"))
    }

    @Test
    fun a_picture_held_up_is_never_payable_and_does_not_open_the_override() {
        World.scene = Scene.Picture(File(World.root, "test-vectors/liveness/images/sfas_image_F2.jpg"))
        val d = doorstep(roster(), "Siti Rahayu")
        val liveFailures = listOf(
            t.liveFailure(id.salur.core.LiveFailure.SPOOF), t.liveFailure(id.salur.core.LiveFailure.TIMED_OUT),
            t.liveFailure(id.salur.core.LiveFailure.FLAT_PICTURE),
        )
        waitUntil("the live check fails: ${hint(d)}", 120_000) { liveFailures.any { shows(d, it) } }
        // Two more tries of the picture, still nothing opens.
        val first = System.currentTimeMillis()
        waitUntil("more tries") { System.currentTimeMillis() - first > 8_000 }
        assertFalse(button(d, t.confirmPayment).isEnabled)
        assertFalse("failed live checks do not unlock the override", overrideShown(d))
    }

    @Test
    fun a_recipient_paid_this_period_gets_nothing_but_the_receipt() {
        val roster = roster()
        val d = doorstep(roster, "Siti Rahayu")
        val confirm = button(d, t.confirmPayment)
        waitUntil("a live match: ${hint(d)}", 120_000) { confirm.isEnabled }
        tap(confirm)
        handOver(d)
        val again = doorstep(roster, "Siti Rahayu")
        waitUntil("already paid") { shows(again, t.alreadyPaid) }
        val offered = Robo.views(again).filterIsInstance<Button>().filter { it.isShown }.map { it.text.toString() }
        assertEquals(listOf(t.viewReceipt), offered)
        assertFalse("no camera for a paid recipient", Robo.views(again).any { it is TextureView && it.isShown })
        tap(again, t.viewReceipt)
        waitUntil("the receipt") { dialog()?.isShowing == true }
        assertTrue(texts(dialogView()).toString(), texts(dialogView()).any { it.startsWith("No. 1 · kode ") })
    }

    @Test
    fun ineligible_not_home_and_refused_are_confirmed_recorded_and_reach_the_server() {
        val roster = roster()
        val dewi = doorstep(roster, "Dewi Lestari")
        // One tap is not a signed outcome: "Batal" records nothing and keeps the visit open.
        other(dewi, t.notHome)
        assertTrue(texts(dialogView()).toString(), texts(dialogView()).contains(t.confirmNotHome))
        tap(button(dialogView(), t.cancel))
        assertFalse(dewi.isFinishing)
        assertEquals("nothing recorded", 0, Regex("\"seq\"").findAll(server.run("receipts", "list", "--db", World.databasePath, "--json")).count())
        notHome(dewi)
        waitUntil("not home recorded") { dewi.isFinishing }
        val budi = doorstep(roster, "Budi Santoso")
        other(budi, t.refused)
        assertTrue(texts(dialogView()).toString(), texts(dialogView()).contains(t.confirmRefused))
        tap(button(dialogView(), t.yesRefused))
        waitUntil("refused recorded") { budi.isFinishing }
        val agus = doorstep(roster, "Agus Salim")
        other(agus, t.markIneligible)
        val list = dialog()!!.listView
        list.performItemClick(list, 0, 0)
        waitUntil("ineligible recorded") { agus.isFinishing }
        sync()
        val realloc = server.admin("GET", "/v1/admin/reallocations")
        assertTrue(realloc, realloc.contains("deceased"))
        val back = launch(RosterActivity::class.java)
        waitUntil("the statuses") {
            items(back).any { it.contains(t.notHome) } && items(back).any { it.contains(t.ineligible) } && items(back).any { it.startsWith("Budi Santoso") && it.contains(t.refused) }
        }
    }

    @Test
    fun an_override_needs_the_supervisors_own_code_and_the_server_checks_it() {
        val secret = server.supervisor("spv-1")
        val roster = roster()
        // Siti at Budi's door: completed comparisons fail, and only then is the override offered.
        val d = doorstep(roster, "Budi Santoso")
        assertFalse("not offered before failed comparisons", overrideShown(d))
        waitUntil("three failed comparisons: ${hint(d)}", 240_000) { overrideShown(d) }
        assertFalse(button(d, t.confirmPayment).isEnabled)
        tap(d, t.supervisorOverride)
        waitUntil("the override dialog") { dialog()?.isShowing == true }
        val challenge = texts(dialogView()).first { it.matches(Regex("[0-9]{4} [0-9]{4}")) }.replace(" ", "")
        type(dialogView(), t.supervisorId, "spv-1")
        type(dialogView(), t.overrideReason, "foto registrasi lama, dikenal supervisor")
        type(dialogView(), t.approvalCode, "1234")
        // The dialog's action leads to the hand-over: it does not claim to confirm the payment.
        assertFalse(texts(dialogView()).toString(), texts(dialogView()).contains(t.confirmPayment))
        tap(button(dialogView(), t.useApproval))
        assertTrue("a short code is refused on the screen", texts(dialogView()).contains(t.approvalCodeNeeded))
        type(dialogView(), t.approvalCode, server.approvalCode(secret, challenge))
        tap(button(dialogView(), t.useApproval))
        waitUntil("the hand-over") { texts(dialogView()).contains(t.receivedInFull) }
        handOver(d)
        // Dewi cannot turn her head; the worker makes up a code.
        val dewi = doorstep(roster, "Dewi Lestari")
        other(dewi, t.cannotDoLiveCheck)
        waitUntil("the override dialog") { dialog()?.isShowing == true && texts(dialogView()).contains(t.overrideChallenge) }
        type(dialogView(), t.supervisorId, "spv-1")
        type(dialogView(), t.overrideReason, "lansia, tidak bisa menoleh")
        type(dialogView(), t.approvalCode, "00000000")
        tap(button(dialogView(), t.useApproval))
        handOver(dewi)
        sync()
        val board = dashboard()
        val unverified = board.substringAfter("\"overrides_unverified\"")
        assertTrue(board, board.contains("\"paid\":2"))
        assertTrue("the forged code is listed: $unverified", unverified.contains("invalid"))
        assertEquals("only the forged one is listed: $unverified", 1, Regex("\"receipt_id\"").findAll(unverified.substringBefore("]")).count())
    }

    @Test
    fun frames_without_a_face_never_open_the_override() {
        World.scene = Scene.Picture(File(World.root, "test-vectors/faces/noface/skimage_coffee.jpg"))
        val d = doorstep(roster(), "Siti Rahayu")
        waitUntil("no face: ${hint(d)}", 60_000) { shows(d, t.noFace) || shows(d, t.liveHint(id.salur.core.LiveHint.NO_FACE)) }
        Thread.sleep(1_500)
        shadowOf(android.os.Looper.getMainLooper()).idle()
        assertFalse(overrideShown(d))
        assertFalse(button(d, t.confirmPayment).isEnabled)
    }

    @Test
    fun a_refused_camera_is_explained_and_not_home_still_works() {
        val roster = roster()
        shadowOf(app).denyPermissions(Manifest.permission.CAMERA)
        val d = doorstep(roster, "Dewi Lestari")
        waitUntil("the camera asked for") { shadowOf(d).lastRequestedPermission != null }
        val asked = shadowOf(d).lastRequestedPermission
        assertTrue(asked.requestedPermissions.contains(Manifest.permission.CAMERA))
        d.onRequestPermissionsResult(asked.requestCode, asked.requestedPermissions, IntArray(asked.requestedPermissions.size) { -1 })
        assertTrue(hint(d), shows(d, t.cameraNeeded))
        assertTrue(button(d, t.askCameraAgain).isShown)
        notHome(d)
        waitUntil("not home recorded") { d.isFinishing }
    }

    @Test
    fun without_a_network_the_screens_say_so_and_the_phone_keeps_working() {
        val roster = roster()
        server.stop()
        val offline = launch(RosterActivity::class.java)
        waitUntil("the offline note") { shows(offline, t.error(id.salur.core.ErrorKind.NETWORK)) }
        waitUntil("the phone's copy") { items(offline).size == 4 }
        val dewi = doorstep(roster, "Dewi Lestari")
        notHome(dewi)
        waitUntil("recorded offline") { dewi.isFinishing }
        val s = launch(SyncActivity::class.java)
        tap(s, t.syncNow)
        waitUntil("the network error: ${hint(s)}", 90_000) { shows(s, t.error(id.salur.core.ErrorKind.NETWORK)) }
        assertTrue(hint(s), shows(s, t.pending(1)))
        val choice = launch(RosterChoiceActivity::class.java)
        waitUntil("the last roster offline") { shows(choice, t.lastRosterOffline) }
        server.start()
        sync()
    }

    @Test
    fun a_full_disk_shows_the_error_and_nothing_is_lost() {
        // The phone's database on a small file system of its own (scripts/android-check.sh mounts it).
        val small = System.getProperty("salur.smallfs")
        assertTrue("-Dsalur.smallfs=<a small tmpfs> is needed (scripts/android-check.sh mounts one)", small != null)
        World.databasePath = File(small, "phone-${System.nanoTime()}.db").path
        val roster = roster()
        val db = File(World.databasePath)
        // Fill the phone's file system to the last byte. SQLite may still have room in pages it
        // holds; each visit recorded in that room is kept; the first that needs more fails.
        val full = Disk.fill(db.parentFile!!)
        var recorded = 0
        try {
            while (true) {
                val dewi = doorstep(roster, "Dewi Lestari")
                notHome(dewi)
                waitUntil("recorded or refused: ${hint(dewi)}") { dewi.isFinishing || shows(dewi, t.error(id.salur.core.ErrorKind.NOT_RECORDED)) }
                if (!dewi.isFinishing) break
                recorded++
                assertTrue("the disk never filled", recorded < 40)
            }
        } finally {
            full.delete()
        }
        // Room again: the same tap records, and exactly the visits that were confirmed are kept.
        val dewi = doorstep(roster, "Dewi Lestari")
        notHome(dewi)
        waitUntil("recorded once there is room") { dewi.isFinishing }
        val list = server.run("receipts", "list", "--db", World.databasePath, "--json")
        assertEquals(list, recorded + 1, Regex("\"seq\"").findAll(list).count())
        assertTrue(server.run("receipts", "verify-chain", "--db", World.databasePath).isNotEmpty())
    }

    @Test
    fun the_app_locks_after_five_idle_minutes_even_on_the_open_screen_and_asks_for_the_phone_credential() {
        val roster = roster()
        // A screen left open: the next touch goes to the lock, not to the screen.
        val s = launch(SyncActivity::class.java)
        ShadowSystemClock.advanceBy(Duration.ofMinutes(6))
        val down = android.view.MotionEvent.obtain(0, 0, android.view.MotionEvent.ACTION_DOWN, 10f, 10f, 0)
        assertTrue(s.dispatchTouchEvent(down))
        val asked = shadowOf(s).nextStartedActivityForResult
        assertEquals(android.app.KeyguardManager.ACTION_CONFIRM_DEVICE_CREDENTIAL, asked?.intent?.action)
        assertTrue(shows(s, t.unlockWhy))
        assertFalse("the screen is covered", shows(s, t.syncNow))
        // Cancelled: still covered; the worker's credential opens it again.
        shadowOf(s).receiveResult(asked!!.intent, Activity.RESULT_CANCELED, null)
        assertFalse(shows(s, t.syncNow))
        tap(s, t.unlock)
        assertTrue(Robo.unlockIfAsked(s))
        // A dialog left open (the ineligible reasons) is closed by the lock after idle, touch or not.
        roster.finish()
        val list = launch(RosterActivity::class.java)
        waitUntil("the roster") { items(list).size == 4 }
        val d = doorstep(list, "Dewi Lestari")
        other(d, t.markIneligible)
        assertTrue(dialog()!!.isShowing)
        ShadowSystemClock.advanceBy(Duration.ofMinutes(6))
        shadowOf(android.os.Looper.getMainLooper()).idleFor(Duration.ofSeconds(31))
        assertFalse("the dialog closed with the lock", dialog()!!.isShowing)
        assertEquals(android.app.KeyguardManager.ACTION_CONFIRM_DEVICE_CREDENTIAL,
            shadowOf(d).peekNextStartedActivityForResult()?.intent?.action)
        assertFalse(shows(d, t.notHome))
        list.finish()
    }

    @Test
    fun every_screen_has_large_targets_readable_text_strong_contrast_and_descriptions() {
        val signIn = launch(SignInActivity::class.java)
        val checked = mutableListOf<Activity>(signIn)
        val roster = roster()
        checked += roster
        checked += doorstep(roster, "Siti Rahayu")
        checked += launch(SyncActivity::class.java)
        checked += launch(RosterChoiceActivity::class.java).also { c -> waitUntil("rosters") { shows(c, title) } }
        val density = app.resources.displayMetrics.density
        var buttons = 0
        for (screen in checked) {
            // The app's own views (the window's title bar is the framework's).
            for (v in Robo.views(screen.findViewById<android.view.View>(android.R.id.content)).filter { it.isShown }) {
                if (v is Button) {
                    buttons++
                    // The size Android laid it out at, not only what was asked for.
                    assertTrue("${v.text}: ${v.height / density} dp", v.height >= (48 * density).toInt() - 1)
                    assertFalse("${v.text} has a description", v.contentDescription.isNullOrBlank())
                    val back = (v.background.current as android.graphics.drawable.ColorDrawable).color
                    assertTrue("${v.text}: contrast ${contrast(v.currentTextColor, back)}", contrast(v.currentTextColor, back) >= if (v.isEnabled) 7.0 else 4.5)
                } else if (v is TextView && v !is android.widget.EditText && v.text.isNotEmpty() && v.currentTextColor != 0) {
                    // On its own background (the prompt's band over the preview), else the screen's white.
                    val back = (v.background as? android.graphics.drawable.ColorDrawable)?.color?.let { it or 0xFF000000.toInt() } ?: android.graphics.Color.WHITE
                    assertTrue("\"${v.text}\": contrast", contrast(v.currentTextColor, back) >= 7.0)
                }
                if (v is TextView) {
                    val sp = v.textSize / app.resources.displayMetrics.scaledDensity
                    assertTrue("\"${v.text}\" at $sp sp", sp >= 14f)
                }
                if (v is TextureView) assertFalse(v.contentDescription.isNullOrBlank())
            }
        }
        assertTrue("$buttons buttons checked", buttons >= 12)
    }

    /** WCAG 2 contrast ratio of two opaque colours. */
    private fun contrast(a: Int, b: Int): Double {
        fun lum(c: Int): Double {
            fun ch(x: Int) = (x / 255.0).let { if (it <= 0.03928) it / 12.92 else Math.pow((it + 0.055) / 1.055, 2.4) }
            return 0.2126 * ch((c shr 16) and 0xff) + 0.7152 * ch((c shr 8) and 0xff) + 0.0722 * ch(c and 0xff)
        }
        val (hi, lo) = listOf(lum(a), lum(b)).sortedDescending()
        return (hi + 0.05) / (lo + 0.05)
    }
}

/** Fills the file system holding [dir] with one file; deleting it frees the room again. */
object Disk {
    fun fill(dir: File): File {
        val filler = File(dir, "filler")
        filler.outputStream().use { out ->
            val block = ByteArray(64 * 1024)
            runCatching { while (true) out.write(block) }
            val one = ByteArray(1)
            runCatching { while (true) out.write(one) }
        }
        return filler
    }
}
