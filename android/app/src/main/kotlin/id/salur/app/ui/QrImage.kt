package id.salur.app.ui

import android.content.Context
import android.graphics.Bitmap
import android.graphics.Color
import android.widget.ImageView
import android.widget.LinearLayout
import id.salur.core.ReceiptQr

/** Draws the core's QR modules: sharp square modules with the four-module quiet zone readers need. */
object QrImage {
    /** Light modules round the code. */
    const val QUIET = 4
    /** Fewest screen pixels a module: below this a phone camera held close misreads the code. */
    const val MIN_PX_PER_MODULE = 3

    /** Whole screen pixels a module for the code to fill at most 90 % of [widthPx]. */
    fun pxPerModule(qr: ReceiptQr, widthPx: Int): Int = maxOf(MIN_PX_PER_MODULE, widthPx * 9 / 10 / (qr.side.toInt() + 2 * QUIET))

    /** The bitmap of [qr], [px] pixels a module (drawn unscaled: no blur between modules). */
    fun bitmap(qr: ReceiptQr, px: Int): Bitmap {
        val side = qr.side.toInt()
        val n = (side + 2 * QUIET) * px
        val pixels = IntArray(n * n) { i ->
            val (x, y) = (i % n) / px - QUIET to (i / n) / px - QUIET
            val dark = x in 0 until side && y in 0 until side && qr.modules[y * side + x].toInt() == 1
            if (dark) Color.BLACK else Color.WHITE
        }
        return Bitmap.createBitmap(pixels, n, n, Bitmap.Config.ARGB_8888)
    }

    fun view(context: Context, qr: ReceiptQr, description: String) = ImageView(context).apply {
        setImageBitmap(bitmap(qr, pxPerModule(qr, context.resources.displayMetrics.widthPixels)))
        scaleType = ImageView.ScaleType.CENTER
        contentDescription = description
        layoutParams = LinearLayout.LayoutParams(LinearLayout.LayoutParams.MATCH_PARENT, LinearLayout.LayoutParams.WRAP_CONTENT)
    }
}
