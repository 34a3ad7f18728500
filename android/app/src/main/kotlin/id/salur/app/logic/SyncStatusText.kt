package id.salur.app.logic

import id.salur.core.SyncStatus

/** The sync status screen's lines. */
object SyncStatusText {
    fun lines(texts: Texts, s: SyncStatus, nowMs: Long): List<String> = buildList {
        add(if (s.pending == 0uL) texts.allUploaded else texts.pending(s.pending.toLong()))
        s.oldestPendingMs?.let { add(texts.oldestWaiting((nowMs - it) / 3_600_000)) }
        add(s.lastSuccessMs?.let { texts.lastUpload((nowMs - it) / 60_000) } ?: texts.neverUploaded)
        if (s.rejected > 0uL) add(texts.rejectedCount(s.rejected.toLong()))
        if (s.evidenceRefused > 0uL) add(texts.evidenceRefused(s.evidenceRefused.toLong()))
    }

    /** What stopped the last upload, shown apart in the warning colour (null: nothing did). */
    fun problem(texts: Texts, s: SyncStatus): String? =
        // The core's words are English; the worker reads the text for its kind.
        s.lastErrorKind?.let { texts.error(it) }
}
