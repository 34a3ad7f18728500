package id.salur.app.ui

import android.Manifest
import android.app.Activity
import android.app.AlertDialog
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.SurfaceTexture
import android.os.Bundle
import android.os.SystemClock
import android.view.TextureView
import android.widget.FrameLayout
import android.widget.LinearLayout
import id.salur.app.camera.CameraFrames
import id.salur.app.logic.DoorstepFlow
import id.salur.app.logic.DoorstepState
import id.salur.app.logic.OverrideRequest
import id.salur.app.sync.UploadJob
import id.salur.core.IneligibleKind
import id.salur.core.LiveSession
import id.salur.core.OverrideApproval
import id.salur.core.OverrideReason
import java.io.ByteArrayOutputStream

/**
 * The doorstep: live preview with an oval guide and the core's prompts; every camera frame goes to
 * the current live visit (off the UI thread), which ends in a face check that can pay only when
 * the person is live and matches; e-KTP capture or first-visit enrolment (with its own live check)
 * when the phone has no reference; ineligible, not home, refused; supervisor override after
 * repeated failed visits, or with reason "cannot do the live check".
 */
class DoorstepActivity : Activity() {
    private var camera: CameraFrames? = null
    private lateinit var flow: DoorstepFlow
    private lateinit var preview: TextureView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        secure()
        val app = app()
        val t = app.texts
        val phone = app.phone
        val roster = app.prefs.getString("roster_id", "") ?: ""
        val ref = intent.getStringExtra("recipient_ref") ?: return finish()
        flow = DoorstepFlow(t)
        var hasReference = phone.recipientTemplate(roster, ref) != null
        var card: ByteArray? = null
        // The visit the camera frames go to; a new one (new random challenge) after each ends.
        var visit: LiveSession? = null
        var enrolling = false
        fun newVisit(): LiveSession? {
            visit?.close()
            // The core picks the reference and binds the visit to this recipient.
            val ektp = card
            visit = when {
                enrolling -> phone.startEnrolment(app.engine, roster, ref)
                ektp != null -> phone.startEktpVisit(app.engine, roster, ref, ektp)
                hasReference -> phone.startVisit(app.engine, roster, ref)
                else -> null
            }
            flow.onNewVisit()
            return visit
        }
        val hint = label(t.holdInOval, 22f)
        val oval = OvalGuide(this)
        preview = TextureView(this)
        val worker = app.prefs.getString("worker_id", "") ?: ""
        val overrideButton = button(t.supervisorOverride) { askOverride(roster, ref, worker, OverrideReason.FACE_NOT_VERIFIED) }
            .apply { isEnabled = false }
        val cannotTurn = button(t.cannotDoLiveCheck) { askOverride(roster, ref, worker, OverrideReason.CANNOT_DO_LIVE_CHECK) }
        val confirm = button(t.confirmPayment) {
            val state = flow.state as? DoorstepState.Matched ?: return@button
            phone.recordPaid(roster, ref, state.check, SystemClock.elapsedRealtime().toULong())
            UploadJob.triggerNow(this)
            hint.text = t.paymentRecorded
            finish()
        }.apply { isEnabled = false }

        fun still(): ByteArray {
            val bmp = preview.bitmap ?: error("no camera image yet")
            return ByteArrayOutputStream().also { bmp.compress(Bitmap.CompressFormat.JPEG, 90, it) }.toByteArray()
        }
        val ektp = button(t.captureEktp) {
            runCatching { still().also { app.engine.templateFromCard(it) } }
                .onSuccess { card = it; enrolling = false; newVisit(); hint.text = t.holdInOval }
                .onFailure { hint.text = flow.hintFor((it as? id.salur.core.SalurException.Failed)?.kind) ?: it.message }
        }
        // Enrolment is a live visit too: the person does the challenge, their face becomes the reference.
        val enrol = button(t.enrolFirstVisit) { enrolling = true; newVisit(); hint.text = t.holdInOval }
        val outcomes = LinearLayout(this).apply {
            addView(button(t.notHome) { phone.recordNotHome(roster, ref, now()); UploadJob.triggerNow(context); finish() })
            addView(button(t.refused) { phone.recordRefused(roster, ref, now()); UploadJob.triggerNow(context); finish() })
            addView(button(t.markIneligible) { askIneligible(roster, ref) })
        }
        setContentView(column(
            // The recipient's detail: who, where, how much, where they stand.
            label(intent.getStringExtra("name") ?: "", 24f),
            label(listOfNotNull(intent.getStringExtra("address"), t.amount(intent.getLongExtra("amount", 0)),
                intent.getStringExtra("status")).joinToString(" · ")),
            FrameLayout(this).apply {
                addView(preview, FrameLayout.LayoutParams(FrameLayout.LayoutParams.MATCH_PARENT, 900))
                addView(oval, FrameLayout.LayoutParams(FrameLayout.LayoutParams.MATCH_PARENT, 900))
            },
            hint, confirm, ektp, enrol, overrideButton, cannotTurn, outcomes,
        ))

        preview.surfaceTextureListener = object : TextureView.SurfaceTextureListener {
            override fun onSurfaceTextureAvailable(surface: SurfaceTexture, width: Int, height: Int) {
                if (checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) {
                    requestPermissions(arrayOf(Manifest.permission.CAMERA), 1)
                    return
                }
                camera = CameraFrames(this@DoorstepActivity, surface) { frame ->
                    // Camera thread: the core judges the frame here, never on the UI thread.
                    if (flow.state is DoorstepState.Matched) return@CameraFrames
                    val current = (if (flow.visitEnded) null else visit) ?: newVisit() ?: return@CameraFrames
                    val progress = runCatching { current.pushFrame(frame, SystemClock.elapsedRealtime().toULong()) }
                    val state = flow.onProgress(progress) { current.check() }
                    if (enrolling && current.hasEnrolled()) {
                        runCatching { phone.saveEnrolment(roster, ref, current) }.onSuccess {
                            hasReference = true; enrolling = false
                        }
                    }
                    runOnUiThread {
                        hint.text = when (state) {
                            is DoorstepState.Framing -> state.hint
                            is DoorstepState.Matched -> "${t.matched} (${t.score(state.score)})"
                            is DoorstepState.Retry -> state.message
                            is DoorstepState.Rejected -> "${state.message} (${t.score(state.score)})"
                            is DoorstepState.LiveFailed -> state.message
                        }
                        oval.matched = flow.canPay
                        confirm.isEnabled = flow.canPay
                        overrideButton.isEnabled = flow.overrideOffered
                    }
                }.also { it.start() }
            }
            override fun onSurfaceTextureSizeChanged(surface: SurfaceTexture, width: Int, height: Int) {}
            override fun onSurfaceTextureDestroyed(surface: SurfaceTexture): Boolean { camera?.release(); return true }
            override fun onSurfaceTextureUpdated(surface: SurfaceTexture) {}
        }
    }

    private fun now() = SystemClock.elapsedRealtime().toULong()

    private fun askIneligible(roster: String, ref: String) {
        val t = app().texts
        val kinds = listOf(t.deceased to IneligibleKind.DECEASED, t.moved to IneligibleKind.MOVED,
            t.notFound to IneligibleKind.NOT_FOUND, t.notMeetingCriteria to IneligibleKind.NOT_MEETING_CRITERIA)
        AlertDialog.Builder(this).setTitle(t.markIneligible).setItems(kinds.map { it.first }.toTypedArray()) { _, i ->
            app().phone.recordIneligible(roster, ref, kinds[i].second, null, now())
            UploadJob.triggerNow(this)
            finish()
        }.show()
    }

    private fun askOverride(roster: String, ref: String, workerId: String, code: OverrideReason) {
        val t = app().texts
        val supervisor = field(t.supervisorId)
        val reason = field(t.overrideReason)
        AlertDialog.Builder(this).setTitle(t.supervisorOverride).setView(column(supervisor, reason))
            .setPositiveButton(t.confirmPayment) { _, _ ->
                val request = OverrideRequest(workerId, supervisor.text.toString(), reason.text.toString())
                val problem = request.problem(t)
                if (problem != null) {
                    AlertDialog.Builder(this).setMessage(problem).show()
                    return@setPositiveButton
                }
                val approval = OverrideApproval(request.supervisorId.trim(), request.reason.trim(), code)
                app().phone.recordOverride(roster, ref, approval, flow.lastCheck, now())
                UploadJob.triggerNow(this)
                finish()
            }.show()
    }

    override fun onDestroy() {
        camera?.release()
        super.onDestroy()
    }
}
