package id.salur.app.ui

import android.app.Activity
import android.app.Dialog
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.Canvas
import android.graphics.Rect
import android.os.Looper
import android.view.TextureView
import android.view.View
import android.view.ViewGroup
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowDialog
import java.io.File

/**
 * A screen as pixels (Robolectric's native graphics): the Activity's window, the camera frame the
 * app was last given drawn where its preview is (a TextureView draws nothing off a GPU) with the
 * preview's overlays drawn again on top, and a showing dialog dimmed over it as Android would.
 */
class Shot(val name: String, val bitmap: Bitmap, val layers: List<Layer>) {
    /** A window in the picture: its root view and where its top-left corner was drawn. */
    class Layer(val root: View, val x: Int, val y: Int)

    /** The top window (what the worker's finger meets). */
    val top: Layer get() = layers.last()

    /** The part of [v] its parents let it draw, in the picture; null when none. */
    fun visible(v: View): Rect? {
        val r = Rect()
        if (!v.getGlobalVisibleRect(r)) return null
        val layer = layers.last { l -> generateSequence(v) { it.parent as? View }.any { it === l.root } }
        r.offset(layer.x, layer.y)
        return r
    }

    /** Where [v] (a view of the top layer) is in the picture. */
    fun rect(v: View): Rect {
        val at = IntArray(2)
        v.getLocationInWindow(at)
        val layer = layers.last { l -> generateSequence(v) { it.parent as? View }.any { it === l.root } }
        return Rect(layer.x + at[0], layer.y + at[1], layer.x + at[0] + v.width, layer.y + at[1] + v.height)
    }
}

object Shots {
    /** Where the PNGs go (scripts/screens.sh sets it; outside the clone). */
    val dir: File? = System.getProperty("salur.screens")?.let(::File)

    fun take(activity: Activity, name: String): Shot {
        shadowOf(Looper.getMainLooper()).idle()
        val decor = activity.window.decorView
        val bitmap = Bitmap.createBitmap(decor.width, decor.height, Bitmap.Config.ARGB_8888)
        val canvas = Canvas(bitmap)
        decor.draw(canvas)
        val frame = World.cameras[activity]?.shown?.let { BitmapFactory.decodeFile(it.path) }
        previews(decor, canvas, 0, 0, frame)
        val layers = mutableListOf(Shot.Layer(decor, 0, 0))
        val dialog = ShadowDialog.getShownDialogs().lastOrNull { it.isShowing && owner(it) === activity }
        if (dialog != null) {
            // The framework's default dim behind a dialog (backgroundDimAmount 0.6).
            canvas.drawColor(0x99000000.toInt())
            val d = dialog.window!!.decorView
            layOut(d, bitmap.width, bitmap.height)
            val x = (bitmap.width - d.width) / 2
            val y = (bitmap.height - d.height) / 2
            canvas.save()
            canvas.translate(x.toFloat(), y.toFloat())
            d.draw(canvas)
            previews(d, canvas, x, y, frame)
            canvas.restore()
            layers += Shot.Layer(d, x, y)
        }
        val shot = Shot(name, bitmap, layers)
        dir?.let { save(shot, it) }
        return shot
    }

    private fun owner(d: Dialog): Activity? {
        var c = d.context
        while (c is android.content.ContextWrapper) {
            if (c is Activity) return c
            c = c.baseContext
        }
        return null
    }

    /**
     * Robolectric attaches a dialog's window without a size; it is laid out here as a phone does:
     * 95 % of the screen's width (Material's dialog_min_width_minor) and at most its height.
     */
    private fun layOut(d: View, w: Int, h: Int) {
        if (d.width > 0 && d.height > 0 && !d.isLayoutRequested) return
        val width = w * 95 / 100
        d.measure(View.MeasureSpec.makeMeasureSpec(width, View.MeasureSpec.EXACTLY), View.MeasureSpec.makeMeasureSpec(h, View.MeasureSpec.AT_MOST))
        d.layout(0, 0, d.measuredWidth, d.measuredHeight)
    }

    /**
     * The frame the app was last given, centre-cropped into each shown camera preview, then the
     * preview's later siblings (the oval, the prompt over it) drawn again above it.
     */
    private fun previews(root: View, canvas: Canvas, x: Int, y: Int, frame: Bitmap?) {
        for (tv in Robo.views(root).filterIsInstance<TextureView>().filter { it.isShown && it.width > 0 }) {
            val at = IntArray(2).also(tv::getLocationInWindow)
            val dst = Rect(x + at[0], y + at[1], x + at[0] + tv.width, y + at[1] + tv.height)
            canvas.save()
            canvas.translate(-x.toFloat(), -y.toFloat())
            if (frame != null) {
                val scale = maxOf(dst.width().toFloat() / frame.width, dst.height().toFloat() / frame.height)
                val sw = (dst.width() / scale).toInt()
                val sh = (dst.height() / scale).toInt()
                val src = Rect((frame.width - sw) / 2, (frame.height - sh) / 2, (frame.width + sw) / 2, (frame.height + sh) / 2)
                canvas.drawBitmap(frame, src, dst, null)
            } else {
                // No frame yet: the preview area marked, not left as a blank that looks like the page.
                canvas.drawRect(dst, android.graphics.Paint().apply { color = 0xFF444444.toInt() })
            }
            canvas.restore()
            val parent = tv.parent as? ViewGroup ?: continue
            for (i in parent.indexOfChild(tv) + 1 until parent.childCount) {
                val over = parent.getChildAt(i)
                if (!over.isShown) continue
                val o = IntArray(2).also(over::getLocationInWindow)
                canvas.save()
                canvas.translate(o[0].toFloat(), o[1].toFloat())
                over.draw(canvas)
                canvas.restore()
            }
        }
    }

    fun save(shot: Shot, dir: File) {
        val file = File(dir, "${shot.name}.png").apply { parentFile!!.mkdirs() }
        file.outputStream().use { shot.bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
    }
}
