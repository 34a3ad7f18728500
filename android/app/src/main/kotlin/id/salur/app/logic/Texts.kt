package id.salur.app.logic

import id.salur.core.LiveFailure
import id.salur.core.LiveHint

/**
 * Every string the worker sees, in Bahasa Indonesia (default) and English. Kept in Kotlin rather
 * than res/values so the screens' logic is plain Kotlin, testable on the JVM, and the app builds
 * without generated resource classes; the language follows the phone's locale.
 */
class Texts(private val english: Boolean) {
    private fun t(id: String, en: String) = if (english) en else id

    val appName = "Salur"
    val signInTitle = t("Masuk dan daftarkan perangkat", "Sign in and register this device")
    val workerId = t("ID petugas", "Worker ID")
    val postOffice = t("Kantor pos", "Post office")
    val register = t("Daftarkan", "Register")
    val waitingApproval = t("Menunggu persetujuan supervisor", "Waiting for supervisor approval")
    val rosterTitle = t("Daftar penerima hari ini", "Today's recipients")
    val search = t("Cari nama atau NIK", "Search name or NIK")
    val all = t("Semua", "All")
    val toDo = t("Belum", "To do")
    val paid = t("Dibayar", "Paid")
    val ineligible = t("Tidak layak", "Ineligible")
    val notHome = t("Tidak di rumah", "Not home")
    val refused = t("Menolak", "Refused")
    val verifyFace = t("Verifikasi wajah", "Verify face")
    val holdInOval = t("Posisikan wajah penerima di dalam oval", "Place the recipient's face in the oval")
    val checking = t("Memeriksa…", "Checking…")
    val tooDark = t("Terlalu gelap: pindah ke tempat terang", "Too dark: move to the light")
    val tooFar = t("Terlalu jauh: dekatkan kamera", "Too far: move closer")
    val twoFaces = t("Lebih dari satu wajah: hanya penerima", "More than one face: only the recipient")
    val noFace = t("Wajah tidak terlihat", "No face seen")
    val blurry = t("Buram: pegang ponsel dengan stabil", "Blurry: hold the phone still")
    val matched = t("Wajah cocok", "Face matches")
    val retry = t("Belum yakin: ambil ulang", "Not sure: take it again")
    val rejected = t("Wajah tidak cocok: jangan bayar", "Face does not match: do not pay")
    val confirmPayment = t("Konfirmasi pembayaran", "Confirm payment")
    val paymentRecorded = t("Pembayaran tercatat dan ditandatangani", "Payment recorded and signed")
    val captureEktp = t("Foto e-KTP", "Photo of e-KTP")
    val enrolFirstVisit = t("Daftarkan wajah (kunjungan pertama)", "Enrol face (first visit)")
    val supervisorOverride = t("Persetujuan supervisor", "Supervisor override")
    val supervisorId = t("ID supervisor", "Supervisor ID")
    val overrideReason = t("Alasan (mis. lansia, cedera)", "Reason (e.g. elderly, injured)")
    val overrideNeedsReason = t("Isi ID supervisor dan alasan", "Enter the supervisor ID and a reason")
    val overrideSameWorker = t("Supervisor harus orang lain", "The supervisor must be someone else")
    val markIneligible = t("Tandai tidak layak", "Mark ineligible")
    val deceased = t("Meninggal", "Deceased")
    val moved = t("Pindah", "Moved")
    val notFound = t("Tidak ditemukan", "Not found")
    val notMeetingCriteria = t("Tidak memenuhi syarat", "Does not meet criteria")
    val syncTitle = t("Status unggah", "Upload status")
    val syncNow = t("Unggah sekarang", "Upload now")
    val allUploaded = t("Semua sudah terunggah", "Everything uploaded")
    val neverUploaded = t("Belum pernah terunggah", "Never uploaded")
    val startAgain = t("Ulangi pemeriksaan", "Start the check again")
    val cannotDoLiveCheck = t("Penerima tidak bisa menoleh", "Recipient cannot turn their head")

    /** What to tell the recipient during the live check. */
    fun liveHint(h: LiveHint) = when (h) {
        LiveHint.FACE_THE_CAMERA -> t("Lihat lurus ke kamera", "Look straight at the camera")
        LiveHint.TURN_LEFT -> t("Tolehkan kepala ke kiri, lalu kembali", "Turn your head to your left, then back")
        LiveHint.TURN_RIGHT -> t("Tolehkan kepala ke kanan, lalu kembali", "Turn your head to your right, then back")
        LiveHint.HOLD_STILL -> t("Tahan ponsel dengan stabil", "Hold the phone still")
        LiveHint.NO_FACE -> noFace
        LiveHint.MOVE_CLOSER -> tooFar
        LiveHint.ONE_FACE_ONLY -> twoFaces
    }

    /** Why the live check failed, and what to do next. */
    fun liveFailure(f: LiveFailure) = when (f) {
        LiveFailure.TIMED_OUT, LiveFailure.TOO_MANY_FRAMES, LiveFailure.INCOMPLETE ->
            t("Waktu habis: ulangi dan ikuti petunjuk", "Time ran out: start again and follow the prompts")
        LiveFailure.FACE_LOST -> t("Wajah keluar dari oval: ulangi", "The face left the oval: start again")
        LiveFailure.FACE_CHANGED, LiveFailure.FACE_JUMPED ->
            t("Wajah berganti: hanya penerima di depan kamera", "The face changed: only the recipient in front of the camera")
        LiveFailure.MULTIPLE_FACES -> twoFaces
        LiveFailure.FLAT_PICTURE, LiveFailure.SPOOF ->
            t("Bukan orang langsung (foto atau layar): jangan bayar", "Not a live person (a photo or a screen): do not pay")
        LiveFailure.NOT_CONTINUOUS -> t("Tolehkan kepala perlahan dalam satu gerakan", "Turn the head slowly, in one movement")
        LiveFailure.WRONG_DIRECTION -> t("Arah salah: ikuti petunjuk kiri/kanan", "Wrong way: follow the left/right prompt")
        LiveFailure.CARD_SHOWN_AGAIN ->
            t("Itu foto e-KTP lagi: arahkan kamera ke wajah penerima", "That is the e-KTP photo again: point the camera at the recipient")
    }

    fun pending(n: Long) = t("$n menunggu diunggah", "$n waiting to upload")
    fun counts(paid: Int, toDo: Int) = t("Dibayar $paid · Belum $toDo", "Paid $paid · To do $toDo")
    fun lastUpload(minutesAgo: Long) = t("Terakhir terunggah $minutesAgo menit lalu", "Last upload $minutesAgo min ago")
    fun oldestWaiting(hours: Long) = t("Tertua menunggu $hours jam", "Oldest waiting $hours h")
    fun rejectedCount(n: Long) = t("$n ditolak server: hubungi supervisor", "$n refused by the server: tell your supervisor")
    fun score(score: Float) = t("skor %.2f".format(score), "score %.2f".format(score))
    fun amount(rupiah: Long): String {
        val digits = rupiah.toString().reversed().chunked(3).joinToString(".").reversed()
        return "Rp$digits"
    }
}
