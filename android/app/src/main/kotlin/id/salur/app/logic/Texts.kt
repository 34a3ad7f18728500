package id.salur.app.logic

import id.salur.core.ErrorKind
import id.salur.core.KkLookup
import id.salur.core.LetterProblem
import id.salur.core.LiveFailure
import id.salur.core.LiveHint
import id.salur.core.SalurException

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
    val enrolFirstVisit = t("Daftarkan wajah", "Enrol the face")
    val noReference = t("Belum ada foto wajah penerima: foto e-KTP-nya, atau daftarkan wajahnya (kunjungan pertama)",
        "No photo of the recipient's face yet: photograph their e-KTP, or enrol their face (first visit)")
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
    val checkAgain = t("Periksa persetujuan", "Check approval")
    val deviceRevoked = t("Perangkat ini dicabut: hubungi supervisor", "This device was revoked: contact your supervisor")
    val needWorkerAndOffice = t("Isi ID petugas dan kantor pos", "Enter the worker ID and the post office")
    val chooseRoster = t("Pilih daftar penyaluran", "Choose a disbursement roster")
    val noRosters = t("Belum ada daftar untuk Anda: hubungi supervisor", "No roster is assigned to you yet: contact your supervisor")
    val lastRosterOffline = t("Tanpa sinyal: lanjutkan daftar terakhir", "No signal: continue the last roster")
    val changeRoster = t("Ganti daftar", "Change roster")
    val emptyRoster = t("Tidak ada penerima di daftar ini", "Nobody on this roster")
    val noMatch = t("Tidak ada yang cocok dengan pencarian", "Nobody matches the search")
    val alreadyPaid = t("Sudah dibayar periode ini: jangan bayar lagi", "Already paid this period: do not pay again")
    val viewReceipt = t("Lihat tanda terima", "View receipt")
    val cameraNeeded = t(
        "Izin kamera ditolak. Kamera diperlukan untuk memeriksa wajah penerima; tanpa itu hanya bisa mencatat tidak di rumah atau tidak layak.",
        "Camera permission refused. The camera is needed to check the recipient's face; without it you can only record not home or ineligible.",
    )
    val askCameraAgain = t("Izinkan kamera", "Allow the camera")
    val amountDue = t("Jumlah yang harus diterima", "Amount to be received")
    val receivedInFull = t("Penerima menyatakan uang diterima penuh", "The recipient confirms they received it in full")
    val handOver = t("Serahkan uang, hitung bersama penerima, lalu minta penerima menekan tombol di bawah", "Hand over the money, count it with the recipient, then ask them to press the button below")
    val overrideChallenge = t("Kode untuk supervisor", "Code for the supervisor")
    val overrideCallSupervisor = t(
        "Telepon supervisor, bacakan kode ini, dan masukkan kode persetujuan yang diberikannya.",
        "Call your supervisor, read out this code and enter the approval code they give you.",
    )
    val enrolmentCode = t("Kode pendaftaran (dari supervisor)", "Enrolment code (from your supervisor)")
    val needEnrolmentCode = t("Masukkan kode pendaftaran dari supervisor", "Enter the enrolment code from your supervisor")
    val scanEnrolment = t("Pindai kode pendaftaran", "Scan the enrolment code")
    val scanEnrolmentHint = t("Arahkan kamera ke kode QR pendaftaran dari supervisor",
        "Point the camera at the enrolment QR code from your supervisor")
    val notAnEnrolmentCode = t("Ini bukan kode QR pendaftaran: minta kode pendaftaran ke supervisor",
        "This is not an enrolment QR code: ask your supervisor for the enrolment code")
    val approvalCode = t("Kode persetujuan (8 angka)", "Approval code (8 digits)")
    val approvalCodeNeeded = t("Kode persetujuan harus 8 angka dari supervisor", "The approval code must be the supervisor's 8 digits")
    val locked = t("Salur terkunci", "Salur is locked")
    val unlock = t("Buka kunci", "Unlock")
    val unlockWhy = t("Buka dengan kunci layar ponsel untuk melanjutkan", "Unlock with the phone's screen lock to continue")
    val screenLockNeeded = t(
        "Pasang kunci layar (PIN atau pola) di ponsel ini dulu: kunci perangkat Salur hanya bekerja setelah Anda membuka kunci.",
        "Set a screen lock (PIN or pattern) on this phone first: Salur's device key works only after you unlock.",
    )
    val recorded = t("Tercatat dan ditandatangani", "Recorded and signed")
    val receiptTitle = t("Tanda terima", "Receipt")
    /** The one step behind which the doorstep's other outcomes wait (the camera keeps the screen). */
    val more = t("Lainnya", "More")
    val moreTitle = t("Pilihan lain", "Other choices")
    val cancel = t("Batal", "Cancel")
    val confirmNotHomeTitle = t("Penerima tidak di rumah?", "Recipient not home?")
    val confirmNotHome = t("Kunjungan ini dicatat dan ditandatangani. Penerima tetap di daftar untuk dikunjungi lagi.",
        "This visit is recorded and signed. The recipient stays on the roster to visit again.")
    val yesNotHome = t("Ya, catat tidak di rumah", "Yes, record not home")
    val confirmRefusedTitle = t("Penerima menolak bantuan?", "Recipient refuses the aid?")
    val confirmRefused = t("Penolakan dicatat, ditandatangani dan dikirim ke server. Tidak bisa dibatalkan dari ponsel.",
        "The refusal is recorded, signed and sent to the server. It cannot be undone on the phone.")
    val yesRefused = t("Ya, catat menolak", "Yes, record refused")
    /** The override dialog's own action: it leads to the hand-over, which is where payment is confirmed. */
    val useApproval = t("Lanjutkan dengan persetujuan", "Continue with the approval")
    val uploading = t("Mengunggah…", "Uploading…")
    val loading = t("Memuat…", "Loading…")
    val enrolled = t("Wajah terdaftar: sekarang periksa sekali lagi", "Face enrolled: now check once more")
    val scanLetter = t("Pindai surat undangan", "Scan the invitation letter")
    val scanLetterHint = t("Arahkan kamera ke kode QR pada surat undangan, tahan rata dan dekat",
        "Point the camera at the invitation letter's QR code, held flat and close")

    /** Why a scanned letter does not open a payment, and what to do instead. */
    fun letterProblem(p: LetterProblem) = when (p) {
        LetterProblem.NOT_A_LETTER -> t("Itu bukan kode QR surat undangan Salur: arahkan ke kode di surat",
            "That is not a Salur invitation letter's QR code: point at the code on the letter")
        LetterProblem.FORGED -> t("Surat PALSU atau diubah: jangan bayar. Periksa KTP dan KK penerima, lalu hubungi supervisor",
            "FORGED or altered letter: do not pay. Check the recipient's KTP and KK, then call your supervisor")
        LetterProblem.OTHER_ROSTER -> t("Surat untuk periode atau daftar lain: jangan bayar dengan surat ini",
            "A letter of another period or roster: do not pay on this letter")
        LetterProblem.NOT_ON_THIS_PHONE -> t("Penerima ini bukan di daftar Anda (petugas lain): arahkan ke petugasnya atau perbarui daftar",
            "This recipient is not on your roster (another worker's): send them to their worker or refresh the roster")
        LetterProblem.AMOUNT_DIFFERS -> t("Jumlah di surat berbeda dengan daftar: bayar sesuai daftar hanya setelah supervisor memeriksa",
            "The amount on the letter differs from the roster: pay only after your supervisor checks")
        LetterProblem.NO_PROGRAMME_KEY -> t("Ponsel belum punya kunci program untuk daftar ini: perbarui daftar saat ada sinyal",
            "The phone has no programme key for this roster: refresh the roster when there is signal")
    }
    val proxyCollect = t("Diambil anggota keluarga (surat kuasa)", "Collected by a family member (power of attorney)")
    val proxyIntro = t("Hanya anggota KK penerima yang membawa surat kuasa bertanda tangan penerima dan e-KTP sendiri. Ketik NIK dari e-KTP yang ditunjukkan.",
        "Only a member of the recipient's KK with a surat kuasa signed by the recipient and their own e-KTP. Type the NIK from the e-KTP shown.")
    val proxyNik = t("NIK di e-KTP anggota keluarga", "NIK on the family member's e-KTP")
    val proxyFind = t("Periksa di KK", "Check in the KK")
    val photoKuasa = t("Foto surat kuasa", "Photograph the surat kuasa")
    val kuasaTaken = t("Surat kuasa difoto. Sekarang foto e-KTP anggota keluarga", "Surat kuasa photographed. Now photograph the family member's e-KTP")
    val kuasaUnreadable = t("Foto surat kuasa tidak terbaca: foto seluruh surat lebih dekat, di tempat terang",
        "The surat kuasa photo cannot be read: photograph the whole letter closer, in good light")
    val photoMemberEktp = t("Foto e-KTP anggota keluarga", "Photograph the family member's e-KTP")
    fun proxyCollecting(name: String) = t("Diambil oleh anggota keluarga: $name (surat kuasa)", "Collected by a family member: $name (power of attorney)")
    fun proxyFaceInOval(name: String) = t("Posisikan wajah $name di dalam oval", "Place $name's face in the oval")

    /** Who the typed NIK is for this recipient, and what to do next. */
    fun kkLookup(l: KkLookup) = when (l) {
        is KkLookup.Member -> t("Di KK penerima: ${l.name}. Cocokkan nama dengan e-KTP, lalu foto surat kuasa",
            "In the recipient's KK: ${l.name}. Compare the name with the e-KTP, then photograph the surat kuasa")
        KkLookup.NotANik -> t("NIK harus 16 angka: ketik ulang dari e-KTP", "A NIK is 16 digits: type it again from the e-KTP")
        KkLookup.RecipientThemself -> t("Itu NIK penerima sendiri: periksa wajah penerima, tanpa surat kuasa",
            "That is the recipient's own NIK: check the recipient's face, no surat kuasa needed")
        KkLookup.NotInKk -> t("BUKAN anggota KK penerima: tidak boleh mengambil. Jangan bayar; penerima datang sendiri atau kunjungi lagi",
            "NOT a member of the recipient's KK: may not collect. Do not pay; the recipient comes in person or visit again")
    }
    val receiptCodeIntro = t("Bacakan kode tanda terima ini kepada penerima (atau cetak):",
        "Read this receipt code to the recipient (or print it):")
    val done = t("Selesai", "Done")
    val printSlip = t("Cetak tanda terima", "Print the receipt slip")
    val printing = t("Mencetak…", "Printing…")
    val printed = t("Tanda terima tercetak: serahkan kepada penerima", "Slip printed: hand it to the recipient")
    val noPrinter = t("Belum ada printer terpasang: pasangkan printer Bluetooth di Pengaturan ponsel, atau bacakan kodenya",
        "No printer paired: pair the Bluetooth printer in the phone's Settings, or read the code out")
    val printerUnreachable = t("Printer tidak terhubung: nyalakan printer, dekatkan, lalu coba lagi (pembayaran tetap tercatat)",
        "The printer cannot be reached: switch it on, bring it close and try again (the payment stays recorded)")
    val bluetoothNeeded = t("Izinkan Bluetooth untuk mencetak tanda terima", "Allow Bluetooth to print the slip")
    val receiptQr = t("Kode QR tanda terima bertanda tangan", "Signed receipt QR code")
    val receiptQrIntro = t("Penerima boleh memotret kode QR ini: tanda terima bertanda tangan yang bisa dicek tanpa internet",
        "The recipient may photograph this QR code: the signed receipt, which can be checked without internet")
    fun checkAt(url: String) = t("Penerima bisa mengecek kode ini dan melapor jika uang kurang di $url",
        "The recipient can check this code, and report if the money was short, at $url")
    fun letterOpened(id: String) = t("Surat undangan $id sah", "Invitation letter $id is genuine")

    /** What went wrong, in the worker's language, and what to do next. */
    fun error(e: Throwable): String {
        val failed = e as? SalurException.Failed ?: return t("Terjadi kesalahan: coba lagi", "Something went wrong: try again")
        return error(failed.kind)
    }

    /** The text for each of the core's error kinds. */
    fun error(kind: ErrorKind): String = when (kind) {
        ErrorKind.NETWORK -> t("Tidak ada sambungan ke server: data tetap aman di ponsel, coba lagi saat ada sinyal",
            "No connection to the server: the data is safe on the phone, try again when there is signal")
        ErrorKind.TLS -> t("Server tidak dapat dipastikan asli: jangan lanjutkan, hubungi supervisor",
            "The server's identity could not be verified: stop and contact your supervisor")
        ErrorKind.SERVER -> t("Server menolak permintaan: hubungi supervisor", "The server refused the request: contact your supervisor")
        ErrorKind.SYNC_BUSY -> t("Sedang mengunggah: tunggu sebentar", "An upload is running: wait a moment")
        ErrorKind.ENROLMENT_REFUSED -> t("Kode pendaftaran tidak dikenal, sudah dipakai, atau kedaluwarsa: minta kode baru ke supervisor",
            "The enrolment code is unknown, used or expired: ask your supervisor for a new one")
        ErrorKind.ATTESTATION_REFUSED -> t("Kunci ponsel ini tidak terbukti aman di perangkat keras: tanyakan ke supervisor ponsel mana yang dipakai",
            "This phone's key is not proven to be in secure hardware: ask your supervisor which phone to use")
        ErrorKind.STORAGE, ErrorKind.IO -> t("Penyimpanan ponsel penuh atau rusak: kosongkan ruang lalu coba lagi; tidak ada yang tercatat",
            "The phone's storage is full or failing: free some space and try again; nothing was recorded")
        ErrorKind.NOT_RECORDED -> t("TIDAK tercatat: penyimpanan ponsel penuh. Kosongkan ruang (hapus foto atau aplikasi lain) lalu coba lagi",
            "NOT recorded: the phone's storage is full. Free some space (delete photos or other apps) and try again")
        ErrorKind.NOT_FOUND -> t("Tidak ditemukan: perbarui daftar", "Not found: refresh the roster")
        ErrorKind.CRYPTO -> t("Kunci perangkat tidak bisa dipakai: buka kunci ponsel lalu coba lagi",
            "The device key cannot be used: unlock the phone and try again")
        ErrorKind.INVALID_ARGUMENT -> t("Tidak bisa dicatat seperti ini: periksa isian", "Cannot be recorded like this: check what was entered")
        ErrorKind.INVALID_RECEIPT -> t("Tanda terima tidak sah", "The receipt does not verify")
        ErrorKind.INVALID_LETTER -> t(
            "Surat undangan tidak sah untuk daftar Anda: jangan bayar; periksa KTP penerima dan hubungi supervisor",
            "This letter is not valid for your roster: do not pay; check the recipient's KTP and call your supervisor")
        ErrorKind.NO_FACE -> noFace
        ErrorKind.MULTIPLE_FACES -> twoFaces
        ErrorKind.FACE_TOO_SMALL -> tooFar
        ErrorKind.TOO_DARK -> tooDark
        ErrorKind.TOO_BLURRY -> blurry
        ErrorKind.NOT_AN_IMAGE, ErrorKind.TRUNCATED_IMAGE, ErrorKind.CORRUPT_IMAGE, ErrorKind.IMAGE_TOO_LARGE, ErrorKind.INVALID_FRAME ->
            t("Gambar tidak terbaca: ambil ulang", "The picture cannot be read: take it again")
        ErrorKind.ENROLMENT_MISMATCH -> t("Foto pendaftaran bukan orang yang sama", "The enrolment photos are not the same person")
        ErrorKind.INVALID_TEMPLATE -> t("Data wajah rusak: perbarui daftar", "The face data is damaged: refresh the roster")
        ErrorKind.MODEL, ErrorKind.MODEL_HASH -> t("Model wajah rusak: pasang ulang aplikasi", "The face model is damaged: reinstall the app")
        ErrorKind.INTERNAL -> t("Kesalahan aplikasi: coba lagi, lalu hubungi supervisor", "App fault: try again, then contact your supervisor")
    }

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
        LiveFailure.TOO_EARLY ->
            t("Menoleh sebelum diminta: ulangi, tunggu petunjuk di layar", "Turned before being asked: start again and wait for the prompt")
        LiveFailure.TOO_LATE ->
            t("Terlambat menoleh: ulangi, menoleh begitu petunjuk muncul", "Turned too late: start again and turn as soon as the prompt shows")
        LiveFailure.CARD_SHOWN_AGAIN ->
            t("Itu foto e-KTP lagi: arahkan kamera ke wajah penerima", "That is the e-KTP photo again: point the camera at the recipient")
    }

    fun rosterLine(id: String, recipients: Long, rupiah: Long) =
        t("${programmeTitle(id)} · $recipients penerima · ${amount(rupiah)}", "${programmeTitle(id)} · $recipients recipients · ${amount(rupiah)}")

    /**
     * A roster's title as a worker knows it: the programme and its period ("BLT · Desember 2026"
     * for `blt-2026-12`, "PKH · Triwulan IV 2026" for `pkh-2026-q4`); an id of another shape as is.
     */
    fun programmeTitle(rosterId: String): String {
        val m = Regex("([a-z][a-z0-9]*)-(\\d{4})-(\\d{2}|q[1-4])").matchEntire(rosterId.lowercase()) ?: return rosterId
        val (programme, year, part) = m.destructured
        val period = if (part.startsWith("q")) {
            val q = listOf("I", "II", "III", "IV")[part.substring(1).toInt() - 1]
            t("Triwulan $q $year", "Quarter $q $year")
        } else {
            val month = part.toInt().takeIf { it in 1..12 } ?: return rosterId
            "${(if (english) MONTHS_EN else MONTHS_ID)[month - 1]} $year"
        }
        return "${programme.uppercase()} · $period"
    }
    fun evidenceRefused(n: Long) = t("$n foto bukti ditolak server: akan dicoba lagi", "$n evidence photos refused by the server: will retry")
    fun receiptLine(id: String, seq: Long) = t("No. $seq · kode $id", "No. $seq · code $id")
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

    private companion object {
        val MONTHS_ID = listOf("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember")
        val MONTHS_EN = listOf("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
    }
}
