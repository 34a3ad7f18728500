// The doorstep flow from Kotlin on the JVM, through the generated UniFFI bindings and JNA, against
// the real core, models, photos and a real `salur serve` on loopback.
package id.salur.core.test

import id.salur.core.CameraFrame
import id.salur.core.DataKeyProvider
import id.salur.core.DeviceSigner
import id.salur.core.DeviceState
import id.salur.core.ErrorKind
import id.salur.core.FaceDecision
import id.salur.core.FaceEngine
import id.salur.core.HeadMove
import id.salur.core.LiveFailure
import id.salur.core.LiveHint
import id.salur.core.LiveProgress
import id.salur.core.LiveSession
import id.salur.core.IneligibleKind
import id.salur.core.Phone
import id.salur.core.RecipientStatus
import id.salur.core.ReferenceKind
import id.salur.core.SalurException
import id.salur.core.ServerConfig
import id.salur.core.SyncCounts
import id.salur.core.SyncObserver
import id.salur.core.verifyReceipt
import kotlinx.coroutines.runBlocking
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.BeforeClass
import org.junit.Test
import java.io.File
import java.net.ServerSocket
import java.nio.file.Files

class SalurFfiTest {
    companion object {
        private val root = File(System.getProperty("salur.root"))
        private val faces = File(root, "test-vectors/faces")
        private const val ADMIN = "kotlin-test-admin"
        private lateinit var engine: FaceEngine
        private lateinit var server: Process
        private lateinit var url: String
        private val work: File = Files.createTempDirectory("salur-kotlin").toFile()

        @BeforeClass @JvmStatic
        fun start() {
            engine = FaceEngine.fromDir(File(root, "models").path, 640u)
            val port = ServerSocket(0).use { it.localPort }
            url = "http://127.0.0.1:$port"
            val salur = System.getProperty("salur.bin")
            // Two recipients for worker pos-kt, with reference photos.
            val csv = File(work, "roster.csv")
            csv.writeText(
                "nik,name,address,province,regency,district,village,post_office,amount,period,worker_id,photo\n" +
                    "3171010101800001,Siti Rahayu,Jl. Merdeka 1,31,3171,317101,3171011001,po-1,600000,blt-kt,pos-kt,../liveness/motion/lp_d12/0060.jpg\n" +
                    "3171010101800002,Budi Santoso,Jl. Merdeka 2,31,3171,317101,3171011001,po-1,600000,blt-kt,pos-kt,same/fr_obama/1.jpg\n" +
                    "3171010101800003,Dewi Lestari,Jl. Merdeka 3,31,3171,317101,3171011001,po-1,600000,blt-kt,pos-kt,\n",
            )
            val data = File(work, "server")
            val import = ProcessBuilder(salur, "import-roster", csv.path, "--photos", faces.path, "--data-dir", data.path)
                .redirectErrorStream(true).start()
            assertEquals(String(import.inputStream.readBytes()), 0, import.waitFor())
            server = ProcessBuilder(salur, "serve", "--data-dir", data.path, "--listen", "127.0.0.1:$port", "--allow-unattested-devices")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .apply { environment()["SALUR_ADMIN_TOKEN"] = ADMIN }
                .start()
            repeat(200) {
                val up = runCatching { java.net.Socket("127.0.0.1", port).close() }.isSuccess
                if (up) return
                Thread.sleep(50)
            }
            fail("salur serve did not start")
        }

        @AfterClass @JvmStatic
        fun stop() {
            server.destroyForcibly().waitFor()
            engine.close()
        }

        fun photo(rel: String): ByteArray = File(faces, rel).readBytes()

        fun admin(method: String, path: String): String = adminCall(url, ADMIN, method, path)

        /** A one-time enrolment code for `worker`, issued over the API as an approver would. */
        fun enrolmentCode(worker: String): String {
            val body = "{\"worker_id\":\"$worker\",\"post_office\":\"po-1\",\"allow_unknown\":true}"
            val req = java.net.http.HttpRequest.newBuilder(java.net.URI("$url/v1/admin/enrolments"))
                .header("authorization", "Bearer $ADMIN").header("content-type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build()
            val resp = java.net.http.HttpClient.newHttpClient().send(req, java.net.http.HttpResponse.BodyHandlers.ofString())
            assertEquals(resp.body(), 201, resp.statusCode())
            return Regex("\"code\":\"([0-9A-Z-]+)\"").find(resp.body())!!.groupValues[1]
        }

        /** An upright JPEG as Camera2 would deliver it: NV21, rotated 90 degrees counter-clockwise. */
        fun nv21Frame(rel: String): CameraFrame = TestFrames.nv21(File(faces, rel))

        /** The real head-turn clip (turn left, then right), as camera frames with their times. */
        val headTurn: List<Pair<CameraFrame, ULong>> by lazy {
            val dir = File(root, "test-vectors/liveness/motion/lp_d12")
            dir.listFiles { f -> f.name.endsWith(".jpg") }!!.sorted().mapIndexed { i, f -> TestFrames.nv21(f) to (i * 120).toULong() }
        }

        /** A new visit: its random challenge is three timed turns, one of 64. */
        fun visitInClipOrder(start: () -> LiveSession): LiveSession = start().also { assertEquals(3, it.challenge().size) }

        /**
         * A person doing what the screen says: facing the camera (lp_d12 frame 2) until a turn is
         * asked, then turning that way (frames 11-17 left, 24-33 right, measured in the core's
         * liveness tests), 120 ms a frame, until the visit ends.
         */
        fun answer(visit: LiveSession): LiveProgress {
            var t = 0uL
            val next = ArrayDeque<Int>()
            repeat(400) {
                val i = next.removeFirstOrNull() ?: 2
                val p = visit.pushFrame(headTurn[i].first, t)
                t += 120uL
                if (p.finished) return p
                if (next.isEmpty()) when (p.hint) {
                    LiveHint.TURN_LEFT -> next.addAll(11..17)
                    LiveHint.TURN_RIGHT -> next.addAll(24..33)
                    else -> {}
                }
            }
            fail("the visit did not finish")
            throw IllegalStateException()
        }

        /** Feeds frames until the visit ends. */
        fun run(visit: LiveSession, frames: List<Pair<CameraFrame, ULong>>): LiveProgress {
            for ((frame, t) in frames) {
                val p = visit.pushFrame(frame, t)
                if (p.finished) return p
            }
            fail("the visit did not finish")
            throw IllegalStateException()
        }

    }

    @Test
    fun faces_match_mismatch_and_typed_errors() {
        val reference = engine.templateFromCard(photo("same/fr_biden/1.jpg"))
        val same = engine.checkImage(reference, ReferenceKind.REGISTRY, photo("same/fr_biden/2.jpg"))
        assertTrue(same.matched())
        assertEquals(FaceDecision.ACCEPT, same.result().outcome)
        // One photo proves no live person: it cannot pay.
        assertFalse(same.result().livePassed)
        assertFalse(same.accepted())
        val other = engine.checkImage(reference, ReferenceKind.REGISTRY, photo("same/fr_obama/1.jpg"))
        assertFalse(other.matched())
        assertTrue(other.result().score < other.result().threshold)

        val noFace = runCatching { engine.checkImage(reference, ReferenceKind.REGISTRY, photo("noface/skimage_coffee.jpg")) }
        val e = noFace.exceptionOrNull() as SalurException.Failed
        assertEquals(ErrorKind.NO_FACE, e.kind)
        assertNotNull("a hint for the worker", e.hint)
        val two = runCatching { engine.checkImage(reference, ReferenceKind.REGISTRY, photo("multi/fr_obama_and_biden.jpg")) }
        assertEquals(ErrorKind.MULTIPLE_FACES, (two.exceptionOrNull() as SalurException.Failed).kind)
        val garbage = runCatching { engine.checkImage(reference, ReferenceKind.REGISTRY, ByteArray(100) { 7 }) }
        assertEquals(ErrorKind.NOT_AN_IMAGE, (garbage.exceptionOrNull() as SalurException.Failed).kind)
    }

    @Test
    fun a_rotated_nv21_camera_frame_verifies() {
        val reference = engine.templateFromCard(photo("same/fr_obama/1.jpg"))
        val check = engine.checkFrame(reference, ReferenceKind.EKTP, nv21Frame("same/fr_obama/2.jpg"))
        assertTrue("score ${check.result().score}", check.matched())
        val wrong = nv21Frame("same/fr_obama/2.jpg").copy(y = ByteArray(10))
        val e = runCatching { engine.checkFrame(reference, ReferenceKind.EKTP, wrong) }.exceptionOrNull()
        assertEquals(ErrorKind.INVALID_FRAME, (e as SalurException.Failed).kind)
    }

    @Test
    fun the_receipt_test_vectors_verify_from_kotlin() {
        val text = File(root, "test-vectors/receipts/vectors.json").readText()
        val spki = Regex("\"spki_hex\":\\s*\"([0-9a-f]+)\"").find(text)!!.groupValues[1].hex()
        val cases = Regex("\"cose_hex\":\\s*\"([0-9a-f]+)\",\\s*\"expect\":\\s*\"(\\w+)\"").findAll(text).toList()
        assertTrue(cases.size >= 8)
        for (c in cases) {
            val ok = runCatching { verifyReceipt(c.groupValues[1].hex(), spki) }
            assertEquals(c.value.take(60), c.groupValues[2] == "valid", ok.isSuccess)
        }
    }

    @Test
    fun the_doorstep_flow_records_signs_and_syncs_to_the_server() = runBlocking {
        val signer = JavaSigner()
        val config = ServerConfig(url = url, caPem = null, pinsSha256Hex = emptyList(), allowHttpLoopback = true, maxAttempts = 3u)
        val phone = Phone.open(File(work, "phone.db").path, signer, FixedDataKey(), config)
        val unknown = runCatching { phone.registrationChallenge("AAAAA-AAAAA") }.exceptionOrNull()
        assertEquals(ErrorKind.ENROLMENT_REFUSED, (unknown as SalurException.Failed).kind)
        val code = enrolmentCode("pos-kt")
        assertEquals(32, phone.registrationChallenge(code).size)
        // Not a certificate chain: the server verifies what it is sent, and says so in its own kind.
        val forged = runCatching { phone.register("dev-kt-1", "pos-kt", "po-1", code, listOf(signer.certificate())) }
        assertEquals(ErrorKind.ATTESTATION_REFUSED, (forged.exceptionOrNull() as SalurException.Failed).kind)
        assertEquals(DeviceState.PENDING, phone.register("dev-kt-1", "pos-kt", "po-1", code, emptyList()))
        admin("POST", "/v1/admin/devices/dev-kt-1/approve")
        assertTrue(admin("GET", "/v1/admin/devices").contains("\"security_level\":\"none\""))
        assertEquals(3uL, phone.refreshRoster("blt-kt").added)

        val roster = phone.roster("blt-kt", "", null)
        assertEquals(listOf("Budi Santoso", "Dewi Lestari", "Siti Rahayu"), roster.map { it.name })
        assertEquals(listOf(true, false, true), roster.map { it.hasTemplate })
        assertTrue(roster.all { it.status == RecipientStatus.TO_DO })
        val dewi = roster.single { it.name == "Dewi Lestari" }
        val siti = phone.roster("blt-kt", "siti", null).single()
        val budi = phone.roster("blt-kt", "31710101018000", null).first { it.name.startsWith("Budi") }

        // Siti at the door: a still photo of her matches but proves no live person: not payable.
        val template = phone.recipientTemplate("blt-kt", siti.recipientRef)!!
        val still = engine.checkFrame(template, ReferenceKind.REGISTRY, headTurn[0].first)
        assertTrue(still.matched())
        val noLive = runCatching { phone.recordPaid("blt-kt", siti.recipientRef, still, 999uL, true) }
        assertEquals(ErrorKind.INVALID_ARGUMENT, (noLive.exceptionOrNull() as SalurException.Failed).kind)
        // The live visit: her recorded turns (left, then right) played to a challenge that asks
        // right first fail...
        var wrongOrder = phone.startVisit(engine, "blt-kt", siti.recipientRef)
        while (wrongOrder.challenge().first() != HeadMove.TURN_RIGHT) {
            wrongOrder.close(); wrongOrder = phone.startVisit(engine, "blt-kt", siti.recipientRef)
        }
        val wrong = run(wrongOrder, headTurn)
        assertEquals(LiveFailure.WRONG_DIRECTION, wrong.failure)
        assertNull(wrongOrder.check())
        // ...and doing what the screen asks she passes, is matched on a face of the same sequence, and is paid.
        // The core picks her reference and binds the visit to her.
        val visit = visitInClipOrder { phone.startVisit(engine, "blt-kt", siti.recipientRef) }
        val done = answer(visit)
        assertNull(done.failure)
        val check = visit.check()!!
        assertTrue("score ${check.result().score}", check.accepted() && check.result().livePassed)
        // A check made for Siti cannot pay Budi.
        val other = runCatching { phone.recordPaid("blt-kt", budi.recipientRef, check, 998uL, true) }
        assertEquals(ErrorKind.INVALID_ARGUMENT, (other.exceptionOrNull() as SalurException.Failed).kind)
        // A check against a reference Kotlin supplied is bound to nobody and cannot pay.
        val unbound = visitInClipOrder { engine.startVisit(template, ReferenceKind.REGISTRY) }
        assertNull(answer(unbound).failure)
        val free = runCatching { phone.recordPaid("blt-kt", siti.recipientRef, unbound.check()!!, 997uL, true) }
        assertEquals(ErrorKind.INVALID_ARGUMENT, (free.exceptionOrNull() as SalurException.Failed).kind)
        val paid = phone.recordPaid("blt-kt", siti.recipientRef, check, 1000uL, true)
        assertEquals(1uL, paid.seq)
        // One check pays once, and a recipient paid this period is not paid again, even on a new visit.
        val twice = runCatching { phone.recordPaid("blt-kt", siti.recipientRef, check, 1002uL, true) }
        assertEquals(ErrorKind.INVALID_ARGUMENT, (twice.exceptionOrNull() as SalurException.Failed).kind)
        val again = visitInClipOrder { phone.startVisit(engine, "blt-kt", siti.recipientRef) }
        assertNull(answer(again).failure)
        val repeat = runCatching { phone.recordPaid("blt-kt", siti.recipientRef, again.check()!!, 1003uL, true) }
        val repeatError = repeat.exceptionOrNull() as SalurException.Failed
        assertTrue(repeatError.detail, repeatError.detail.contains("already paid"))
        assertTrue(verifyReceipt(paid.cose, signer.publicKeySpki()).contains("\"liveness\":\"passed\""))
        // An impostor (Budi's registry template against Siti's live visit) is not accepted.
        val budiTemplate = phone.recipientTemplate("blt-kt", budi.recipientRef)!!
        assertTrue(budiTemplate.isNotEmpty())
        val impostorVisit = visitInClipOrder { phone.startVisit(engine, "blt-kt", budi.recipientRef) }
        assertNull(answer(impostorVisit).failure)
        val impostor = impostorVisit.check()!!
        assertFalse(impostor.accepted())
        val refused = runCatching { phone.recordPaid("blt-kt", budi.recipientRef, impostor, 1001uL, true) }
        assertEquals(ErrorKind.INVALID_ARGUMENT, (refused.exceptionOrNull() as SalurException.Failed).kind)
        // Budi is not home; Kotlin signed each receipt through the callback.
        phone.recordNotHome("blt-kt", budi.recipientRef, 2000uL)
        assertEquals(2, signer.signatures - 2 /* the registration requests (the forged chain refused) */ - 1 /* the roster request */)
        assertEquals(RecipientStatus.PAID, phone.roster("blt-kt", "", RecipientStatus.PAID).single().let { it.status })
        assertEquals(listOf("Budi Santoso"), phone.roster("blt-kt", "", RecipientStatus.NOT_HOME).map { it.name })
        val receipt = verifyReceipt(paid.cose, signer.publicKeySpki())
        assertTrue(receipt, receipt.contains("\"kind\":\"paid\""))
        assertTrue(phone.verifyChain())
        assertEquals(2uL, phone.syncStatus().pending)

        val seen = mutableListOf<SyncCounts>()
        val counts = phone.sync(object : SyncObserver {
            override fun onProgress(counts: SyncCounts) { seen += counts }
            override fun onRetry(message: String) {}
        })
        assertEquals(2uL, counts.acknowledged)
        assertTrue(seen.isNotEmpty())
        val status = phone.syncStatus()
        assertEquals(0uL, status.pending)
        assertNotNull(status.lastSuccessMs)
        val chain = admin("GET", "/v1/devices/dev-kt-1/chain")
        assertTrue(chain, chain.contains("\"valid\":true") && chain.contains("\"received\":2"))

        // First-visit enrolment needs a passed live check: a photo held still does not enrol...
        val photoHeld = phone.startEnrolment(engine, "blt-kt", dewi.recipientRef)
        var progress: LiveProgress? = null
        // Past the session's 20 s limit at the latest (a timed three-turn challenge takes up to 13 s).
        for (i in 0 until 220) {
            progress = photoHeld.pushFrame(nv21Frame("same/fr_obama/2.jpg"), (i * 100).toULong())
            if (progress.finished) break
        }
        assertTrue(progress!!.finished && progress.failure != null)
        val notEnrolled = runCatching { phone.saveEnrolment("blt-kt", dewi.recipientRef, photoHeld) }
        assertEquals(ErrorKind.INVALID_ARGUMENT, (notEnrolled.exceptionOrNull() as SalurException.Failed).kind)
        // ...the person doing the challenge does, once, for a recipient with no reference yet...
        val enrolment = visitInClipOrder { phone.startEnrolment(engine, "blt-kt", dewi.recipientRef) }
        assertNull(answer(enrolment).failure)
        assertTrue(enrolment.hasEnrolled())
        val replace = runCatching { phone.saveEnrolment("blt-kt", budi.recipientRef, enrolment) }
        assertEquals("a registry reference is never replaced", ErrorKind.INVALID_ARGUMENT,
            (replace.exceptionOrNull() as SalurException.Failed).kind)
        phone.saveEnrolment("blt-kt", dewi.recipientRef, enrolment)
        assertFalse(enrolment.hasEnrolled())
        // With a reference on the phone, neither an e-KTP photo nor a new enrolment replaces it:
        // otherwise any printed face, "the card", would pay.
        for (start in listOf<() -> LiveSession>(
            { phone.startEktpVisit(engine, "blt-kt", dewi.recipientRef, photo("same/fr_obama/1.jpg")) },
            { phone.startEktpVisit(engine, "blt-kt", budi.recipientRef, photo("same/fr_obama/1.jpg")) },
            { phone.startEnrolment(engine, "blt-kt", budi.recipientRef) },
        )) {
            val refused = runCatching { start() }.exceptionOrNull() as SalurException.Failed
            assertTrue(refused.detail, refused.kind == ErrorKind.INVALID_ARGUMENT && refused.detail.contains("reference face"))
        }
        // ...and later visits verify against it.
        val enrolled = phone.recipientTemplate("blt-kt", dewi.recipientRef)!!
        val later = engine.checkFrame(enrolled, ReferenceKind.ENROLLED, headTurn[50].first)
        assertTrue(later.matched())

        // Ineligible: the aid goes back for reallocation on the server.
        phone.recordIneligible("blt-kt", budi.recipientRef, IneligibleKind.MOVED, "moved to Bekasi", 3000uL)
        assertEquals(1uL, phone.sync(null).acknowledged)
        assertTrue(admin("GET", "/v1/admin/reallocations").contains("moved"))
        phone.close()
    }

    @Test
    fun an_unreachable_server_keeps_receipts_and_says_so() = runBlocking {
        val dead = ServerSocket(0).use { it.localPort }
        val config = ServerConfig(url = "http://127.0.0.1:$dead", caPem = null, pinsSha256Hex = emptyList(), allowHttpLoopback = true, maxAttempts = 3u)
        val phone = Phone.open(File(work, "offline.db").path, JavaSigner(), FixedDataKey(), config)
        val e = runCatching { phone.register("dev-kt-2", "pos-kt", "po-1", "AAAAA-AAAAA", emptyList()) }.exceptionOrNull()
        assertEquals(ErrorKind.NETWORK, (e as SalurException.Failed).kind)
        assertNotNull(e.hint)
        val insecure = runCatching {
            Phone.open(File(work, "x.db").path, JavaSigner(), FixedDataKey(), config.copy(url = "http://10.0.0.1", allowHttpLoopback = true, maxAttempts = 3u))
        }
        assertEquals(ErrorKind.INVALID_ARGUMENT, (insecure.exceptionOrNull() as SalurException.Failed).kind)
        phone.close()
    }
}

private fun String.hex(): ByteArray = chunked(2).map { it.toInt(16).toByte() }.toByteArray()
