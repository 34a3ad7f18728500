package id.salur.app

import android.app.Application
import android.content.Context
import id.salur.app.keys.KeystoreDataKey
import id.salur.app.keys.KeystoreSigner
import id.salur.app.logic.Texts
import id.salur.app.sync.UploadJob
import id.salur.core.FaceEngine
import id.salur.core.Phone
import id.salur.core.ServerConfig
import java.util.Locale
import java.util.UUID

/** The app's single core objects: the face engine (models from assets) and the phone's store. */
class SalurApp : Application() {
    val texts: Texts by lazy { Texts(english = Locale.getDefault().language == "en") }
    val prefs by lazy { getSharedPreferences("salur", Context.MODE_PRIVATE) }
    val signer by lazy { KeystoreSigner(this) }

    /** The face and live-check models, loaded on first use, off the UI thread. */
    val engine: FaceEngine by lazy {
        // 320: live frames at doorstep speed; e-KTP photos are close-ups, large enough at 320 too.
        FaceEngine.fromBytes(
            asset("face_detection_yunet_2023mar_int8bq.onnx"), asset("face_recognition_sface_2021dec_int8bq.onnx"),
            asset("2.7_80x80_MiniFASNetV2.onnx"), asset("4_0_0_80x80_MiniFASNetV1SE.onnx"), 320u,
        )
    }

    val phone: Phone by lazy {
        val server = ServerConfig(
            url = prefs.getString("server_url", DEFAULT_SERVER)!!,
            caPem = null,
            pinsSha256Hex = prefs.getString("server_pins", "")!!.split(',').filter { it.isNotBlank() },
            allowHttpLoopback = false,
            maxAttempts = 0u,
        )
        Phone.open(getDatabasePath("salur.db").apply { parentFile?.mkdirs() }.path, signer, KeystoreDataKey(this), server)
    }

    /** This installation's device id (random, kept). */
    val deviceId: String by lazy {
        prefs.getString("device_id", null) ?: ("dev-" + UUID.randomUUID().toString().take(13)).also {
            prefs.edit().putString("device_id", it).apply()
        }
    }

    override fun onCreate() {
        super.onCreate()
        UploadJob.schedulePeriodic(this)
    }

    private fun asset(name: String): ByteArray = assets.open(name).use { it.readBytes() }

    companion object {
        const val DEFAULT_SERVER = "https://salur.posindonesia.co.id/"
    }
}
