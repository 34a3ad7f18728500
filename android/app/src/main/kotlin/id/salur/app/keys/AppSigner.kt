package id.salur.app.keys

import id.salur.core.DeviceSigner

/** The device key as the app needs it: the core's signer plus what registration sends. */
interface AppSigner : DeviceSigner {
    /**
     * Makes the device key anew with the server's registration nonce as its attestation challenge,
     * so the attestation proves this registration. Called before registering only: never after a
     * registration was accepted (the server knows that key).
     */
    fun prepare(challenge: ByteArray)

    /** The key attestation chain (leaf first), sent with the registration. */
    fun attestationChain(): List<ByteArray>
}
