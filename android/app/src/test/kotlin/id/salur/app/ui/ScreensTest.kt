package id.salur.app.ui

import android.Manifest
import android.app.Activity
import android.os.Looper
import android.view.View
import android.widget.Button
import android.widget.EditText
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
import id.salur.core.ErrorKind
import id.salur.core.KkLookup
import id.salur.core.LetterProblem
import id.salur.core.LiveFailure
import id.salur.core.LiveHint
import org.junit.After
import org.junit.Assume
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import org.robolectric.shadows.ShadowSystemClock
import java.io.File
import java.time.Duration

/** The worker's day at 360x640 dp (hdpi), a low-end phone: pictures, and every pixel check including "no scrolling". */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(sdk = [34], application = TestSalurApp::class, manifest = Config.NONE, qualifiers = "in-rID-w360dp-h640dp-hdpi")
class SmallScreensTest : ScreensTest("360x640", small = true)

/** The same day at 411x891 dp (xhdpi), a common phone: pictures, and the checks that do not depend on height. */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(sdk = [34], application = TestSalurApp::class, manifest = Config.NONE, qualifiers = "in-rID-w411dp-h891dp-xhdpi")
class CommonScreensTest : ScreensTest("411x891", small = false)

/** The small phone in English, whose texts are longer in places: the checks catch what no longer fits. */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(sdk = [34], application = TestSalurApp::class, manifest = Config.NONE, qualifiers = "en-rUS-w360dp-h640dp-hdpi")
class EnglishScreensTest : ScreensTest("360x640-en", small = true, english = true)

/**
 * Every screen and state of a worker's day rendered to pixels by Robolectric's native graphics
 * (in Bahasa Indonesia, against the real core, recorded frames and a real `salur serve`), written
 * as PNGs when -Dsalur.screens=<dir> is given (scripts/screens.sh), and judged by [PixelChecks]:
 * at 360x640 dp each doorstep state's instruction and primary action are on screen without
 * scrolling; everywhere no text is cut or overlaps, contrast measured on the picture meets WCAG
 * AA (AAA for the amount, the verdicts and the codes read out), targets are at least 48 dp.
 */
abstract class ScreensTest(private val size: String, private val small: Boolean, english: Boolean = false) {
    private lateinit var server: ServerFixture
    private val t = Texts(english)
    private val app get() = RuntimeEnvironment.getApplication() as TestSalurApp
    private val checks by lazy { PixelChecks(app.resources.displayMetrics.density) }

    @Before
    fun setUp() {
        server = ServerFixture()
        World.serverUrl = server.url
        World.databasePath = File(server.work, "phone.db").path
        World.scene = Scene.Person
        World.stills.clear()
        shadowOf(app).grantPermissions(Manifest.permission.CAMERA)
    }

    @After
    fun tearDown() = server.close()

    /** Renders the screen, saves it, checks it; [onScreen] only at 360x640 dp, [strong] need 7:1. */
    private fun shot(a: Activity, name: String, onScreen: List<View?> = emptyList(), strong: List<View?> = emptyList()): Shot {
        val s = Shots.take(a, "$size/$name")
        checks.all(s, strong.filterNotNull().toSet())
        if (small) checks.onScreen(s, onScreen.map { it ?: error("$name: a view to check is missing: ${texts(a)}") })
        return s
    }

    private fun root(a: Activity): View = dialog()?.takeIf { it.isShowing }?.window?.decorView ?: a.window.decorView

    /** The shown text view (of the top window) reading [text]. */
    private fun text(a: Activity, text: String): TextView? =
        Robo.views(root(a)).filterIsInstance<TextView>().firstOrNull { it.isShown && it.text.toString() == text }

    private fun btn(a: Activity, text: String): Button? =
        Robo.views(root(a)).filterIsInstance<Button>().firstOrNull { it.isShown && it.text.toString() == text }

    /** The instruction the screen reads out as it changes (the live region). */
    private fun prompt(a: Activity): TextView? = Robo.views(a).filterIsInstance<TextView>()
        .firstOrNull { it.isShown && it.accessibilityLiveRegion != View.ACCESSIBILITY_LIVE_REGION_NONE }

    private fun amount(a: Activity) = text(a, t.amount(600_000))

    private fun items(roster: Activity): List<String> {
        val list = Robo.views(roster).filterIsInstance<ListView>().single()
        return (0 until (list.adapter?.count ?: 0)).map { list.adapter.getItem(it).toString() }
    }

    private fun doorstep(roster: Activity, name: String): DoorstepActivity {
        val list = Robo.views(roster).filterIsInstance<ListView>().single()
        val at = items(roster).indexOfFirst { it.startsWith(name) }
        list.performItemClick(list, at, at.toLong())
        val d = launch(DoorstepActivity::class.java, next(roster, "the doorstep of $name"))
        waitUntil("where $name stands") { !shows(d, t.loading) }
        return d
    }

    /** Taps [choice] among the doorstep's other outcomes: behind "Lainnya" where there is one. */
    private fun other(d: Activity, choice: String, name: String? = null) {
        if (btn(d, t.more) == null) return tap(d, choice)
        tap(d, t.more)
        if (name != null) shot(d, name, strong = emptyList())
        val list = dialog()!!.listView
        val at = (0 until list.adapter.count).first { list.adapter.getItem(it).toString() == choice }
        list.performItemClick(list, at, at.toLong())
        shadowOf(Looper.getMainLooper()).idle()
    }

    /** Signs in, is approved, opens the roster of four; shoots each screen when [shoot]. */
    private fun signedIn(shoot: Boolean): RosterActivity {
        fun snap(a: Activity, name: String) { if (shoot) shot(a, name) }
        val signIn = launch(SignInActivity::class.java)
        snap(signIn, "01-sign-in")
        type(signIn.window.decorView, t.workerId, WORKER)
        type(signIn.window.decorView, t.postOffice, "po-1")
        type(signIn.window.decorView, t.enrolmentCode, server.enrolmentCode(WORKER))
        tap(signIn, t.register)
        waitUntil("waiting for approval") { shows(signIn, t.waitingApproval) }
        snap(signIn, "02-sign-in-waiting")
        server.admin("POST", "/v1/admin/devices/${app.deviceId}/approve")
        tap(signIn, t.checkAgain)
        val choice = launch(RosterChoiceActivity::class.java, next(signIn, "the roster choice"))
        fun rosters() = Robo.views(choice.findViewById<View>(android.R.id.content)).filterIsInstance<Button>().filter { it.isShown }
        waitUntil("the assigned rosters") { rosters().size == 2 }
        snap(choice, "03-roster-choice")
        tap(rosters().first { it.text.contains(t.programmeTitle(ROSTER)) || it.text.startsWith(ROSTER) })
        val roster = launch(RosterActivity::class.java, next(choice, "the roster"))
        waitUntil("the recipients") { items(roster).size == 4 }
        return roster
    }

    @Test
    fun the_workers_day_as_pictures() {
        // --- the way in
        val roster = signedIn(shoot = true)
        shot(roster, "04-roster")
        tap(roster, t.toDo)
        type(roster.window.decorView, t.search, "siti")
        waitUntil("the search") { items(roster).size == 1 }
        shot(roster, "05-roster-search-to-do")
        type(roster.window.decorView, t.search, "")
        tap(roster, t.all)
        waitUntil("all again") { items(roster).size == 4 }

        // --- the letter
        World.letter = server.letterPages().getValue("Joko Widodo")
        tap(roster, t.scanLetter)
        val scan = launch(LetterScanActivity::class.java, next(roster, "the letter scan"))
        waitUntil("another worker's letter") { shows(scan, t.letterProblem(LetterProblem.NOT_ON_THIS_PHONE)) }
        shot(scan, "06-letter-scan-refused", listOf(prompt(scan)))
        scan.finish()
        // Robolectric runs no lifecycle after finish(): the scan's camera is stopped as onPause would.
        World.cameras[scan]?.stop()

        // --- a live recipient paid: the prompts, the match, the amount, the receipt
        val siti = doorstep(roster, "Siti Rahayu")
        waitUntil("the first frame") { World.cameras[siti]?.shown != null }
        shot(siti, "10-doorstep-camera", listOf(prompt(siti), btn(siti, t.confirmPayment)), listOf(amount(siti)))
        val confirm = button(siti, t.confirmPayment)
        val turns = mutableMapOf(LiveHint.TURN_LEFT to "11-doorstep-turn-left", LiveHint.TURN_RIGHT to "12-doorstep-turn-right")
        waitUntil("a live match: ${texts(siti)}", 120_000) {
            for ((hint, name) in turns.entries.toList()) if (prompt(siti)?.text?.toString() == t.liveHint(hint)) {
                shot(siti, name, listOf(prompt(siti), confirm), listOf(amount(siti)))
                turns.remove(hint)
            }
            confirm.isEnabled
        }
        shot(siti, "13-doorstep-matched", listOf(prompt(siti), confirm), listOf(prompt(siti), amount(siti)))
        tap(confirm)
        shot(siti, "14-hand-over", listOf(amount(siti), btn(siti, t.receivedInFull)), listOf(amount(siti)))
        tap(button(dialogView(), t.receivedInFull))
        val codeRe = Regex("[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
        waitUntil("the receipt code") { dialog()?.isShowing == true && texts(dialogView()).any { it.matches(codeRe) } }
        val code = Robo.views(dialogView()).filterIsInstance<TextView>().first { it.text.matches(codeRe) }
        shot(siti, "15-receipt-code-qr", listOf(code, btn(siti, t.done)), listOf(code))
        tap(button(dialogView(), t.done))

        // --- no reference yet: the e-KTP or enrolment; the other outcomes and their confirmation; the override
        val dewi = doorstep(roster, "Dewi Lestari")
        shot(dewi, "20-doorstep-no-reference", listOf(prompt(dewi), btn(dewi, t.captureEktp), btn(dewi, t.enrolFirstVisit)), listOf(amount(dewi)))
        if (btn(dewi, t.more) != null) {
            other(dewi, t.notHome, "21-doorstep-more")
            shot(dewi, "22-confirm-not-home", listOf(btn(dewi, t.yesNotHome), btn(dewi, t.cancel)))
            tap(button(dialogView(), t.cancel))
            other(dewi, t.refused)
            shot(dewi, "23-confirm-refused", listOf(btn(dewi, t.yesRefused), btn(dewi, t.cancel)))
            tap(button(dialogView(), t.cancel))
        }
        other(dewi, t.cannotDoLiveCheck)
        waitUntil("the override dialog") { dialog()?.isShowing == true && texts(dialogView()).contains(t.overrideChallenge) }
        val submit = btn(dewi, t.useApproval) ?: btn(dewi, t.confirmPayment)
        val challenge = Robo.views(dialogView()).filterIsInstance<TextView>().first { it.text.matches(Regex("[0-9]{4} [0-9]{4}")) }
        val s = shot(dewi, "24-override-dialog", listOf(challenge, submit), listOf(challenge))
        println("$size override dialog: \"${submit?.text}\" at ${s.rect(submit!!).let { "${(it.top / app.resources.displayMetrics.density).toInt()}-${(it.bottom / app.resources.displayMetrics.density).toInt()} dp" }}")
        dialog()!!.dismiss()
        dewi.finish()

        // --- a family member collects
        val agus = doorstep(roster, "Agus Salim")
        other(agus, t.proxyCollect)
        fun field() = Robo.views(agus).filterIsInstance<EditText>().firstOrNull { it.hint == t.proxyNik && it.isShown }
        shot(agus, "30-proxy-nik", listOf(field(), btn(agus, t.proxyFind)))
        type(agus.window.decorView, t.proxyNik, "3171010101800099")
        tap(agus, t.proxyFind)
        waitUntil("refused") { shows(agus, t.kkLookup(KkLookup.NotInKk)) }
        shot(agus, "31-proxy-not-in-kk", listOf(text(agus, t.kkLookup(KkLookup.NotInKk)), btn(agus, t.proxyFind)), listOf(text(agus, t.kkLookup(KkLookup.NotInKk))))
        type(agus.window.decorView, t.proxyNik, ServerFixture.KK_DAUGHTER)
        tap(agus, t.proxyFind)
        waitUntil("found in the KK") { btn(agus, t.photoKuasa)?.isEnabled == true }
        shot(agus, "32-proxy-member", listOf(btn(agus, t.photoKuasa)))
        World.stills.add(server.letterPages().getValue("Agus Salim"))
        tap(agus, t.photoKuasa)
        waitUntil("the surat kuasa taken") { shows(agus, t.kuasaTaken) }
        shot(agus, "33-proxy-kuasa", listOf(btn(agus, t.photoMemberEktp)))
        World.stills.add(File(World.root, "test-vectors/liveness/motion/lp_d12/0060.jpg"))
        tap(agus, t.photoMemberEktp)
        waitUntil("her live check") { shows(agus, t.proxyCollecting("Sri Wahyuni")) }
        shot(agus, "34-proxy-collecting", listOf(prompt(agus), btn(agus, t.confirmPayment)), listOf(amount(agus)))
        agus.finish()

        // --- what goes wrong at a door
        val budi = doorstep(roster, "Budi Santoso")
        waitUntil("another face: ${texts(budi)}", 120_000) { shows(budi, t.rejected) }
        shot(budi, "40-doorstep-face-does-not-match", listOf(prompt(budi)), listOf(prompt(budi), amount(budi)))
        if (small) {
            // Three failed comparisons open the supervisor's override: about a minute more, so on the small screens only.
            waitUntil("the override offered: ${texts(budi)}", 240_000) { btn(budi, t.supervisorOverride) != null }
            shot(budi, "45-doorstep-override-offered", listOf(prompt(budi), btn(budi, t.supervisorOverride)), listOf(amount(budi)))
        }
        budi.finish()
        World.scene = Scene.Picture(File(World.root, "test-vectors/liveness/images/sfas_image_F2.jpg"))
        val picture = doorstep(roster, "Budi Santoso")
        val notLive = listOf(LiveFailure.SPOOF, LiveFailure.TIMED_OUT, LiveFailure.FLAT_PICTURE).map(t::liveFailure)
        waitUntil("not live: ${texts(picture)}", 120_000) { notLive.any { shows(picture, it) } }
        shot(picture, "41-doorstep-not-live", listOf(prompt(picture)), listOf(prompt(picture), amount(picture)))
        picture.finish()
        World.scene = Scene.Picture(File(World.root, "test-vectors/faces/noface/skimage_coffee.jpg"))
        val coffee = doorstep(roster, "Budi Santoso")
        waitUntil("no face: ${texts(coffee)}", 60_000) { shows(coffee, t.noFace) }
        shot(coffee, "42-doorstep-no-face", listOf(prompt(coffee)), listOf(amount(coffee)))
        coffee.finish()
        World.scene = Scene.Person
        shadowOf(app).denyPermissions(Manifest.permission.CAMERA)
        val refused = doorstep(roster, "Dewi Lestari")
        waitUntil("the camera asked for") { shadowOf(refused).lastRequestedPermission != null }
        val asked = shadowOf(refused).lastRequestedPermission
        refused.onRequestPermissionsResult(asked.requestCode, asked.requestedPermissions, IntArray(asked.requestedPermissions.size) { -1 })
        shot(refused, "43-doorstep-camera-refused", listOf(btn(refused, t.askCameraAgain)))
        refused.finish()
        shadowOf(app).grantPermissions(Manifest.permission.CAMERA)
        val paid = doorstep(roster, "Siti Rahayu")
        waitUntil("already paid") { shows(paid, t.alreadyPaid) }
        shot(paid, "44-doorstep-already-paid", listOf(text(paid, t.alreadyPaid), btn(paid, t.viewReceipt)), listOf(text(paid, t.alreadyPaid)))
        paid.finish()

        // --- the uploads, and the lock
        val sync = launch(SyncActivity::class.java)
        waitUntil("the status") { shows(sync, t.pending(1)) }
        shot(sync, "50-sync-pending")
        tap(sync, t.syncNow)
        waitUntil("everything uploaded") { shows(sync, t.allUploaded) }
        shot(sync, "51-sync-uploaded")

        // --- no network: the roster shows the phone's copy, a visit is still recorded, the upload says why it waits
        server.stop()
        val offline = launch(RosterActivity::class.java)
        val networkError = t.error(ErrorKind.NETWORK)
        waitUntil("the offline note: ${texts(offline)}") { shows(offline, networkError) && items(offline).size == 4 }
        shot(offline, "07-roster-offline", listOf(text(offline, networkError)))
        val away = doorstep(offline, "Dewi Lestari")
        other(away, t.notHome)
        tap(button(dialogView(), t.yesNotHome))
        waitUntil("not home recorded offline") { away.isFinishing }
        val waiting = launch(SyncActivity::class.java)
        tap(waiting, t.syncNow)
        waitUntil("the network error: ${texts(waiting)}", 90_000) { shows(waiting, networkError) }
        shot(waiting, "52-sync-offline", listOf(text(waiting, networkError), btn(waiting, t.syncNow)))
        ShadowSystemClock.advanceBy(Duration.ofMinutes(6))
        waiting.dispatchTouchEvent(android.view.MotionEvent.obtain(0, 0, android.view.MotionEvent.ACTION_DOWN, 10f, 10f, 0))
        shot(waiting, "60-app-lock")
        assertTrue(Robo.unlockIfAsked(waiting))

        report("checks.txt")
    }

    /** Writes what the checks measured next to the pictures, and fails on any finding. */
    private fun report(name: String) {
        val report = Shots.dir?.let { File(it, "$size/$name") }
        report?.writeText((listOf("findings: ${checks.findings.size}") + checks.findings + listOf("", "contrast measured:") + checks.contrasts +
            listOf("", "instructions and primary actions (360x640 only):") + checks.positions).joinToString("\n") + "\n")
        println("$size: ${checks.findings.size} findings\n" + checks.findings.joinToString("\n"))
        assertTrue("${checks.findings.size} findings:\n" + checks.findings.joinToString("\n"), checks.findings.isEmpty())
    }

    @Test
    fun a_full_disk_as_a_picture() {
        // The phone's database on a small file system of its own (scripts/android-check.sh mounts it).
        val small = System.getProperty("salur.smallfs")
        Assume.assumeTrue("-Dsalur.smallfs=<a small tmpfs> is needed (scripts/android-check.sh mounts one)", small != null)
        World.databasePath = File(small, "screens-${System.nanoTime()}.db").path
        val roster = signedIn(shoot = false)
        val filler = Disk.fill(File(small!!))
        try {
            // SQLite may still record in pages it holds: the door is tried until the error shows.
            for (attempt in 1..40) {
                val dewi = doorstep(roster, "Dewi Lestari")
                other(dewi, t.notHome)
                tap(button(dialogView(), t.yesNotHome))
                val full = t.error(ErrorKind.NOT_RECORDED)
                waitUntil("recorded or refused: ${texts(dewi)}") { dewi.isFinishing || shows(dewi, full) }
                if (dewi.isFinishing) continue
                shot(dewi, "46-doorstep-disk-full", listOf(text(dewi, full)), listOf(text(dewi, full)))
                report("checks-disk-full.txt")
                return
            }
            error("the disk never filled")
        } finally {
            filler.delete()
            File(World.databasePath).delete()
        }
    }
}
