package id.salur.app

import android.app.Activity
import android.app.Application
import android.content.Context
import android.view.TextureView
import id.salur.app.camera.CameraFrames
import id.salur.app.camera.FrameSource
import id.salur.app.keys.AppSigner
import id.salur.app.keys.KeystoreDataKey
import id.salur.app.keys.KeystoreSigner
import id.salur.app.lock.AppLock
import id.salur.app.logic.Texts
import id.salur.app.platform.Provisioning
import id.salur.app.sync.UploadJob
import id.salur.core.DataKeyProvider
import id.salur.core.DeviceState
import id.salur.core.FaceEngine
import id.salur.core.Phone
import id.salur.core.ServerConfig
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import java.util.Locale
import java.util.UUID

/**
 * The app's single core objects (face engine, the phone's store and keys) and the platform parts
 * behind them. The `open` factories are the seams the JVM tests replace: Android Keystore, the
 * Camera2 camera and the APK's assets do not exist under Robolectric; everything else is real.
 */
open class SalurApp : Application() {
    val texts: Texts by lazy { Texts(english = Locale.getDefault().language == "en") }
    val prefs by lazy { getSharedPreferences("salur", Context.MODE_PRIVATE) }
    val signer: AppSigner by lazy { makeSigner() }
    val uploadSigner: AppSigner by lazy { makeUploadSigner() }
    val lock: AppLock by lazy { AppLock(idleMs = LOCK_AFTER_IDLE_MS) }

    /** Where core calls run: never the UI thread. */
    open val io: CoroutineDispatcher get() = Dispatchers.IO

    /** The face and live-check models, loaded on first use (off the UI thread). */
    val engine: FaceEngine by lazy { loadEngine() }

    val phone: Phone by lazy {
        val p = provisioning()
        val server = ServerConfig(
            url = p.url,
            caPem = null,
            pinsSha256Hex = p.pins,
            allowHttpLoopback = p.allowHttpLoopback,
            // The screens wait for an answer: a few quick tries, then the error (uploads retry later anyway).
            maxAttempts = 3u,
        )
        Phone.openWithUploadKey(databasePath(), signer, uploadSigner, makeDataKey(), server)
    }

    /**
     * Registers this phone with the supervisor's enrolment [code]: both keys are made anew with
     * the server's nonce as their attestation challenge ([fresh]: only before the first accepted
     * registration; asking again later, while pending, re-sends the same registration).
     */
    suspend fun registerDevice(worker: String, office: String, code: String, fresh: Boolean): DeviceState {
        if (fresh) {
            val nonce = phone.registrationChallenge(code)
            signer.prepare(nonce)
            uploadSigner.prepare(nonce)
        }
        return phone.registerWithUploadKey(deviceId, worker, office, code, signer.attestationChain(), uploadSigner.attestationChain())
    }

    /** This installation's device id (random, kept). */
    val deviceId: String by lazy {
        prefs.getString("device_id", null) ?: ("dev-" + UUID.randomUUID().toString().take(13)).also {
            prefs.edit().putString("device_id", it).apply()
        }
    }

    override fun onCreate() {
        super.onCreate()
        scheduleUploads()
    }

    /** The server address and certificate pins this build was provisioned with. */
    open fun provisioning(): Provisioning = Provisioning.fromAsset(assets)

    /** The device key: hardware-backed, usable only after the worker unlocked the phone. */
    open fun makeSigner(): AppSigner = KeystoreSigner(this)

    /** The upload key: hardware-backed, usable while the phone is locked, for uploads only. */
    open fun makeUploadSigner(): AppSigner = KeystoreSigner(this, KeystoreSigner.UPLOAD_ALIAS, unlockBound = false)

    /** The key that encrypts templates and face crops at rest. */
    open fun makeDataKey(): DataKeyProvider = KeystoreDataKey(this)

    open fun loadEngine(): FaceEngine =
        // 320: live frames at doorstep speed; e-KTP photos are close-ups, large enough at 320 too.
        FaceEngine.fromBytes(
            asset("face_detection_yunet_2023mar_int8bq.onnx"), asset("face_recognition_sface_2021dec_int8bq.onnx"),
            asset("2.7_80x80_MiniFASNetV2.onnx"), asset("4_0_0_80x80_MiniFASNetV1SE.onnx"), 320u,
        )

    /** The camera behind the doorstep screen's preview. */
    open fun camera(activity: Activity, preview: TextureView): FrameSource = CameraFrames(activity, preview)

    /** The Bluetooth slip printer (the tests record what it writes). */
    open fun slipPrinter(context: android.content.Context): id.salur.app.platform.SlipPrinter = id.salur.app.platform.SlipPrinter(context)

    open fun databasePath(): String = getDatabasePath("salur.db").apply { parentFile?.mkdirs() }.path

    /** Background upload after each disbursement and every few hours. */
    open fun scheduleUploads() = UploadJob.schedulePeriodic(this)

    open fun uploadSoon() = UploadJob.triggerNow(this)

    private fun asset(name: String): ByteArray = assets.open(name).use { it.readBytes() }

    companion object {
        /** Five idle minutes lock the app (the doorstep screen counts camera frames as activity). */
        const val LOCK_AFTER_IDLE_MS = 5 * 60 * 1000L
    }
}
