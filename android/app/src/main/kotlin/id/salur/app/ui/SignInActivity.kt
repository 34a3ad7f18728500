package id.salur.app.ui

import android.app.Activity
import android.content.Intent
import android.os.Bundle
import id.salur.core.DeviceState
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** Sign-in and device registration: the key is created in Keystore and registered with the server. */
class SignInActivity : Activity() {
    private val scope = MainScope()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = app()
        val t = app.texts
        if (app.prefs.getString("worker_id", null) != null && app.prefs.getBoolean("approved", false)) {
            startActivity(Intent(this, RosterActivity::class.java))
            finish()
            return
        }
        val worker = field(t.workerId).apply { setText(app.prefs.getString("worker_id", "")) }
        val office = field(t.postOffice).apply { setText(app.prefs.getString("post_office", "")) }
        val status = label("")
        setContentView(column(label(t.signInTitle, 24f), worker, office, button(t.register) {
            val w = worker.text.toString().trim()
            val o = office.text.toString().trim()
            app.prefs.edit().putString("worker_id", w).putString("post_office", o).apply()
            scope.launch {
                status.text = runCatching {
                    val answer = withContext(Dispatchers.IO) { app.phone.register(app.deviceId, w, o, app.signer.attestationChain()) }
                    if (answer == DeviceState.APPROVED) {
                        app.prefs.edit().putBoolean("approved", true).apply()
                        startActivity(Intent(this@SignInActivity, RosterActivity::class.java))
                        finish()
                    }
                    t.waitingApproval
                }.getOrElse { it.message ?: it.toString() }
            }
        }, status))
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }
}
