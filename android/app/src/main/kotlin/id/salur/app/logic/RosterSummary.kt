package id.salur.app.logic

import id.salur.core.RecipientItem
import id.salur.core.RecipientStatus

/** Counts for the roster header. */
data class RosterCounts(val paid: Int, val toDo: Int, val ineligible: Int, val notHome: Int, val refused: Int)

/** The roster screen's plain logic: counts, labels and the order to visit in. */
object RosterSummary {
    fun counts(items: List<RecipientItem>): RosterCounts {
        val by = items.groupingBy { it.status }.eachCount()
        val notHome = by[RecipientStatus.NOT_HOME] ?: 0
        return RosterCounts(
            paid = by[RecipientStatus.PAID] ?: 0,
            // Not home means visit again: still to do.
            toDo = (by[RecipientStatus.TO_DO] ?: 0) + notHome,
            ineligible = by[RecipientStatus.INELIGIBLE] ?: 0,
            notHome = notHome,
            refused = by[RecipientStatus.REFUSED] ?: 0,
        )
    }

    fun label(texts: Texts, status: RecipientStatus): String = when (status) {
        RecipientStatus.TO_DO -> texts.toDo
        RecipientStatus.PAID -> texts.paid
        RecipientStatus.INELIGIBLE -> texts.ineligible
        RecipientStatus.NOT_HOME -> texts.notHome
        RecipientStatus.REFUSED -> texts.refused
    }

    /** Unvisited first, then those not at home, then the rest; by name within each. */
    fun visitOrder(items: List<RecipientItem>): List<RecipientItem> {
        val rank = mapOf(RecipientStatus.TO_DO to 0, RecipientStatus.NOT_HOME to 1)
        return items.sortedWith(compareBy({ rank[it.status] ?: 2 }, { it.name }))
    }
}
