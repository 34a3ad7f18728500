package id.salur.app.sync

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import id.salur.app.SalurApp
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch

/**
 * Background upload, while the phone is locked too ([upload]). The scheduler only triggers a sync when there is a network; retries and
 * backoff are the core's (one layer). Triggered after each disbursement and every few hours.
 */
class UploadJob : JobService() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
    private var running: Job? = null

    override fun onStartJob(params: JobParameters): Boolean {
        running = scope.launch {
            val ok = upload(application as SalurApp)
            // Not rescheduled on failure: the periodic job and the next disbursement trigger again.
            jobFinished(params, !ok && params.jobId == NOW)
        }
        return true
    }

    override fun onStopJob(params: JobParameters): Boolean {
        // Safe: the core keeps unanswered receipts queued and resends them next time.
        running?.cancel()
        return true
    }

    companion object {
        private const val NOW = 1

        /**
         * One upload, as the job runs it: signed with the upload key once the server holds it, so
         * it succeeds while the phone is locked (the device key would need the worker's unlock).
         */
        suspend fun upload(app: SalurApp): Boolean = runCatching { app.phone.sync(null) }.isSuccess
        private const val PERIODIC = 2

        private fun info(context: Context, id: Int) = JobInfo.Builder(id, ComponentName(context, UploadJob::class.java))
            .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
            .setPersisted(true)

        /** Uploads as soon as there is a network (after each disbursement). */
        fun triggerNow(context: Context) {
            context.getSystemService(JobScheduler::class.java)
                .schedule(info(context, NOW).setBackoffCriteria(30_000, JobInfo.BACKOFF_POLICY_EXPONENTIAL).build())
        }

        /** A safety net every three hours. */
        fun schedulePeriodic(context: Context) {
            context.getSystemService(JobScheduler::class.java)
                .schedule(info(context, PERIODIC).setPeriodic(3 * 3600 * 1000L).build())
        }
    }
}
