package id.salur.app.ui

import android.os.Bundle
import id.salur.app.logic.SyncStatusText
import id.salur.core.SyncCounts
import id.salur.core.SyncObserver

/** Upload status: pending count, last upload, errors; and "upload now" with its progress. */
class SyncActivity : Screen() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = app()
        val t = app.texts
        title = t.syncTitle
        val lines = label("", 20f)
        val progress = label("", 20f)
        fun show() = core(lines, { app.phone.syncStatus() }) { status ->
            lines.text = SyncStatusText.lines(t, status, System.currentTimeMillis()).joinToString("\n")
        }
        val observer = object : SyncObserver {
            override fun onProgress(counts: SyncCounts) {
                runOnUiThread { progress.text = "${t.uploading} ${counts.acknowledged}/${counts.pending}" }
            }
            override fun onRetry(message: String) {
                runOnUiThread { progress.text = t.uploading }
            }
        }
        setContentView(column(lines, progress, button(t.syncNow) {
            progress.text = t.uploading
            core(progress, { app.phone.sync(observer) }) { progress.text = "" }.invokeOnCompletion { runOnUiThread { show() } }
        }))
        show()
    }
}
