package id.salur.app.ui

import android.graphics.Rect
import android.view.View
import android.view.ViewGroup
import android.widget.AbsListView
import android.widget.EditText
import android.widget.ImageView
import android.widget.ScrollView
import android.widget.TextView

/**
 * What a worker on a small phone needs of a screen, judged on the rendered picture ([Shot]):
 * the instruction and the primary action on screen without scrolling, no text cut off or under
 * another view, contrast measured from the pixels, targets a finger can hit. Each finding is a
 * line naming the screen, the view's text and the number measured.
 */
class PixelChecks(private val density: Float) {
    val findings = mutableListOf<String>()
    /** Every contrast measured: "screen: text = ratio" (for the commit message and docs). */
    val contrasts = mutableListOf<String>()
    /** Where each instruction and primary action was: "screen: text top-bottom dp". */
    val positions = mutableListOf<String>()

    private fun dp(px: Int) = px / density
    private fun px(dp: Float) = (dp * density).toInt()
    private fun say(shot: Shot, what: String) { findings += "${shot.name}: $what" }
    private fun name(v: View) = (v as? TextView)?.let { "\"${shown(it)}\"" } ?: v.javaClass.simpleName

    private fun shown(v: TextView): String = (if (v.text.isEmpty() && v !is EditText) "" else if (v.text.isEmpty()) v.hint ?: "" else v.text).toString().replace("\n", " ").take(40)

    /**
     * [views] lie inside the window, unscrolled. Robolectric gives the app the whole screen (no
     * status or navigation bar): the doorstep's actions are fixed to the window's foot and its
     * preview takes what is left, so on a phone they sit above its navigation bar the same way.
     */
    fun onScreen(shot: Shot, views: List<View>) {
        val bottom = shot.bitmap.height
        for (v in views) {
            if (!v.isShown) { say(shot, "${name(v)} is not shown"); continue }
            val r = shot.rect(v)
            positions += "${shot.name}: ${name(v)} ${dp(r.top).toInt()}-${dp(r.bottom).toInt()} dp"
            if (r.top < 0 || r.bottom > bottom) say(shot, "${name(v)} spans ${dp(r.top).toInt()}-${dp(r.bottom).toInt()} dp, the screen shows 0-${dp(bottom).toInt()} dp")
        }
    }

    /** Every check but [onScreen], on the top window; [strong] texts need AAA (7:1), the rest AA (4.5:1). */
    fun all(shot: Shot, strong: Set<View> = emptySet()) {
        val views = Robo.views(shot.top.root).filter { it.isShown && it.width > 0 && it.height > 0 }
        val texts = views.filterIsInstance<TextView>().filter { shown(it).isNotBlank() }
        for (v in texts) {
            clipped(shot, v)
            contrast(shot, v, if (v in strong) 7.0 else 4.5)
        }
        overlaps(shot, views.filter { (it is TextView && shown(it).isNotBlank()) || it is ImageView })
        for (v in views.filter { it.isClickable && it.isEnabled && it !is AbsListView && it !is ScrollView }) {
            if (v.width < px(MIN_TOUCH_DP) - 1 || v.height < px(MIN_TOUCH_DP) - 1) {
                say(shot, "${name(v)} is ${dp(v.width).toInt()}x${dp(v.height).toInt()} dp, under 48 dp")
            }
        }
    }

    /** Text cut short: ellipsised, taller or wider than its view, or cut by a parent (a scroller only at its edge). */
    private fun clipped(shot: Shot, v: TextView) {
        val layout = v.layout ?: return say(shot, "${name(v)} has no layout")
        for (i in 0 until layout.lineCount) if (layout.getEllipsisCount(i) > 0) say(shot, "${name(v)} is ellipsised on line ${i + 1}")
        val room = v.height - v.compoundPaddingTop - v.compoundPaddingBottom
        if (v !is EditText && layout.height > room + 1) say(shot, "${name(v)} needs ${dp(layout.height).toInt()} dp of height, has ${dp(room).toInt()} dp")
        val width = v.width - v.compoundPaddingLeft - v.compoundPaddingRight
        for (i in 0 until layout.lineCount) {
            // The glyphs' own width (a line's trailing space may hang past the edge unseen).
            val glyphs = android.text.Layout.getDesiredWidth(layout.text.subSequence(layout.getLineStart(i), layout.getLineEnd(i)).trimEnd(), v.paint)
            if (glyphs > width + 1) say(shot, "${name(v)} line ${i + 1} is ${dp(glyphs.toInt()).toInt()} dp wide in ${dp(width).toInt()} dp")
        }
        val full = shot.rect(v)
        val inPicture = Rect(0, 0, shot.bitmap.width, shot.bitmap.height)
        // Below a scroller's edge is "scroll to see", judged by onScreen; any other cut is a clip.
        val scrolled = generateSequence(v.parent as? View) { it.parent as? View }.any { it is ScrollView || it is AbsListView }
        if (!scrolled) {
            val visible = Rect()
            if (!v.getGlobalVisibleRect(visible) || visible.width() < v.width - 1 || visible.height() < v.height - 1 || !inPicture.contains(full)) {
                say(shot, "${name(v)} is cut: ${dp(visible.width()).toInt()}x${dp(visible.height()).toInt()} of ${dp(v.width).toInt()}x${dp(v.height).toInt()} dp visible")
            }
        }
    }

    /** Two views drawing in the same place, neither inside the other. */
    private fun overlaps(shot: Shot, views: List<View>) {
        // What is drawn: a view scrolled past its scroller's edge is cut there, not over the next view.
        val rects = views.mapNotNull { v -> shot.visible(v)?.let { v to it } }
        for (i in rects.indices) for (j in i + 1 until rects.size) {
            val (a, ra) = rects[i]
            val (b, rb) = rects[j]
            if (inside(a, b) || inside(b, a)) continue
            val overlap = Rect(ra)
            if (overlap.intersect(rb) && overlap.width() > 1 && overlap.height() > 1) {
                say(shot, "${name(a)} and ${name(b)} overlap by ${dp(overlap.width()).toInt()}x${dp(overlap.height()).toInt()} dp")
            }
        }
    }

    private fun inside(v: View, parent: View) = generateSequence(v.parent as? View) { it.parent as? View }.any { it === parent }

    /**
     * WCAG contrast from the picture: the background is the commonest colour round the text's
     * lines, the text colour the pixel farthest from it (a glyph's stem).
     */
    private fun contrast(shot: Shot, v: TextView, needed: Double) {
        val layout = v.layout ?: return
        val r = shot.rect(v)
        val bmp = shot.bitmap
        val counts = HashMap<Int, Int>()
        val pixels = mutableListOf<Int>()
        // An empty field shows its hint, drawn by a layout of its own: the whole text area then.
        // totalPaddingTop: the padding and where the gravity puts the text (a button centres it).
        val lines = if (v.text.isEmpty()) listOf(Rect(r.left + v.compoundPaddingLeft, r.top + v.extendedPaddingTop,
            r.right - v.compoundPaddingRight, r.bottom - v.extendedPaddingBottom)) else (0 until layout.lineCount).map { line ->
            val left = r.left + v.compoundPaddingLeft + layout.getLineLeft(line).toInt()
            val right = r.left + v.compoundPaddingLeft + layout.getLineRight(line).toInt()
            val top = r.top + v.totalPaddingTop + layout.getLineTop(line) - v.scrollY
            val bottom = r.top + v.totalPaddingTop + layout.getLineBottom(line) - v.scrollY
            Rect(left, top, right, bottom)
        }
        // Only text this picture shows: below a scroller's edge it is judged when scrolled to.
        val seen = shot.visible(v) ?: return
        for (box in lines.filter { seen.contains(it) }) {
            for (y in maxOf(0, box.top) until minOf(bmp.height, box.bottom)) for (x in maxOf(0, box.left) until minOf(bmp.width, box.right)) {
                val c = bmp.getPixel(x, y) or 0xFF000000.toInt()
                counts[c] = (counts[c] ?: 0) + 1
                pixels += c
            }
        }
        if (pixels.isEmpty()) return
        val background = counts.maxBy { it.value }.key
        val ink = pixels.maxBy { ratio(it, background) }
        val ratio = ratio(ink, background)
        contrasts += "${shot.name}: ${name(v)} %.1f:1".format(ratio)
        if (ratio < needed) say(shot, "${name(v)} contrast %.2f:1 (text #%06X on #%06X), needs %.1f:1".format(ratio, ink and 0xFFFFFF, background and 0xFFFFFF, needed))
    }

    companion object {
        /** WCAG 2 contrast ratio of two opaque colours. */
        fun ratio(a: Int, b: Int): Double {
            fun lum(c: Int): Double {
                fun ch(x: Int) = (x / 255.0).let { if (it <= 0.03928) it / 12.92 else Math.pow((it + 0.055) / 1.055, 2.4) }
                return 0.2126 * ch((c shr 16) and 0xff) + 0.7152 * ch((c shr 8) and 0xff) + 0.0722 * ch(c and 0xff)
            }
            val (hi, lo) = listOf(lum(a), lum(b)).sortedDescending()
            return (hi + 0.05) / (lo + 0.05)
        }
    }
}
