package id.salur.app.ui

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

/** The chosen roster: search, filter by status, counts paid / to do; a tap opens the doorstep. */
class RosterActivity : Screen() {
    private var filter: RecipientStatus? = null
    private var shown: List<RecipientItem> = emptyList()
    private lateinit var reload: () -> Unit
    private var reloading: kotlinx.coroutines.Job? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = app()
        val t = app.texts
        val roster = app.prefs.getString("roster_id", null) ?: run {
            startActivity(Intent(this, RosterChoiceActivity::class.java))
            return finish()
        }
        // The programme and period the worker knows, not the roster's id.
        title = t.programmeTitle(roster)
        val counts = label("", 22f)
        val status = label("")
        // Why the list is the phone's copy (no connection): in the warning colour, apart from the counts.
        val note = label("").apply { setTextColor(WARNING) }
        val list = ListView(this).apply { contentDescription = t.rosterTitle }
        val search = field(t.search)
        reload = {
            val query = search.text.toString()
            val only = filter
            // The newest query wins: an older answer arriving late must not overwrite it.
            reloading?.cancel()
            reloading = core(status, { app.phone.roster(roster, query, only) to app.phone.roster(roster, "", null) }) { (items, all) ->
                val c = RosterSummary.counts(all)
                counts.text = t.counts(c.paid, c.toDo)
                shown = RosterSummary.visitOrder(items)
                status.text = when {
                    all.isEmpty() -> t.emptyRoster
                    shown.isEmpty() -> t.noMatch
                    else -> ""
                }
                list.adapter = ArrayAdapter(this, android.R.layout.simple_list_item_1,
                    shown.map { "${it.name} · ${it.address} · ${RosterSummary.label(t, it.status)}" })
            }
        }
        search.addTextChangedListener(object : TextWatcher {
            override fun afterTextChanged(s: Editable?) = reload()
            override fun beforeTextChanged(s: CharSequence?, start: Int, count: Int, after: Int) {}
            override fun onTextChanged(s: CharSequence?, start: Int, before: Int, count: Int) {}
        })
        list.setOnItemClickListener { _, _, position, _ ->
            val r = shown[position]
            startActivity(Intent(this, DoorstepActivity::class.java)
                .putExtra("recipient_ref", r.recipientRef).putExtra("name", r.name)
                .putExtra("address", r.address).putExtra("amount", r.amount.toLong()))
        }
        val options = listOf(t.all to null, t.toDo to RecipientStatus.TO_DO, t.paid to RecipientStatus.PAID)
        lateinit var choices: List<android.widget.Button>
        // The filter in force is the one drawn as chosen: the list under it says nothing of it.
        fun mark() = choices.forEachIndexed { i, b -> b.chosen(options[i].second == filter) }
        choices = options.map { (text, s) -> button(text) { filter = s; mark(); reload() } }
        mark()
        val filters = row(*choices.toTypedArray())
        // The list scrolls by itself under a fixed header (a ListView inside a ScrollView would not).
        setContentView(LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setBackgroundColor(android.graphics.Color.WHITE)
            setPadding(dp(16), dp(8), dp(16), 0)
            for (v in listOf(counts,
                button(t.scanLetter) { startActivity(Intent(this@RosterActivity, LetterScanActivity::class.java)) },
                search, filters,
                row(button(t.syncTitle) { startActivity(Intent(this@RosterActivity, SyncActivity::class.java)) },
                    button(t.changeRoster) { startActivity(Intent(this@RosterActivity, RosterChoiceActivity::class.java)); finish() }),
                note, status)) addView(v)
            addView(list, LinearLayout.LayoutParams(LinearLayout.LayoutParams.MATCH_PARENT, 0, 1f))
        })
        // A fresh roster when there is signal; the phone's copy (and the error's text) otherwise.
        core(status, { runCatching { app.phone.refreshRoster(roster) }.exceptionOrNull() }) { offline ->
            reload()
            note.text = offline?.let(t::error) ?: ""
        }
    }

    override fun onResume() {
        super.onResume()
        if (::reload.isInitialized) reload()
    }
}
