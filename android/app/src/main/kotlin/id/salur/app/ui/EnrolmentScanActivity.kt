package id.salur.app.ui

import android.content.Intent
import id.salur.core.CameraFrame
import id.salur.core.EnrolmentScan
import id.salur.core.scanEnrolment

/**
 * Sign-in by scanning the enrolment QR code the approver printed (`salur devices enrol`): the
 * core reads the code, worker and post office from it and the sign-in screen is filled with them.
 * Any other QR code (a letter, a receipt) is not an enrolment and is said so.
 */
class EnrolmentScanActivity : ScanScreen<EnrolmentScan>() {
    override fun texts() = app().texts.let { it.scanEnrolment to it.scanEnrolmentHint }

    override fun read(frame: CameraFrame): EnrolmentScan = scanEnrolment(frame)

    override fun show(reading: EnrolmentScan) {
        when (reading) {
            is EnrolmentScan.NoCode -> {}
            is EnrolmentScan.NotEnrolment -> refuse(app().texts.notAnEnrolmentCode)
            is EnrolmentScan.Found -> {
                done()
                setResult(RESULT_OK, Intent()
                    .putExtra(WORKER, reading.workerId).putExtra(POST_OFFICE, reading.postOffice).putExtra(CODE, reading.code))
                finish()
            }
        }
    }

    companion object {
        const val WORKER = "worker_id"
        const val POST_OFFICE = "post_office"
        const val CODE = "enrolment_code"
    }
}
