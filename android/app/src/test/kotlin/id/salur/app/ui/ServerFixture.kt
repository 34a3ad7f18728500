package id.salur.app.ui

import id.salur.core.test.adminCall
import org.junit.Assert.assertEquals
import org.junit.Assert.fail
import java.io.File
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Files

/**
 * A real `salur serve` on loopback with its own SQLite file and a real roster imported by
 * `salur import-roster`: two rosters for worker pos-ui, one for someone else; Agus Salim's KK
 * lists his daughter.
 */
class ServerFixture {
    val work: File = Files.createTempDirectory("salur-ui").toFile()
    private val data = File(work, "server")
    private val salur = System.getProperty("salur.bin")
    val port = ServerSocket(0).use { it.localPort }
    val url = "http://127.0.0.1:$port"
    private var server: Process? = null

    private val csv = File(work, "roster.csv")
    private val faces = File(World.root, "test-vectors/faces")

    init {
        val head = "nik,name,address,province,regency,district,village,post_office,amount,period,worker_id,photo,kk_members\n"
        fun row(nik: String, name: String, amount: Int, roster: String, worker: String, photo: String, kk: String = "") =
            "$nik,$name,Jl. Merdeka $nik,31,3171,317101,3171011001,po-1,$amount,$roster,$worker,$photo,$kk\n"
        csv.writeText(head +
            row("3171010101800001", "Siti Rahayu", 600000, ROSTER, WORKER, "../liveness/motion/lp_d12/0060.jpg") +
            row("3171010101800002", "Budi Santoso", 600000, ROSTER, WORKER, "same/fr_obama/1.jpg") +
            row("3171010101800003", "Dewi Lestari", 600000, ROSTER, WORKER, "") +
            row("3171010101800004", "Agus Salim", 600000, ROSTER, WORKER, "", "$KK_DAUGHTER:Sri Wahyuni") +
            row("3171010101800005", "Rina Wati", 300000, "pkh-2026-q4", WORKER, "") +
            row("3171010101800006", "Joko Widodo", 600000, ROSTER, "pos-other", ""))
        run("import-roster", csv.path, "--photos", faces.path, "--data-dir", data.path)
        start()
    }

    /** Starts (or restarts) the server on the same port and data. */
    fun start() {
        server = ProcessBuilder(salur, "serve", "--data-dir", data.path, "--listen", "127.0.0.1:$port", "--allow-unattested-devices")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(File(work, "server.log"))
            .apply { environment()["SALUR_ADMIN_TOKEN"] = ADMIN }
            .start()
        repeat(200) {
            if (runCatching { Socket("127.0.0.1", port).close() }.isSuccess) return
            Thread.sleep(50)
        }
        fail("salur serve did not start")
    }

    fun stop() {
        server?.destroyForcibly()?.waitFor()
        server = null
    }

    /** Runs the `salur` CLI and returns its standard output. */
    fun run(vararg args: String): String {
        val p = ProcessBuilder(salur, *args).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val out = String(p.inputStream.readBytes()).trim()
        assertEquals("salur ${args.first()}: $out", 0, p.waitFor())
        return out
    }

    /**
     * The roster's invitation letters as `salur letters` prints them, each page rendered to a
     * PNG at 100 dpi by poppler (what a camera sees of a sheet held flat), by recipient name.
     * With [forged]: the same roster imported into another server, whose programme key is not
     * this server's (a letter printed by someone who is not the programme).
     */
    fun letterPages(forged: Boolean = false): Map<String, File> {
        val dir = File(work, if (forged) "forged-letters" else "letters").apply { mkdirs() }
        val dataDir = if (forged) File(work, "forger").also {
            if (!it.exists()) run("import-roster", csv.path, "--photos", faces.path, "--data-dir", it.path)
        } else data
        val pdf = File(dir, "letters.pdf")
        run(
            "letters", "--roster", ROSTER, "--data-dir", dataDir.path, "--out", pdf.path,
            "--check-url", "https://salur.example.go.id/cek", "--complaint-phone", "0800-1-500-500",
        )
        tool("pdftoppm", "-r", "100", "-png", pdf.path, File(dir, "page").path)
        return dir.listFiles { f -> f.name.endsWith(".png") }!!.sorted().withIndex().associate { (i, page) ->
            val text = tool("pdftotext", "-f", "${i + 1}", "-l", "${i + 1}", pdf.path, "-")
            val name = listOf("Siti Rahayu", "Budi Santoso", "Dewi Lestari", "Agus Salim", "Joko Widodo").single { text.contains(it) }
            name to page
        }
    }

    private fun tool(vararg args: String): String {
        val p = ProcessBuilder(*args).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val out = String(p.inputStream.readBytes())
        assertEquals("${args.first()}: $out", 0, p.waitFor())
        return out
    }

    /** `salur receipt verify` of a receipt QR text, against this server's database (offline). */
    fun verifyReceipt(qr: String): String = run("receipt", "verify", qr, "--data-dir", data.path)

    /** An administrator's request; the body of the answer. */
    fun admin(method: String, path: String): String = adminCall(url, ADMIN, method, path)

    /** A one-time enrolment code for `worker`'s phone, issued over the API as an approver would. */
    fun enrolmentCode(worker: String = WORKER): String {
        val body = "{\"worker_id\":\"$worker\",\"post_office\":\"po-1\",\"allow_unknown\":true}"
        val req = java.net.http.HttpRequest.newBuilder(java.net.URI("$url/v1/admin/enrolments"))
            .header("authorization", "Bearer $ADMIN").header("content-type", "application/json")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build()
        val resp = java.net.http.HttpClient.newHttpClient().send(req, java.net.http.HttpResponse.BodyHandlers.ofString())
        assertEquals(resp.body(), 201, resp.statusCode())
        return Regex("\"code\":\"([0-9A-Z-]+)\"").find(resp.body())!!.groupValues[1]
    }

    /** The picture of the enrolment QR code `salur devices enrol --png` makes for [worker] at po-1. */
    fun enrolmentQr(worker: String = WORKER): File {
        val png = File(work, "enrolment-$worker.png")
        run("devices", "enrol", "--worker", worker, "--post-office", "po-1", "--allow-unknown", "--png", png.path, "--data-dir", data.path)
        return png
    }

    /** A supervisor with their own secret (which only they and the server hold). */
    fun supervisor(id: String): String = run("supervisor", "add", id, "--post-office", "po-1", "--data-dir", data.path)

    /** What the supervisor's own tool answers for the phone's challenge. */
    fun approvalCode(secret: String, challenge: String) = run("supervisor", "code", "--secret", secret, "--challenge", challenge)

    fun close() {
        stop()
        work.deleteRecursively()
    }

    companion object {
        const val ADMIN = "ui-test-admin"
        const val WORKER = "pos-ui"
        const val ROSTER = "blt-2026-12"
        /** Agus Salim's daughter, in his KK (the roster lists her), who may collect for him. */
        const val KK_DAUGHTER = "3171010101800021"
    }
}
