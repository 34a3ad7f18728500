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
import id.salur.core.ReferenceKind
import java.io.ByteArrayOutputStream

/**
 * The doorstep: live preview with an oval guide and hints, the face check on camera frames (off
 * the UI thread), then confirm payment; e-KTP capture or first-visit enrolment when the phone has
 * no reference; ineligible, not home, refused; supervisor override after repeated failures.
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
        var template: ByteArray? = phone.recipientTemplate(roster, ref)
        var kind = ReferenceKind.REGISTRY
        val hint = label(t.holdInOval, 22f)
        val oval = OvalGuide(this)
        preview = TextureView(this)
        val overrideButton = button(t.supervisorOverride) { askOverride(roster, ref, app.prefs.getString("worker_id", "") ?: "") }
            .apply { isEnabled = false }
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
            runCatching { app.engine.templateFromCard(still()) }
                .onSuccess { template = it; kind = ReferenceKind.EKTP; hint.text = t.holdInOval }
                .onFailure { hint.text = flow.hintFor((it as? id.salur.core.SalurException.Failed)?.kind) ?: it.message }
        }
        val enrol = button(t.enrolFirstVisit) {
            runCatching { app.engine.enroll(listOf(still())) }
                .onSuccess { phone.saveEnrolment(roster, ref, it); template = it; kind = ReferenceKind.ENROLLED }
                .onFailure { hint.text = it.message }
        }
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
            hint, confirm, ektp, enrol, overrideButton, outcomes,
        ))

        preview.surfaceTextureListener = object : TextureView.SurfaceTextureListener {
            override fun onSurfaceTextureAvailable(surface: SurfaceTexture, width: Int, height: Int) {
                if (checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) {
                    requestPermissions(arrayOf(Manifest.permission.CAMERA), 1)
                    return
                }
                camera = CameraFrames(this@DoorstepActivity, surface) { frame ->
                    // Camera thread: the check runs here, never on the UI thread.
                    val reference = template ?: return@CameraFrames
                    if (flow.state is DoorstepState.Matched) return@CameraFrames
                    val state = flow.onCheck(runCatching { app.engine.checkFrame(reference, kind, frame) })
                    runOnUiThread {
                        hint.text = when (state) {
                            is DoorstepState.Framing -> state.hint
                            is DoorstepState.Matched -> "${t.matched} (${t.score(state.score)})"
                            is DoorstepState.Retry -> state.message
                            is DoorstepState.Rejected -> "${state.message} (${t.score(state.score)})"
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

    private fun askOverride(roster: String, ref: String, workerId: String) {
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
                app().phone.recordOverride(roster, ref, request.supervisorId.trim(), request.reason.trim(), flow.lastCheck, now())
                UploadJob.triggerNow(this)
                finish()
            }.show()
    }

    override fun onDestroy() {
        camera?.release()
        super.onDestroy()
    }
}
