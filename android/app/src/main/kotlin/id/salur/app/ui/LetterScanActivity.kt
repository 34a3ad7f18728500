package id.salur.app.ui

import android.content.Intent
import android.view.View
import id.salur.core.CameraFrame
import id.salur.core.LetterScan

/**
 * The door starts from the recipient's invitation letter: the camera on its QR code, the core
 * verifies it offline with the roster's programme key and opens that recipient's doorstep. A
 * forged, altered, other-period or other-worker letter is refused with what to do instead, and the
 * camera keeps looking (the next letter may be the right one).
 */
class LetterScanActivity : ScanScreen<LetterScan>() {
    private val roster by lazy { app().prefs.getString("roster_id", null) }

    override fun ready() = roster != null

    override fun texts() = app().texts.let { it.scanLetter to it.scanLetterHint }

    override fun read(frame: CameraFrame): LetterScan = app().phone.scanLetter(roster!!, frame)

    override fun show(reading: LetterScan) {
        val t = app().texts
        when (reading) {
            is LetterScan.NoCode -> {}
            is LetterScan.Refused -> refuse(t.letterProblem(reading.problem))
            is LetterScan.Opened -> {
                done()
                val r = reading.recipient
                hint.text = t.letterOpened(reading.letterId)
                problem.visibility = View.GONE
                startActivity(Intent(this, DoorstepActivity::class.java)
                    .putExtra("recipient_ref", r.recipientRef).putExtra("name", r.name)
                    .putExtra("address", r.address).putExtra("amount", r.amount.toLong())
                    .putExtra("letter_id", reading.letterId))
                finish()
            }
        }
    }
}
