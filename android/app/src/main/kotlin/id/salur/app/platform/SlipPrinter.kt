package id.salur.app.platform

import android.Manifest
import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothManager
import android.bluetooth.BluetoothSocket
import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import java.io.IOException
import java.util.UUID

/**
 * The recipient's paper slip on a Bluetooth thermal printer: the core makes the ESC/POS bytes
 * (`Phone.receiptSlip`), this writes them over RFCOMM's serial port profile, which the common
 * 58 mm printers speak. Only printers already paired in the phone's settings are offered, so
 * nothing is discovered or paired from the app.
 */
open class SlipPrinter(private val context: Context) {
    /** Whether the app may talk to paired devices (a runtime permission from Android 12). */
    fun allowed(): Boolean = Build.VERSION.SDK_INT < Build.VERSION_CODES.S ||
        context.checkSelfPermission(Manifest.permission.BLUETOOTH_CONNECT) == PackageManager.PERMISSION_GRANTED

    /** The paired devices, printers first (many cheap printers report no class: all are listed). */
    @Suppress("MissingPermission")
    fun paired(): List<BluetoothDevice> {
        val adapter = context.getSystemService(BluetoothManager::class.java)?.adapter ?: return emptyList()
        if (!adapter.isEnabled) return emptyList()
        return adapter.bondedDevices.orEmpty().sortedBy { if (it.bluetoothClass?.majorDeviceClass == IMAGING) 0 else 1 }
    }

    /** Writes [slip] to [printer] (blocking: call off the UI thread); false when it could not be reached. */
    @Suppress("MissingPermission")
    fun print(printer: BluetoothDevice, slip: ByteArray): Boolean = try {
        socket(printer).use { socket ->
            socket.connect()
            socket.outputStream.apply { write(slip); flush() }
        }
        true
    } catch (e: IOException) {
        false
    } catch (e: SecurityException) {
        false
    }

    /** The printer's serial port socket (tests record what is written to it). */
    @Suppress("MissingPermission")
    protected open fun socket(printer: BluetoothDevice): BluetoothSocket = printer.createRfcommSocketToServiceRecord(SERIAL_PORT)

    companion object {
        /** The serial port profile's service id, which Bluetooth receipt printers listen on. */
        val SERIAL_PORT: UUID = UUID.fromString("00001101-0000-1000-8000-00805F9B34FB")
        private const val IMAGING = 0x0600
        /** What to ask for before [paired] on Android 12 and later. */
        val PERMISSIONS = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) arrayOf(Manifest.permission.BLUETOOTH_CONNECT) else emptyArray()
    }
}
