package id.salur.app.platform

import android.content.res.AssetManager
import java.util.Properties

/**
 * The server this build talks to and the SHA-256 pins of its certificate keys. Written into the
 * APK's assets by scripts/build-android.sh (SALUR_SERVER_URL, SALUR_SERVER_PINS), so a phone
 * needs no set-up beyond sign-in and an attacker cannot point it elsewhere from the screen.
 */
data class Provisioning(val url: String, val pins: List<String>, val allowHttpLoopback: Boolean = false) {
    companion object {
        const val ASSET = "provisioning.properties"
        const val DEFAULT_SERVER = "https://salur.posindonesia.co.id/"

        fun parse(text: String): Provisioning {
            val p = Properties().apply { load(text.reader()) }
            return Provisioning(
                url = p.getProperty("url")?.trim().takeUnless { it.isNullOrEmpty() } ?: DEFAULT_SERVER,
                pins = p.getProperty("pins", "").split(',').map { it.trim() }.filter { it.isNotEmpty() },
            )
        }

        fun fromAsset(assets: AssetManager): Provisioning =
            runCatching { assets.open(ASSET).use { parse(String(it.readBytes())) } }
                .getOrElse { Provisioning(DEFAULT_SERVER, emptyList()) }
    }
}
