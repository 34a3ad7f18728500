package id.salur.app.keys

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import id.salur.app.SalurApp
import id.salur.core.ErrorKind
import id.salur.core.SalurException
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.Signature
import java.security.cert.Certificate
import java.security.spec.ECGenParameterSpec

/**
 * A signing key of the phone: ECDSA P-256 in Android Keystore (StrongBox when the phone has it),
 * never leaving the secure hardware. The device key ([DEVICE_ALIAS], [unlockBound]) is usable
 * only for a while after the worker unlocked the phone (screen lock or the app lock's
 * device-credential prompt): a stolen, locked phone signs no receipt and no roster request. The
 * upload key ([UPLOAD_ALIAS]) needs no unlock, so the background upload runs in a pocket; the
 * server accepts it only for handing in receipts, their evidence and the chain's status.
 */
class KeystoreSigner(
    private val context: Context,
    private val alias: String = DEVICE_ALIAS,
    private val unlockBound: Boolean = true,
) : AppSigner {
    private val store: KeyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }

    init {
        if (!store.containsAlias(alias)) create()
    }

    override fun prepare(challenge: ByteArray) {
        if (store.containsAlias(alias)) store.deleteEntry(alias)
        create(challenge)
    }

    private fun create(challenge: ByteArray = PLACEHOLDER_CHALLENGE) {
        val strongBox = Build.VERSION.SDK_INT >= 28 &&
            context.packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)
        fun spec(useStrongBox: Boolean) = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setDigests(KeyProperties.DIGEST_SHA256)
            // The server's nonce binds the attestation to this registration (prepare()).
            .setAttestationChallenge(challenge)
            .setUserAuthenticationRequired(unlockBound)
            .apply {
                if (!unlockBound) {
                    // The upload key: no unlock asked, by design (see the class comment).
                } else if (Build.VERSION.SDK_INT >= 30) {
                    setUserAuthenticationParameters(
                        AUTH_VALID_SECONDS,
                        KeyProperties.AUTH_DEVICE_CREDENTIAL or KeyProperties.AUTH_BIOMETRIC_STRONG,
                    )
                } else {
                    @Suppress("DEPRECATION")
                    setUserAuthenticationValidityDurationSeconds(AUTH_VALID_SECONDS)
                }
                if (Build.VERSION.SDK_INT >= 28) setIsStrongBoxBacked(useStrongBox)
            }
            .build()
        val generator = KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, "AndroidKeyStore")
        try {
            generator.initialize(spec(strongBox))
            generator.generateKeyPair()
        } catch (e: StrongBoxUnavailableException) {
            generator.initialize(spec(false))
            generator.generateKeyPair()
        }
    }

    /** The attestation certificate chain (leaf first), sent with the registration. */
    override fun attestationChain(): List<ByteArray> = store.getCertificateChain(alias)?.map(Certificate::getEncoded) ?: emptyList()

    override fun publicKeySpki(): ByteArray =
        store.getCertificate(alias)?.publicKey?.encoded ?: throw failure("the device key is missing")

    override fun signDer(message: ByteArray): ByteArray {
        val key = store.getKey(alias, null) as? PrivateKey ?: throw failure("the device key is missing")
        return try {
            Signature.getInstance("SHA256withECDSA").run {
                initSign(key)
                update(message)
                sign()
            }
        } catch (e: UserNotAuthenticatedException) {
            // The unlock's 30 minutes ran out: lock the app so the next touch asks for the credential.
            (context.applicationContext as? SalurApp)?.lock?.lockNow()
            throw SalurException.Failed(ErrorKind.CRYPTO, "the device key needs a fresh unlock", "Unlock the phone, then try again.")
        }
    }

    companion object {
        /** The device key's alias: receipts and every request. */
        const val DEVICE_ALIAS = "salur-device-key"

        /** The upload key's alias: uploads only, no unlock. */
        const val UPLOAD_ALIAS = "salur-upload-key"

        /** How long one unlock lets the key sign; the app lock asks again before it runs out. */
        const val AUTH_VALID_SECONDS = 30 * 60

        /** The challenge of a key made before registration asked for a nonce (its attestation is not sent). */
        private val PLACEHOLDER_CHALLENGE = "salur-unregistered".toByteArray()
    }

    private fun failure(detail: String) = SalurException.Failed(ErrorKind.CRYPTO, detail, "Reinstall is not needed: contact your supervisor.")
}
