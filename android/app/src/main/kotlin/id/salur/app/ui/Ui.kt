package id.salur.app.ui

import android.app.Activity
import android.content.Context
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.graphics.RectF
import android.view.View
import android.view.WindowManager
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView
import id.salur.app.SalurApp

/** Framework Views built in code: no layout inflation, no support libraries, small APK. */
fun Activity.app(): SalurApp = application as SalurApp

fun Context.column(vararg views: View) = LinearLayout(this).apply {
    orientation = LinearLayout.VERTICAL
    setPadding(32, 32, 32, 32)
    views.forEach { addView(it) }
}

fun Context.label(text: String, size: Float = 18f) = TextView(this).apply {
    this.text = text
    textSize = size
}

fun Context.field(hint: String) = EditText(this).apply { this.hint = hint; textSize = 20f }

fun Context.button(text: String, onClick: () -> Unit) = Button(this).apply {
    this.text = text
    textSize = 20f
    setOnClickListener { onClick() }
}

/** Screens that show faces are kept out of screenshots and the recent-apps thumbnail. */
fun Activity.secure() = window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)

/** The oval guide over the camera preview. */
class OvalGuide(context: Context) : View(context) {
    private val paint = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        style = Paint.Style.STROKE
        strokeWidth = 8f
        color = Color.WHITE
    }
    var matched = false
        set(value) { field = value; paint.color = if (value) Color.GREEN else Color.WHITE; invalidate() }

    override fun onDraw(canvas: Canvas) {
        val w = width * 0.6f
        val h = height * 0.6f
        canvas.drawOval(RectF((width - w) / 2, (height - h) / 2, (width + w) / 2, (height + h) / 2), paint)
    }
}
