package id.salur.app.keys

import id.salur.core.DeviceSigner

/** The device key as the app needs it: the core's signer plus what registration sends. */
interface AppSigner : DeviceSigner {
    /** The key attestation chain (leaf first), sent with the registration. */
    fun attestationChain(): List<ByteArray>
}
