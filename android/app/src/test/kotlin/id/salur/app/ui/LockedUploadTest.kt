package id.salur.app.ui

import id.salur.app.keys.AppSigner
import id.salur.app.sync.UploadJob
import id.salur.app.ui.ServerFixture.Companion.ROSTER
import id.salur.app.ui.ServerFixture.Companion.WORKER
import id.salur.core.ErrorKind
import id.salur.core.SalurException
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import java.io.File

/**
 * The device key as Android Keystore keeps it: usable only for a while after the worker's
 * unlock. Locked, it refuses as [id.salur.app.keys.KeystoreSigner] does when the unlock ran out.
 */
class LockableSigner(private val key: AppSigner) : AppSigner by key {
    @Volatile var locked = false

    override fun signDer(message: ByteArray): ByteArray {
        if (locked) throw SalurException.Failed(ErrorKind.CRYPTO, "the device key needs a fresh unlock", "Unlock the phone, then try again.")
        return key.signDer(message)
    }
}

/**
 * A worker pays all morning, puts the phone in a pocket, and the signal comes back: the upload
 * job runs with the device key locked. Signed with the upload key, the receipts reach the real
 * `salur serve`; a new payment and a roster download still need the worker's unlock.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], application = TestSalurApp::class, manifest = Config.NONE, qualifiers = "in-rID")
class LockedUploadTest {
    private lateinit var server: ServerFixture
    private val app get() = RuntimeEnvironment.getApplication() as TestSalurApp

    @Before
    fun setUp() {
        server = ServerFixture()
        World.serverUrl = server.url
        World.databasePath = File(server.work, "phone.db").path
    }

    @After
    fun tearDown() = server.close()

    @Test
    fun the_upload_job_runs_while_the_phone_is_locked_and_nothing_else_does() = runBlocking {
        // Registered as the sign-in screen registers: both keys, one nonce.
        assertEquals(id.salur.core.DeviceState.PENDING, app.registerDevice(WORKER, "po-1", server.enrolmentCode(WORKER), fresh = true))
        server.admin("POST", "/v1/admin/devices/${app.deviceId}/approve")
        assertTrue("the server holds the upload key", app.phone.uploadsWithoutUnlock())
        app.phone.refreshRoster(ROSTER)
        val (first, second) = app.phone.roster(ROSTER, "", null).take(2)
        app.phone.recordNotHome(ROSTER, first.recipientRef, 1_000uL)
        app.phone.recordRefused(ROSTER, second.recipientRef, 2_000uL)
        assertEquals(2uL, app.phone.syncStatus().pending)

        // In the pocket: the unlock ran out.
        val deviceKey = app.signer as LockableSigner
        deviceKey.locked = true
        assertTrue("the upload job succeeds while locked", UploadJob.upload(app))
        val status = app.phone.syncStatus()
        assertEquals(0uL, status.pending)
        assertEquals(2uL, status.acknowledged)
        assertTrue(server.admin("GET", "/v1/devices/${app.deviceId}/chain/status").contains("\"contiguous_to\":2"))

        // A new payment (any signed outcome) and a roster download are refused until unlocked.
        val third = app.phone.roster(ROSTER, "", null)[2]
        val pay = runCatching { app.phone.recordNotHome(ROSTER, third.recipientRef, 3_000uL) }.exceptionOrNull()
        assertEquals(ErrorKind.CRYPTO, (pay as SalurException.Failed).kind)
        val roster = runCatching { app.phone.refreshRoster(ROSTER) }.exceptionOrNull()
        assertEquals(ErrorKind.CRYPTO, (roster as SalurException.Failed).kind)
        assertEquals(0uL, app.phone.syncStatus().pending)

        // Unlocked again, the worker goes on as before.
        deviceKey.locked = false
        app.phone.recordNotHome(ROSTER, third.recipientRef, 3_000uL)
        assertTrue(UploadJob.upload(app))
        assertEquals(3uL, app.phone.syncStatus().acknowledged)
        assertFalse(server.admin("GET", "/v1/admin/devices").contains("\"upload_key_id\":null"))
    }
}
