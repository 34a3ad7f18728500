package id.salur.app.ui

import android.Manifest
import android.app.AlertDialog
import android.content.pm.PackageManager
import android.os.Bundle
import android.os.SystemClock
import android.text.InputType
import android.graphics.Color
import android.graphics.Typeface
import android.util.TypedValue
import android.view.Gravity
import android.view.TextureView
import android.view.View
import android.widget.FrameLayout
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import id.salur.app.camera.FrameSource
import id.salur.app.logic.DoorstepFlow
import id.salur.app.logic.DoorstepState
import id.salur.app.logic.OverrideRequest
import id.salur.app.platform.LocationFeed
import id.salur.app.platform.SlipPrinter
import id.salur.core.FaceCheck
import id.salur.core.HeadMove
import id.salur.core.LiveHint
import id.salur.core.IneligibleKind
import id.salur.core.KkLookup
import id.salur.core.LiveSession
import id.salur.core.OverrideApproval
import id.salur.core.OverrideReason
import id.salur.core.ReceiptInfo
import id.salur.core.ReceiptQr
import id.salur.core.RecipientStatus

/**
 * The doorstep: the recipient's name and the amount due; the live preview with an oval guide and
 * the core's prompts; every camera frame goes to the current live visit (off the UI thread), which
 * ends in a face check that can pay only when the person is live and matches; e-KTP capture or
 * first-visit enrolment (with its own live check) when the phone has no reference. Paying shows
 * the amount large and asks the recipient to confirm they received it in full. Ineligible, not
 * home, refused (each confirmed first); supervisor override with the supervisor's approval code.
 * On a small phone nothing needed scrolls: the preview takes the room left between the header and
 * the actions fixed at the bottom, the prompt lies over its foot, and the rarer outcomes wait
 * behind one "Lainnya" (docs/screens.md shows every state). A recipient already
 * paid this period gets nothing but their receipt. A member of the recipient's KK may collect
 * for them: the NIK on their e-KTP must be in the KK, the surat kuasa is photographed, and their
 * own e-KTP photo is the reference for their live face.
 */
class DoorstepActivity : Screen() {
    private var camera: FrameSource? = null
    private var location: LocationFeed? = null
    private val flow by lazy { DoorstepFlow(app().texts) }
    private lateinit var roster: String
    private lateinit var ref: String
    private lateinit var hint: TextView
    private lateinit var permissionNote: TextView
    private lateinit var askCamera: View
    private lateinit var confirm: View
    private lateinit var overrideButton: View
    private lateinit var permissionPart: View
    private lateinit var cameraPart: View
    private lateinit var firstVisit: View
    private lateinit var proxyPanel: View
    private var openProxy: () -> Unit = {}

    // The visit the camera frames go to (camera thread); a new one (new random challenge) after each ends.
    @Volatile private var visit: LiveSession? = null
    @Volatile private var hasReference = false
    @Volatile private var card: ByteArray? = null
    @Volatile private var enrolling = false
    /** A family member collecting for the recipient (from the proxy panel): visits run against their e-KTP. */
    @Volatile private var proxy: ProxyCollector? = null
    // The proxy's first visit, started (and so checked) on the proxy panel; the camera thread takes it up.
    @Volatile private var handoff: LiveSession? = null
    @Volatile private var paused = false
    // Set on the UI thread; the camera thread starts the new visit (the core call stays off the UI thread).
    @Volatile private var restart = false
    // When the last visit ended (capture clock): its verdict stays on screen a moment before the next.
    @Volatile private var endedAt = -1L
    private var faceShown = false
    private var cameraOn = false

    /** The head moves the current visit asks for. */
    fun challenge(): List<HeadMove>? = visit?.challenge()

    // What the core asked for after the last frame (the prompt on screen; the tests' camera follows it).
    @Volatile private var lastHint: LiveHint? = null

    /** The prompt the screen shows now: a person (or the tests' camera) turns when it says so. */
    fun prompt(): LiveHint? = lastHint

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = app()
        val t = app.texts
        roster = app.prefs.getString("roster_id", null) ?: return finish()
        ref = intent.getStringExtra("recipient_ref") ?: return finish()
        title = t.programmeTitle(roster)
        val amount = intent.getLongExtra("amount", 0)
        val worker = app.prefs.getString("worker_id", "") ?: ""

        // Who and how much, in a few lines: the amount large and bold for the recipient to read.
        val standing = label(t.loading, 16f)
        val amountView = label(t.amount(amount), 30f).apply {
            typeface = Typeface.DEFAULT_BOLD
            contentDescription = "${t.amountDue} ${t.amount(amount)}"
        }
        val collector = label("", 16f).apply { setTextColor(WARNING); visibility = View.GONE }
        val header = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(dp(16), dp(6), dp(16), dp(6))
            addView(LinearLayout(this@DoorstepActivity).apply {
                orientation = LinearLayout.HORIZONTAL
                gravity = Gravity.CENTER_VERTICAL
                addView(label(intent.getStringExtra("name") ?: "", 20f), LinearLayout.LayoutParams(0, WRAP, 1f))
                addView(amountView, LinearLayout.LayoutParams(WRAP, WRAP))
            })
            addView(label(intent.getStringExtra("address") ?: "", 16f))
            // Opened from a verified letter: the worker sees which (the receipt names it too).
            intent.getStringExtra("letter_id")?.let { addView(label(t.letterOpened(it), 16f)) }
            addView(standing)
            addView(collector)
        }

        // The preview takes the room the screen has; the prompt lies over its foot.
        val preview = TextureView(this).apply { contentDescription = t.verifyFace }
        val oval = OvalGuide(this).apply { contentDescription = t.holdInOval }
        hint = overPreview(t.holdInOval)
        cameraPart = FrameLayout(this).apply {
            addView(preview, FrameLayout.LayoutParams(MATCH, MATCH))
            addView(oval, FrameLayout.LayoutParams(MATCH, MATCH))
            addView(hint, FrameLayout.LayoutParams(MATCH, WRAP, Gravity.BOTTOM))
        }
        permissionNote = label("", 18f).apply { setTextColor(WARNING) }
        askCamera = button(t.askCameraAgain) {
            // "Don't ask again" was chosen: only the app's settings page can grant it now.
            if (shouldShowRequestPermissionRationale(Manifest.permission.CAMERA)) requestPermissions(PERMISSIONS, PERMISSION_REQUEST)
            else startActivity(android.content.Intent(android.provider.Settings.ACTION_APPLICATION_DETAILS_SETTINGS,
                android.net.Uri.fromParts("package", packageName, null)))
        }
        // Without the camera: why, and the way to allow it, in the preview's place.
        permissionPart = column(permissionNote, askCamera).apply { visibility = View.GONE }
        val body = FrameLayout(this).apply {
            addView(cameraPart, FrameLayout.LayoutParams(MATCH, MATCH))
            addView(permissionPart, FrameLayout.LayoutParams(MATCH, MATCH))
            visibility = View.GONE
        }

        // The actions, fixed at the bottom: the step this visit is at, the payment, and one
        // "Lainnya" for the rest (not home, refused, ineligible, a family member, no live check).
        overrideButton = button(t.supervisorOverride) { askOverride(worker, OverrideReason.FACE_NOT_VERIFIED) }
            .apply { isEnabled = false; visibility = View.GONE }
        confirm = button(t.confirmPayment) {
            val state = flow.state as? DoorstepState.Matched ?: return@button
            handOver(amount) { app.phone.recordPaid(roster, ref, state.check, now(), true) }
        }.apply { isEnabled = false }
        val ektp = button(t.captureEktp) {
            val still = camera?.still() ?: return@button
            core(hint, { app.engine.templateFromCard(still) }) {
                card = still; enrolling = false; restart = true; hint.text = t.holdInOval
            }
        }
        // Enrolment is a live visit too: the person does the challenge, their face becomes the reference.
        val enrol = button(t.enrolFirstVisit) { enrolling = true; restart = true; hint.text = t.holdInOval }
        firstVisit = row(ektp, enrol).apply { visibility = View.GONE }
        lateinit var proxyRow: View
        val (panel, steps) = proxyParts { p ->
            listOf(firstVisit, proxyPanel, proxyRow).forEach { it.visibility = View.GONE }
            confirm.visibility = View.VISIBLE
            hint.visibility = View.VISIBLE
            collector.text = t.proxyCollecting(p.name)
            collector.visibility = View.VISIBLE
            hint.text = t.proxyFaceInOval(p.name)
        }
        proxyRow = steps.apply { visibility = View.GONE }
        proxyPanel = panel.apply { visibility = View.GONE }
        openProxy = {
            firstVisit.visibility = View.GONE
            confirm.visibility = View.GONE
            // The recipient's prompt means nothing while the papers are checked: the preview is for them now.
            hint.visibility = View.GONE
            proxyPanel.visibility = View.VISIBLE
            proxyRow.visibility = View.VISIBLE
        }
        val more = secondaryButton(t.more) { askMore(worker) }
        val receiptButton = button(t.viewReceipt) { showReceipt() }.apply { visibility = View.GONE }
        val footer = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(dp(12), dp(2), dp(12), dp(4))
            listOf(firstVisit, proxyRow, overrideButton, confirm, more, receiptButton).forEach(::addView)
            visibility = View.GONE
        }
        setContentView(LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setBackgroundColor(Color.WHITE)
            addView(header)
            addView(body, LinearLayout.LayoutParams(MATCH, 0, 1f))
            // The family member's NIK and what the KK says, above the steps, the preview still in view.
            addView(proxyPanel, LinearLayout.LayoutParams(MATCH, 0, 2f))
            addView(footer)
        })
        camera = app.camera(this, preview)
        location = LocationFeed(this) { fix -> core(null, { app.phone.setLocation(fix) }) }

        core(standing, { app.phone.roster(roster, "", null).firstOrNull { it.recipientRef == ref } }) { item ->
            if (item == null) return@core run { standing.text = t.error(id.salur.core.ErrorKind.NOT_FOUND) }
            if (item.status == RecipientStatus.PAID) {
                // Paid this period: the screen offers nothing but the receipt.
                standing.text = t.alreadyPaid
                standing.setTextSize(TypedValue.COMPLEX_UNIT_SP, 22f)
                standing.setTextColor(WARNING)
                footer.visibility = View.VISIBLE
                listOf(confirm, more).forEach { it.visibility = View.GONE }
                receiptButton.visibility = View.VISIBLE
                return@core
            }
            standing.text = id.salur.app.logic.RosterSummary.label(t, item.status)
            hasReference = item.hasTemplate
            body.visibility = View.VISIBLE
            footer.visibility = View.VISIBLE
            // The e-KTP photo and enrolment stand in for a missing reference only (the core refuses them otherwise).
            if (!hasReference) {
                firstVisit.visibility = View.VISIBLE
                hint.text = t.noReference
            }
            faceShown = true
            if (hasCamera()) startCamera() else requestPermissions(PERMISSIONS, PERMISSION_REQUEST)
        }
    }

    /** The doorstep's other outcomes and ways, one step away from the camera screen. */
    private fun askMore(worker: String) {
        val t = app().texts
        val choices = mutableListOf<Pair<String, () -> Unit>>(
            t.notHome to { confirmOutcome(t.confirmNotHomeTitle, t.confirmNotHome, t.yesNotHome) { app().phone.recordNotHome(roster, ref, now()) } },
            t.refused to { confirmOutcome(t.confirmRefusedTitle, t.confirmRefused, t.yesRefused) { app().phone.recordRefused(roster, ref, now()) } },
            t.markIneligible to { askIneligible() },
        )
        if (proxy == null) choices += t.proxyCollect to { openProxy() }
        choices += t.cannotDoLiveCheck to { askOverride(worker, OverrideReason.CANNOT_DO_LIVE_CHECK) }
        show(AlertDialog.Builder(this).setTitle(t.moreTitle)
            .setItems(choices.map { it.first }.toTypedArray()) { _, i -> choices[i].second() }.create())
    }

    /** A signed outcome that closes the visit is recorded only once the worker confirms it. */
    private fun confirmOutcome(title: String, message: String, yes: String, work: () -> Any) {
        val t = app().texts
        lateinit var dialog: AlertDialog
        val view = sheet(listOf(label(message, 18f)), listOf(
            button(yes) { dialog.dismiss(); record(work) },
            secondaryButton(t.cancel) { dialog.dismiss() },
        ))
        dialog = AlertDialog.Builder(this).setTitle(title).setView(view).create()
        show(dialog)
    }

    override fun onResume() {
        super.onResume()
        // Back from the background or the lock: the camera and location again.
        if (faceShown && hasCamera() && !cameraOn) startCamera()
    }

    private fun hasCamera() = checkSelfPermission(Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED

    @Deprecated("Deprecated in Java")
    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        if (requestCode != PERMISSION_REQUEST) return
        if (hasCamera()) {
            permissionPart.visibility = View.GONE
            cameraPart.visibility = View.VISIBLE
            if (!hasReference && proxy == null) firstVisit.visibility = View.VISIBLE
            startCamera()
        } else {
            // Refused: say why the camera matters and what can still be done without it.
            permissionNote.text = app().texts.cameraNeeded
            permissionPart.visibility = View.VISIBLE
            // No preview to show: the explanation takes its place.
            cameraPart.visibility = View.GONE
            // The e-KTP photo and enrolment need the camera too.
            firstVisit.visibility = View.GONE
            hint.text = app().texts.cameraNeeded
        }
    }

    private fun startCamera() {
        cameraOn = true
        location?.start()
        camera?.start { frame, capturedMs ->
            // Nothing a frame does may take the app down: the next frame tries again.
            runCatching { onFrame(frame, capturedMs) }
        }
    }

    private fun stopCamera() {
        cameraOn = false
        camera?.stop()
        location?.stop()
    }

    /** Camera thread: the core judges the frame here, never on the UI thread. */
    private fun onFrame(frame: id.salur.core.CameraFrame, capturedMs: Long) {
        if (paused || flow.state is DoorstepState.Matched) return
        val app = app()
        app.lock.touched(SystemClock.elapsedRealtime())
        val taken = handoff?.also {
            handoff = null
            visit?.close()
            visit = it
            flow.onNewVisit()
            restart = false
        }
        if (taken == null && flow.visitEnded && !restart && capturedMs - endedAt < HOLD_VERDICT_MS) return
        val fresh = taken == null && (restart || flow.visitEnded)
        restart = false
        val current = (if (fresh) null else visit) ?: runCatching { newVisit() }.getOrNull() ?: return
        val progress = runCatching { current.pushFrame(frame, capturedMs.toULong()) }
        lastHint = progress.getOrNull()?.hint
        val state = flow.onProgress(progress) { current.check() }
        if (flow.visitEnded) endedAt = capturedMs
        val t = app.texts
        var enrolled: String? = null
        if (enrolling && current.hasEnrolled()) {
            enrolled = runCatching { app.phone.saveEnrolment(roster, ref, current) }
                .fold({ hasReference = true; enrolling = false; restart = true; t.enrolled }, { t.error(it) })
        }
        runOnUiThread {
            // No score on screen: it would help someone tune an impostor attempt.
            hint.text = enrolled ?: when (state) {
                is DoorstepState.Framing -> state.hint
                is DoorstepState.Matched -> t.matched
                is DoorstepState.Retry -> state.message
                is DoorstepState.Rejected -> state.message
                is DoorstepState.LiveFailed -> state.message
            }
            confirm.isEnabled = flow.canPay
            // Shown only once offered: a disabled button would take the small screen's room for nothing.
            overrideButton.isEnabled = flow.overrideOffered
            overrideButton.visibility = if (flow.overrideOffered) View.VISIBLE else View.GONE
        }
    }

    /** A new live visit, bound by the core to this recipient and the reference it picks. */
    private fun newVisit(): LiveSession? {
        val app = app()
        visit?.close()
        val ektp = card
        val collector = proxy
        visit = when {
            collector != null -> collector.start(app)
            enrolling -> app.phone.startEnrolment(app.engine, roster, ref)
            ektp != null -> app.phone.startEktpVisit(app.engine, roster, ref, ektp)
            hasReference -> app.phone.startVisit(app.engine, roster, ref)
            else -> null
        }
        flow.onNewVisit()
        return visit
    }

    private fun now() = SystemClock.elapsedRealtime().toULong()

    /** Records an outcome off the UI thread; on success the visit is over, on failure the error shows. */
    private fun record(work: () -> Any) {
        paused = true
        // The error where the worker looks: over the preview, or in its place without the camera.
        val status = if (permissionPart.visibility == View.VISIBLE) permissionNote else hint
        core(status, { work() }) {
            app().uploadSoon()
            hint.text = app().texts.recorded
            finish()
        }
    }

    override fun onCoreError(e: Throwable) {
        paused = false
    }

    /** The money changes hands: the amount large, and the recipient's own "received in full". */
    private fun handOver(amount: Long, pay: () -> ReceiptInfo) {
        val t = app().texts
        paused = true
        lateinit var dialog: AlertDialog
        val status = label("", 18f)
        lateinit var received: View
        received = button(t.receivedInFull) {
            // One tap, one payment: disabled until the core answered (re-enabled on an error).
            received.isEnabled = false
            core(status, {
                val receipt = pay()
                // Recorded whatever happens next: a QR code that cannot be drawn leaves the code to read out.
                Triple(receipt, app().phone.checkUrl(), runCatching { app().phone.receiptQr(receipt.id) }.getOrNull())
            }) { (receipt, checkUrl, qr) ->
                dialog.dismiss()
                app().uploadSoon()
                hint.text = t.paymentRecorded
                showCode(receipt, checkUrl, qr)
            }.invokeOnCompletion { if (!isFinishing) runOnUiThread { received.isEnabled = true } }
        }
        val big = label(t.amount(amount), 44f).apply { typeface = Typeface.DEFAULT_BOLD }
        val view = sheet(listOf(label(t.amountDue, 20f), big, label(t.handOver, 18f), status), listOf(received))
        dialog = AlertDialog.Builder(this).setTitle(t.confirmPayment).setView(view)
            .setOnCancelListener { paused = false }.create()
        show(dialog)
    }

    /**
     * The receipt code the recipient keeps, large, to read aloud, and the signed receipt's QR code
     * to photograph (anyone can check it offline); the screen closes when done.
     */
    private fun showCode(receipt: ReceiptInfo, checkUrl: String, qr: ReceiptQr?) {
        val t = app().texts
        lateinit var dialog: AlertDialog
        val printStatus = label("", 16f)
        // The code first (read aloud), the QR code under it; printing and "done" stay at the bottom.
        val views = listOfNotNull(
            label(t.paymentRecorded, 18f), label(t.receiptCodeIntro, 18f),
            label(receipt.code, 34f).apply {
                typeface = Typeface.DEFAULT_BOLD
                contentDescription = "${t.receiptTitle} ${receipt.code.toList().joinToString(" ")}"
            },
            printStatus,
            qr?.let { label(t.receiptQrIntro, 16f) },
            qr?.let { QrImage.view(this, it, t.receiptQr) },
            label(t.checkAt(checkUrl), 16f),
        )
        val view = sheet(views, listOf(row(secondaryButton(t.printSlip) { printSlip(receipt, printStatus) }, button(t.done) { dialog.dismiss(); finish() })))
        dialog = AlertDialog.Builder(this).setTitle(t.receiptTitle).setView(view).setCancelable(false).create()
        show(dialog)
    }

    /**
     * A family member collects, under the camera preview (the worker sees what is photographed):
     * the NIK from their e-KTP must be in the recipient's KK (the core says who it is), the worker
     * compares the KK's name with the card, photographs the surat kuasa, then the member's e-KTP;
     * the first visit against it starts here, so that a bad photo is told at once. [started] runs
     * once the member's live check can begin. Returns the panel (the NIK, what the KK says) and
     * the row of its two photo steps, which sits with the screen's actions.
     */
    private fun proxyParts(started: (ProxyCollector) -> Unit): Pair<View, View> {
        val app = app()
        val t = app.texts
        val nik = field(t.proxyNik).apply { inputType = InputType.TYPE_CLASS_NUMBER }
        val status = label("", 16f)
        var member: KkLookup.Member? = null
        var kuasa: ByteArray? = null
        lateinit var photoKuasa: View
        lateinit var photoCard: View
        val find = button(t.proxyFind) {
            member = null; kuasa = null
            photoKuasa.isEnabled = false; photoCard.isEnabled = false
            core(status, { app.phone.findKkMember(roster, ref, nik.text.toString()) }) { found ->
                status.text = t.kkLookup(found)
                status.setTextColor(if (found is KkLookup.Member) INK else WARNING)
                member = found as? KkLookup.Member
                photoKuasa.isEnabled = member != null
            }
        }
        photoKuasa = button(t.photoKuasa) {
            val still = camera?.still() ?: return@button
            core(status, { runCatching { id.salur.core.kuasaPhoto(still) }.getOrNull() }) { kept ->
                kuasa = kept
                status.text = if (kept != null) t.kuasaTaken else t.kuasaUnreadable
                status.setTextColor(if (kept != null) INK else WARNING)
                photoCard.isEnabled = kept != null
            }
        }.apply { isEnabled = false }
        photoCard = button(t.photoMemberEktp) {
            val still = camera?.still() ?: return@button
            val who = member ?: return@button
            val letter = kuasa ?: return@button
            val collector = ProxyCollector(nik.text.toString(), who.name, still, letter)
            core(status, { collector.start(app) }) { first ->
                proxy = collector
                enrolling = false
                card = null
                handoff = first
                started(collector)
            }
        }.apply { isEnabled = false }
        // The field and what the KK says scroll under the preview; the two photo steps sit with the actions.
        val panel = ScrollView(this).apply {
            setBackgroundColor(Color.WHITE)
            addView(LinearLayout(this@DoorstepActivity).apply {
                orientation = LinearLayout.VERTICAL
                setPadding(dp(16), dp(4), dp(16), dp(4))
                listOf(nik, find, status, label(t.proxyIntro, 16f)).forEach(::addView)
            })
        }
        return panel to row(photoKuasa, photoCard)
    }

    /** The family member collecting: the NIK typed from their e-KTP, their KK name, the card and the surat kuasa. */
    private inner class ProxyCollector(val nik: String, val name: String, val card: ByteArray, val kuasa: ByteArray) {
        fun start(app: id.salur.app.SalurApp): LiveSession = app.phone.startProxyVisit(app.engine, roster, ref, nik, card, kuasa)
    }

    /** Prints the recipient's slip on a paired Bluetooth printer (the one paired, or the one chosen). */
    private fun printSlip(receipt: ReceiptInfo, status: TextView) {
        val t = app().texts
        val printer = app().slipPrinter(this)
        if (!printer.allowed()) {
            status.text = t.bluetoothNeeded
            requestPermissions(SlipPrinter.PERMISSIONS, PRINT_PERMISSION_REQUEST)
            return
        }
        val paired = printer.paired()
        val postOffice = app().prefs.getString("post_office", "") ?: ""
        fun printOn(device: android.bluetooth.BluetoothDevice) {
            status.text = t.printing
            core(status, { printer.print(device, app().phone.receiptSlip(receipt.id, postOffice)) }) { printed ->
                status.text = if (printed) t.printed else t.printerUnreachable
            }
        }
        when (paired.size) {
            0 -> status.text = t.noPrinter
            1 -> printOn(paired.single())
            else -> show(AlertDialog.Builder(this).setTitle(t.printSlip)
                .setItems(paired.map { @Suppress("MissingPermission") (it.name ?: it.address) }.toTypedArray()) { _, i -> printOn(paired[i]) }
                .create())
        }
    }

    private fun askIneligible() {
        val t = app().texts
        val kinds = listOf(t.deceased to IneligibleKind.DECEASED, t.moved to IneligibleKind.MOVED,
            t.notFound to IneligibleKind.NOT_FOUND, t.notMeetingCriteria to IneligibleKind.NOT_MEETING_CRITERIA)
        show(AlertDialog.Builder(this).setTitle(t.markIneligible).setItems(kinds.map { it.first }.toTypedArray()) { _, i ->
            record { app().phone.recordIneligible(roster, ref, kinds[i].second, null, now()) }
        }.create())
    }

    private fun askOverride(workerId: String, code: OverrideReason) {
        val t = app().texts
        core(hint, { app().phone.overrideChallenge(roster, ref, code) }) { challenge ->
            val supervisor = field(t.supervisorId)
            val reason = field(t.overrideReason)
            val approval = field(t.approvalCode).apply { inputType = InputType.TYPE_CLASS_NUMBER }
            val problem = label("", 18f).apply { setTextColor(WARNING) }
            lateinit var dialog: AlertDialog
            // Its action leads to the hand-over (where the payment is confirmed), and says so.
            val view = sheet(listOf(
                label(t.overrideCallSupervisor, 18f),
                label(t.overrideChallenge, 18f),
                label(challenge.chunked(4).joinToString(" "), 36f).apply { contentDescription = "${t.overrideChallenge} $challenge" },
                supervisor, reason, approval, problem,
            ), listOf(
                button(t.useApproval) {
                    val request = OverrideRequest(workerId, supervisor.text.toString(), reason.text.toString(), approval.text.toString())
                    request.problem(t)?.let { problem.text = it; return@button }
                    dialog.dismiss()
                    val granted = OverrideApproval(request.supervisorId.trim(), request.reason.trim(), code, request.approvalCode.trim())
                    val evidence: FaceCheck? = flow.lastCheck
                    handOver(intent.getLongExtra("amount", 0)) {
                        app().phone.recordOverride(roster, ref, granted, evidence, now(), true)
                    }
                },
            ))
            dialog = AlertDialog.Builder(this).setTitle(t.supervisorOverride).setView(view).create()
            show(dialog)
        }
    }

    private fun showReceipt() {
        val t = app().texts
        core(hint, { app().phone.receiptsFor(roster, ref) }) { receipts ->
            val lines = receipts.joinToString("\n") { t.receiptLine(it.code, it.seq.toLong()) }
            show(AlertDialog.Builder(this).setTitle(t.receiptTitle).setMessage(lines).create())
        }
    }

    override fun onPause() {
        // No frames judged (nor counted as the worker's activity) behind the lock or in the background.
        if (cameraOn) stopCamera()
        super.onPause()
    }

    override fun onDestroy() {
        // The camera thread has stopped (release waits for it) before its visit is closed.
        stopCamera()
        camera?.release()
        visit?.close()
        super.onDestroy()
    }

    companion object {
        private const val MATCH = LinearLayout.LayoutParams.MATCH_PARENT
        private const val WRAP = LinearLayout.LayoutParams.WRAP_CONTENT
        private const val PERMISSION_REQUEST = 1
        private const val PRINT_PERMISSION_REQUEST = 2
        /** How long a visit's verdict ("do not pay", "not live") stays before the next visit starts. */
        private const val HOLD_VERDICT_MS = 1_500L
        private val PERMISSIONS = arrayOf(Manifest.permission.CAMERA, *LocationFeed.PERMISSIONS)
    }
}
