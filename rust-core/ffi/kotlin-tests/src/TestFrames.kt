// What the JVM tests share (the FFI tests, the app's logic tests and its Robolectric tests): a
// software signer that signs as Android Keystore does, a data key, and real photos turned into
// camera frames as Camera2 delivers them.
package id.salur.core.test

import id.salur.core.CameraFrame
import id.salur.core.DataKeyProvider
import id.salur.core.DeviceSigner
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.security.KeyPairGenerator
import java.security.SecureRandom
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import javax.imageio.ImageIO

/** Signs the way Android Keystore does: `SHA256withECDSA` on a P-256 key, DER signatures. */
class JavaSigner : DeviceSigner {
    private val pair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
    var signatures = 0

    override fun publicKeySpki(): ByteArray = pair.public.encoded

    /** Stands in for Keystore's attestation leaf: any DER blob the server must keep as sent. */
    fun certificate(): ByteArray = "attestation-leaf".toByteArray()

    override fun signDer(message: ByteArray): ByteArray {
        signatures++
        return Signature.getInstance("SHA256withECDSA").run {
            initSign(pair.private)
            update(message)
            sign()
        }
    }
}

class FixedDataKey : DataKeyProvider {
    private val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
    override fun dataKey(): ByteArray = key
}

/** Real photos as camera frames. */
object TestFrames {
    /** An upright JPEG as Camera2 would deliver it: NV21, rotated 90 degrees counter-clockwise. */
    fun nv21(file: File): CameraFrame {
        val src = ImageIO.read(file)
        // Rotate counter-clockwise so the core's 90-degree clockwise rotation makes it upright.
        val w = src.height and 1.inv()
        val h = src.width and 1.inv()
        val y = ByteArray(w * h)
        val vu = ByteArray(w * h / 2)
        for (row in 0 until h) for (col in 0 until w) {
            val rgb = src.getRGB(src.width - 1 - row, col)
            val r = (rgb shr 16) and 0xff
            val g = (rgb shr 8) and 0xff
            val b = rgb and 0xff
            y[row * w + col] = (((66 * r + 129 * g + 25 * b + 128) shr 8) + 16).coerceIn(0, 255).toByte()
            if (row % 2 == 0 && col % 2 == 0) {
                val i = (row / 2) * w + col
                vu[i] = (((112 * r - 94 * g - 18 * b + 128) shr 8) + 128).coerceIn(0, 255).toByte()
                vu[i + 1] = (((-38 * r - 74 * g + 112 * b + 128) shr 8) + 128).coerceIn(0, 255).toByte()
            }
        }
        // NV21: V then U interleaved; the U plane starts one byte in.
        return CameraFrame(
            width = w.toUInt(), height = h.toUInt(), rotationDegrees = 90u,
            y = y, yRowStride = w.toUInt(),
            u = vu.copyOfRange(1, vu.size), v = vu, uvRowStride = w.toUInt(), uvPixelStride = 2u,
        )
    }
}

/** An administrator's request to a real `salur serve` (bearer token); the body of its 200 answer. */
fun adminCall(url: String, token: String, method: String, path: String): String {
    val req = HttpRequest.newBuilder(URI("$url$path")).header("authorization", "Bearer $token")
        .method(method, HttpRequest.BodyPublishers.noBody()).build()
    val resp = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString())
    check(resp.statusCode() == 200) { "$method $path: ${resp.statusCode()} ${resp.body()}" }
    return resp.body()
}
