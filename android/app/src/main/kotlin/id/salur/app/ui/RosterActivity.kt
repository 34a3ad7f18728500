package id.salur.app.ui

import android.app.Activity
import android.content.Intent
import android.os.Bundle
import android.text.Editable
import android.text.TextWatcher
import android.widget.ArrayAdapter
import android.widget.LinearLayout
import android.widget.ListView
import id.salur.app.logic.RosterSummary
import id.salur.core.RecipientItem
import id.salur.core.RecipientStatus
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** Today's roster: search, filter by status, counts paid / to do. */
class RosterActivity : Activity() {
    private val scope = MainScope()
    private var filter: RecipientStatus? = null
    private var shown: List<RecipientItem> = emptyList()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = app()
        val t = app.texts
        val roster = app.prefs.getString("roster_id", "") ?: ""
        val counts = label("")
        val list = ListView(this)
        val search = field(t.search)
        fun refresh() = scope.launch {
            val items = withContext(Dispatchers.IO) { app.phone.roster(roster, search.text.toString(), filter) }
            val all = withContext(Dispatchers.IO) { app.phone.roster(roster, "", null) }
            val c = RosterSummary.counts(all)
            counts.text = t.counts(c.paid, c.toDo)
            shown = RosterSummary.visitOrder(items)
            list.adapter = ArrayAdapter(this@RosterActivity, android.R.layout.simple_list_item_1,
                shown.map { "${it.name} · ${it.address} · ${RosterSummary.label(t, it.status)}" })
        }
        search.addTextChangedListener(object : TextWatcher {
            override fun afterTextChanged(s: Editable?) { refresh() }
            override fun beforeTextChanged(s: CharSequence?, start: Int, count: Int, after: Int) {}
            override fun onTextChanged(s: CharSequence?, start: Int, before: Int, count: Int) {}
        })
        list.setOnItemClickListener { _, _, position, _ ->
            startActivity(Intent(this, DoorstepActivity::class.java)
                .putExtra("recipient_ref", shown[position].recipientRef).putExtra("name", shown[position].name)
                .putExtra("address", shown[position].address).putExtra("amount", shown[position].amount.toLong())
                .putExtra("status", RosterSummary.label(t, shown[position].status)))
        }
        val filters = LinearLayout(this).apply {
            for ((text, status) in listOf(t.all to null, t.toDo to RecipientStatus.TO_DO, t.paid to RecipientStatus.PAID)) {
                addView(button(text) { filter = status; refresh() })
            }
        }
        setContentView(column(counts, search, filters, button(t.syncTitle) {
            startActivity(Intent(this, SyncActivity::class.java))
        }, list))
        scope.launch {
            // A fresh roster when there is signal; the phone's copy otherwise.
            runCatching { withContext(Dispatchers.IO) { app.phone.refreshRoster(roster) } }
            refresh()
        }
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }
}
