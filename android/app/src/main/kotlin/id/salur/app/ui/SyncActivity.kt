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
        // What stopped the last upload, apart from the counts and in the warning colour: "no
        // connection" must not read like one more status line.
        val problem = label("", 20f).apply { setTextColor(WARNING) }
        fun show() = core(lines, { app.phone.syncStatus() }) { status ->
            lines.text = SyncStatusText.lines(t, status, System.currentTimeMillis()).joinToString("\n")
            problem.text = SyncStatusText.problem(t, status) ?: ""
        }
        val observer = object : SyncObserver {
            override fun onProgress(counts: SyncCounts) {
                runOnUiThread { progress.text = "${t.uploading} ${counts.acknowledged}/${counts.pending}" }
            }
            override fun onRetry(message: String) {
                runOnUiThread { progress.text = t.uploading }
            }
        }
        setContentView(column(lines, progress, problem, button(t.syncNow) {
            problem.text = ""
            progress.text = t.uploading
            core(problem, { app.phone.sync(observer) }).invokeOnCompletion {
                runOnUiThread { progress.text = ""; show() }
            }
        }))
        show()
    }
}
