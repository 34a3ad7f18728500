package id.salur.app.ui

import android.content.Intent
import android.os.Bundle
import android.view.View
import id.salur.core.DeviceState

/**
 * Sign-in and device registration: the worker's id and post office, the device key (created in
 * Keystore) registered with the server, then a wait for an administrator's approval.
 */
class SignInActivity : Screen() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = app()
        val t = app.texts
        title = t.signInTitle
        if (app.prefs.getString("worker_id", null) != null && app.prefs.getBoolean("approved", false)) {
            startActivity(Intent(this, RosterChoiceActivity::class.java))
            finish()
            return
        }
        val worker = field(t.workerId).apply { setText(app.prefs.getString("worker_id", "")) }
        val office = field(t.postOffice).apply { setText(app.prefs.getString("post_office", "")) }
        // Scanned from the approver's QR code (worker and post office with it), or typed.
        val enrolment = field(t.enrolmentCode)
        scanned = { w, o, code ->
            worker.setText(w)
            office.setText(o)
            enrolment.setText(code)
        }
        val status = label("", 20f)
        lateinit var checkAgain: View
        fun register() {
            val w = worker.text.toString().trim()
            val o = office.text.toString().trim()
            if (w.isEmpty() || o.isEmpty()) {
                status.text = t.needWorkerAndOffice
                return
            }
            val code = enrolment.text.toString().trim()
            val registered = app.prefs.getString("worker_id", null) != null && app.prefs.getBoolean("registered", false)
            if (code.isEmpty() && !registered) {
                status.text = t.needEnrolmentCode
                return
            }
            app.prefs.edit().putString("worker_id", w).putString("post_office", o).apply()
            status.text = t.loading
            core(status, {
                // The key is made anew with the server's nonce only before the first accepted
                // registration; asking again later (pending) re-sends the same registration.
                app.registerDevice(w, o, code, fresh = !registered)
            }) { state ->
                app.prefs.edit().putBoolean("registered", true).apply()
                when (state) {
                    DeviceState.APPROVED -> {
                        app.prefs.edit().putBoolean("approved", true).apply()
                        startActivity(Intent(this, RosterChoiceActivity::class.java))
                        finish()
                    }
                    DeviceState.PENDING -> {
                        status.text = t.waitingApproval
                        checkAgain.visibility = View.VISIBLE
                    }
                    DeviceState.REVOKED -> status.text = t.deviceRevoked
                }
            }
        }
        checkAgain = button(t.checkAgain) { register() }.apply { visibility = View.GONE }
        val scan = button(t.scanEnrolment) { startActivityForResult(Intent(this, EnrolmentScanActivity::class.java), SCAN) }
        setContentView(
            column(scan, worker, office, enrolment, button(t.register) { register() }, status, checkAgain),
        )
    }

    private var scanned: (String, String, String) -> Unit = { _, _, _ -> }

    @Deprecated("Deprecated in Java")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        super.onActivityResult(requestCode, resultCode, data)
        if (requestCode != SCAN || resultCode != RESULT_OK || data == null) return
        scanned(
            data.getStringExtra(EnrolmentScanActivity.WORKER) ?: return,
            data.getStringExtra(EnrolmentScanActivity.POST_OFFICE) ?: return,
            data.getStringExtra(EnrolmentScanActivity.CODE) ?: return,
        )
    }

    companion object {
        private const val SCAN = 3
    }
}
