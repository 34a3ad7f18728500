package id.salur.app.ui

import android.app.Activity
import android.view.TextureView
import id.salur.app.SalurApp
import id.salur.app.camera.FrameSource
import id.salur.app.keys.AppSigner
import id.salur.app.platform.Provisioning
import id.salur.app.platform.SlipPrinter
import id.salur.core.CameraFrame
import id.salur.core.DataKeyProvider
import id.salur.core.FaceEngine
import id.salur.core.DeviceSigner
import id.salur.core.LiveHint
import id.salur.core.test.FixedDataKey
import id.salur.core.test.JavaSigner
import id.salur.core.test.TestFrames
import java.io.File

/**
 * The app under Robolectric: everything real (core, models, SQLite file, HTTP to a real
 * `salur serve`) except what the JVM has no Android for: Keystore (a software P-256 key signing
 * the same way), the Camera2 camera (recorded frames of real people) and the APK's assets.
 */
class TestSalurApp : SalurApp() {
    var uploadsAsked = 0

    override fun provisioning() = Provisioning(World.serverUrl, emptyList(), allowHttpLoopback = true)
    override fun makeSigner(): AppSigner = LockableSigner(SoftwareSigner())
    override fun makeUploadSigner(): AppSigner = SoftwareSigner()
    override fun makeDataKey(): DataKeyProvider = World.dataKey
    override fun loadEngine(): FaceEngine = World.engine
    override fun camera(activity: Activity, preview: TextureView): FrameSource =
        (if (activity is ScanScreen<*>) PaperCamera(World.letter ?: error("World.letter: no paper in front of the camera"))
        else RecordedCamera(activity as DoorstepActivity, World.scene)).also { World.cameras[activity] = it }
    override fun databasePath(): String = World.databasePath
    override fun slipPrinter(context: android.content.Context): SlipPrinter = RecordingPrinter(context)
    override fun scheduleUploads() {}
    override fun uploadSoon() { uploadsAsked++ }
}

/**
 * The real printer code over Robolectric's Bluetooth socket, whose output is kept: the bytes a
 * paired printer would have received ([World.printed]).
 */
class RecordingPrinter(context: android.content.Context) : SlipPrinter(context) {
    override fun socket(printer: android.bluetooth.BluetoothDevice): android.bluetooth.BluetoothSocket =
        super.socket(printer).also { socket ->
            org.robolectric.Shadows.shadowOf(socket).setOutputStream(object : java.io.PipedOutputStream() {
                override fun write(b: ByteArray, off: Int, len: Int) { World.printed.write(b, off, len) }
                override fun write(b: Int) { World.printed.write(b) }
                override fun flush() {}
            })
        }
}

/** What the next test's app sees: the server, the phone's database file, the camera's scene. */
object World {
    val root = File(System.getProperty("salur.root"))
    var serverUrl = "http://127.0.0.1:9"
    var databasePath = ""
    var scene: Scene = Scene.Person
    /** What the doorstep camera photographs next (a surat kuasa, an e-KTP), before its usual still. */
    val stills = java.util.concurrent.ConcurrentLinkedQueue<File>()
    /** What the paired Bluetooth printer received. */
    val printed = java.io.ByteArrayOutputStream()
    /** The paper held in front of the camera on a scan screen (a letter page, an enrolment QR code). */
    var letter: File? = null
    val dataKey: DataKeyProvider = FixedDataKey()
    /** The models, loaded once for the whole run. */
    val engine: FaceEngine by lazy { FaceEngine.fromDir(File(root, "models").path, 320u) }
    /** Each screen's camera (whose last frame [Shots] draws behind its preview). */
    val cameras: MutableMap<Activity, ShownFrame> = java.util.Collections.synchronizedMap(java.util.WeakHashMap())
}

/** A test camera that knows the photo behind the last frame it gave the app. */
interface ShownFrame : FrameSource {
    val shown: File?
}

/** What stands in front of the camera. */
sealed interface Scene {
    /** The recipient of `lp_d12`, doing the head turns the screen asks for. */
    object Person : Scene
    /** A picture held up to the camera, not moving. */
    data class Picture(val file: File) : Scene
}

/** The FFI tests' software P-256 signer (signs as Keystore does), as the app's signer. */
class SoftwareSigner(private val key: JavaSigner = JavaSigner()) : AppSigner, DeviceSigner by key {
    var challenge: ByteArray? = null

    /** Keeps the challenge (a software key has no attestation to put it in). */
    override fun prepare(challenge: ByteArray) {
        this.challenge = challenge
    }

    override fun attestationChain(): List<ByteArray> = emptyList()
}

/** A printed page held still in front of the camera: the same frame every 150 ms until stopped. */
class PaperCamera(private val page: File) : ShownFrame {
    @Volatile override var shown: File? = null
    @Volatile private var running = false
    private var thread: Thread? = null

    override fun start(onFrame: (frame: CameraFrame, capturedMs: Long) -> Unit) {
        running = true
        val frame = TestFrames.nv21(page)
        var t = 1_000L
        thread = Thread {
            while (running) {
                shown = page
                onFrame(frame, t)
                t += 150
                Thread.sleep(150)
            }
        }.apply { isDaemon = true; start() }
    }

    override fun stop() {
        running = false
        thread?.join(10_000)
        thread = null
    }

    override fun still(): ByteArray = page.readBytes()

    override fun release() = stop()
}

/**
 * Recorded frames through the app's camera seam, on a thread of their own like Camera2's: the
 * person follows the prompt (the clip forwards for left-then-right, backwards for right-then-left),
 * 120 ms apart, again and again until the screen is done.
 */
class RecordedCamera(private val screen: DoorstepActivity, private val scene: Scene) : ShownFrame {
    @Volatile override var shown: File? = null
    @Volatile private var running = false
    private var thread: Thread? = null

    private var t = 1_000L

    override fun start(onFrame: (frame: CameraFrame, capturedMs: Long) -> Unit) {
        running = true
        thread = Thread {
            while (running) {
                when (scene) {
                    is Scene.Picture -> {
                        val f = frame(scene.file)
                        shown = scene.file
                        repeat(30) { if (running) { onFrame(f, t); t += 120 } }
                        // A pause between two tries, as at a real door.
                        t += 2_000
                        Thread.sleep(5)
                    }
                    // A person doing what the screen says: facing the camera until a turn is
                    // asked, then turning that way (lp_d12's frames 11-17 left, 24-33 right).
                    Scene.Person -> {
                        val moves = when (screen.prompt()) {
                            LiveHint.TURN_LEFT -> left
                            LiveHint.TURN_RIGHT -> right
                            else -> listOf(front)
                        }
                        for (f in moves) {
                            if (!running) break
                            shown = files[clip.indexOf(f)]
                            onFrame(f, t)
                            t += 120
                        }
                        Thread.sleep(1)
                    }
                }
            }
        }.apply { isDaemon = true; start() }
    }

    override fun stop() {
        running = false
        thread?.join(10_000)
        thread = null
    }

    override fun still(): ByteArray? = World.stills.poll()?.readBytes() ?: when (scene) {
        is Scene.Picture -> scene.file.readBytes()
        Scene.Person -> File(World.root, "test-vectors/liveness/motion/lp_d12/0060.jpg").readBytes()
    }

    override fun release() = stop()

    companion object {
        private val files: List<File> by lazy {
            File(World.root, "test-vectors/liveness/motion/lp_d12").listFiles { f -> f.name.endsWith(".jpg") }!!.sorted()
        }
        private val clip: List<CameraFrame> by lazy { files.map(::frame) }
        private val front: CameraFrame by lazy { clip[2] }
        private val left: List<CameraFrame> by lazy { clip.subList(11, 18) }
        private val right: List<CameraFrame> by lazy { clip.subList(24, 34) }

        fun frame(file: File): CameraFrame = TestFrames.nv21(file)
    }
}
