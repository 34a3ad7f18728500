package id.salur.app.ui

import android.app.Activity
import android.os.Bundle
import id.salur.app.logic.SyncStatusText
import id.salur.core.SyncCounts
import id.salur.core.SyncObserver
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** Upload status: pending count, last upload, errors; and "upload now". */
class SyncActivity : Activity() {
    private val scope = MainScope()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = app()
        val t = app.texts
        val lines = label("")
        fun show() = scope.launch {
            val status = withContext(Dispatchers.IO) { app.phone.syncStatus() }
            lines.text = SyncStatusText.lines(t, status, System.currentTimeMillis()).joinToString("\n")
        }
        setContentView(column(label(t.syncTitle, 24f), lines, button(t.syncNow) {
            scope.launch {
                runCatching {
                    app.phone.sync(object : SyncObserver {
                        override fun onProgress(counts: SyncCounts) { runOnUiThread { lines.text = t.pending((counts.pending - counts.acknowledged).toLong()) } }
                        override fun onRetry(message: String) { runOnUiThread { lines.text = message } }
                    })
                }
                show()
            }
        }))
        show()
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }
}
