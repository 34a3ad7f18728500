package id.salur.app.platform

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Looper
import android.os.SystemClock
import id.salur.core.GeoFix
import kotlin.math.roundToInt

/**
 * Where the phone is, when the worker allowed it: fixes from GPS and the network go to the core,
 * which attaches a recent one (with its accuracy) to each receipt. Nothing when refused.
 */
class LocationFeed(private val context: Context, private val onFix: (GeoFix) -> Unit) : LocationListener {
    private val manager = context.getSystemService(LocationManager::class.java)

    /** Whether the worker allowed location at all. */
    fun allowed(): Boolean = PERMISSIONS.any { context.checkSelfPermission(it) == PackageManager.PERMISSION_GRANTED }

    @SuppressLint("MissingPermission")
    fun start() {
        if (!allowed() || manager == null) return
        for (provider in listOf(LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER)) {
            if (!runCatching { manager.isProviderEnabled(provider) }.getOrDefault(false)) continue
            manager.getLastKnownLocation(provider)?.let(::onLocationChanged)
            manager.requestLocationUpdates(provider, 30_000L, 10f, this, Looper.getMainLooper())
        }
    }

    fun stop() {
        manager?.removeUpdates(this)
    }

    override fun onLocationChanged(location: Location) {
        // The fix's age on the elapsed clock the core compares with (a last-known fix may be old).
        val ageMs = (SystemClock.elapsedRealtimeNanos() - location.elapsedRealtimeNanos).coerceAtLeast(0) / 1_000_000
        onFix(fix(location, SystemClock.elapsedRealtime() - ageMs))
    }

    companion object {
        val PERMISSIONS = arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)

        /** A fix in the receipt's integer units. */
        fun fix(location: Location, monoMs: Long) = GeoFix(
            latE7 = (location.latitude * 1e7).roundToInt(),
            lonE7 = (location.longitude * 1e7).roundToInt(),
            accuracyM = if (location.hasAccuracy()) location.accuracy.roundToInt().coerceAtLeast(0).toUInt() else 100_000u,
            monoMs = monoMs.coerceAtLeast(0).toULong(),
        )
    }
}
