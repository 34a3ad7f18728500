package id.salur.app.ui

import android.content.Intent
import android.os.Bundle
import android.widget.LinearLayout

/**
 * The rosters assigned to this worker by the server, with their counts; offline, the roster last
 * worked on (its copy is on the phone).
 */
class RosterChoiceActivity : Screen() {
    private lateinit var list: LinearLayout

    private fun open(roster: String) {
        app().prefs.edit().putString("roster_id", roster).apply()
        startActivity(Intent(this, RosterActivity::class.java))
    }

    override fun onCoreError(e: Throwable) {
        // Without signal the phone can still work the roster it holds.
        val last = app().prefs.getString("roster_id", null) ?: return
        list.addView(button("${app().texts.lastRosterOffline} ($last)") { open(last) })
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = app()
        val t = app.texts
        title = t.chooseRoster
        val status = label(t.loading, 20f)
        list = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        setContentView(column(status, list))
        core(status, { app.phone.assignedRosters() }) { rosters ->
            status.text = if (rosters.isEmpty()) t.noRosters else ""
            for (r in rosters) {
                list.addView(button(t.rosterLine(r.rosterId, r.recipients.toLong(), r.amountTotal.toLong())) { open(r.rosterId) })
            }
        }
    }
}
