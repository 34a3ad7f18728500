package id.salur.app.ui

import android.app.Activity
import android.content.Context
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.graphics.RectF
import android.graphics.drawable.ColorDrawable
import android.graphics.drawable.StateListDrawable
import android.util.TypedValue
import android.view.View
import android.view.WindowManager
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import id.salur.app.SalurApp

/** Framework Views built in code: no layout inflation, no support libraries, small APK. */
fun Activity.app(): SalurApp = application as SalurApp

/** Touch targets of at least 48 dp (Android's accessibility minimum), in pixels. */
fun Context.minTouchPx(): Int = TypedValue.applyDimension(TypedValue.COMPLEX_UNIT_DIP, MIN_TOUCH_DP, resources.displayMetrics).toInt()

const val MIN_TOUCH_DP = 48f

/** Near-black on white and white on dark blue: readable in sunlight (contrast above 7:1). */
const val INK = 0xFF111111.toInt()
const val ACTION = 0xFF0B3D91.toInt()
const val WARNING = 0xFF8B0000.toInt()
const val DISABLED = 0xFF6B6B6B.toInt()
/** Field hints: the framework's 38 % black is 2.7:1 on white; this grey is 6.4:1 (WCAG AA). */
const val HINT = 0xFF5F5F5F.toInt()
/** Secondary actions: action-blue text on a pale blue (9.4:1), so the primary one stands out. */
const val SECONDARY = 0xFFE3EAF5.toInt()
/** Behind the prompt over the camera preview: white text on it stays above 12:1 whatever the camera sees. */
const val SCRIM = 0xE6000000.toInt()

/** Density-independent pixels to pixels. */
fun Context.dp(value: Int): Int = TypedValue.applyDimension(TypedValue.COMPLEX_UNIT_DIP, value.toFloat(), resources.displayMetrics).toInt()

fun Context.column(vararg views: View) = ScrollView(this).apply {
    setBackgroundColor(Color.WHITE)
    addView(LinearLayout(this@column).apply {
        orientation = LinearLayout.VERTICAL
        setPadding(dp(16), dp(16), dp(16), dp(16))
        views.forEach { addView(it) }
    })
}

/** Views side by side, sharing the width equally (buttons of one choice, on small screens). */
fun Context.row(vararg views: View) = LinearLayout(this).apply {
    orientation = LinearLayout.HORIZONTAL
    // One height for all (the tallest, when a label wraps), tops aligned.
    isBaselineAligned = false
    views.forEach {
        addView(it, LinearLayout.LayoutParams(0, LinearLayout.LayoutParams.MATCH_PARENT, 1f).apply { setMargins(4, 4, 4, 4) })
    }
}

/** A line of text; sizes are in sp so they follow the phone's font-size setting. */
fun Context.label(text: String, size: Float = 18f) = TextView(this).apply {
    this.text = text
    setTextSize(TypedValue.COMPLEX_UNIT_SP, size)
    setTextColor(INK)
}

fun Context.field(hint: String) = EditText(this).apply {
    this.hint = hint
    contentDescription = hint
    setTextSize(TypedValue.COMPLEX_UNIT_SP, 20f)
    setTextColor(INK)
    setHintTextColor(HINT)
    minHeight = minTouchPx()
}

fun Context.button(text: String, onClick: () -> Unit) = Button(this).apply {
    this.text = text
    contentDescription = text
    setTextSize(TypedValue.COMPLEX_UNIT_SP, 20f)
    setTextColor(Color.WHITE)
    // A disabled button must look disabled: grey, not the action blue.
    background = StateListDrawable().apply {
        addState(intArrayOf(-android.R.attr.state_enabled), ColorDrawable(DISABLED))
        addState(intArrayOf(), ColorDrawable(ACTION))
    }
    minHeight = minTouchPx()
    minimumHeight = minTouchPx()
    isAllCaps = false
    layoutParams = LinearLayout.LayoutParams(LinearLayout.LayoutParams.MATCH_PARENT, LinearLayout.LayoutParams.WRAP_CONTENT)
        .apply { setMargins(0, 8, 0, 8) }
    setOnClickListener { onClick() }
}

/** A less prominent action (the doorstep's "Lainnya", "Batal"): the same size, a pale background. */
fun Context.secondaryButton(text: String, onClick: () -> Unit) = button(text, onClick).apply { chosen(false) }

/**
 * One of a row of choices (the roster's filters) drawn as chosen (action blue) or not (pale), and
 * marked selected for screen readers.
 */
fun Button.chosen(on: Boolean) {
    isSelected = on
    setTextColor(if (on) Color.WHITE else ACTION)
    background = StateListDrawable().apply {
        addState(intArrayOf(-android.R.attr.state_enabled), ColorDrawable(DISABLED))
        addState(intArrayOf(), ColorDrawable(if (on) ACTION else SECONDARY))
    }
}

/**
 * A screen or dialog whose [content] scrolls while its [actions] stay fixed at the bottom: on a
 * small phone the action is on screen without scrolling, however long the text above it.
 */
fun Context.sheet(content: List<View>, actions: List<View>) = LinearLayout(this).apply {
    orientation = LinearLayout.VERTICAL
    setBackgroundColor(Color.WHITE)
    addView(ScrollView(this@sheet).apply {
        addView(LinearLayout(this@sheet).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(dp(16), dp(12), dp(16), dp(4))
            content.forEach { addView(it) }
        })
    }, LinearLayout.LayoutParams(LinearLayout.LayoutParams.MATCH_PARENT, 0, 1f))
    addView(LinearLayout(this@sheet).apply {
        orientation = LinearLayout.VERTICAL
        setPadding(dp(16), dp(4), dp(16), dp(8))
        actions.forEach { addView(it) }
    }, LinearLayout.LayoutParams(LinearLayout.LayoutParams.MATCH_PARENT, LinearLayout.LayoutParams.WRAP_CONTENT))
}

/**
 * The instruction over a camera preview: white on a near-black band at the preview's foot, read
 * out as it changes (the prompts are the live check's instructions).
 */
fun Context.overPreview(text: String) = label(text, 20f).apply {
    setTextColor(Color.WHITE)
    setBackgroundColor(SCRIM)
    setPadding(dp(16), dp(10), dp(16), dp(10))
    accessibilityLiveRegion = View.ACCESSIBILITY_LIVE_REGION_POLITE
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
