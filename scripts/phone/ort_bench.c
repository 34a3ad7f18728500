/* ort_bench: time one float32 ONNX model in onnxruntime, through its C API.
 *
 * The onnxruntime side of the phone benchmark: the same model files the project runs in tract
 * (made by scripts/reference_models.py), timed by onnxruntime's CPU execution provider.
 *
 * Usage: ort_bench MODEL.onnx N,C,H,W THREADS RUNS
 *   One session (intra-op threads = THREADS, inter-op 1, ORT_ENABLE_ALL), one float32 input of
 *   shape N,C,H,W filled with (i*37)%256, all outputs requested; 3 warm-up runs, then RUNS timed
 *   runs (CLOCK_MONOTONIC around Run only). Prints one line of JSON:
 *   {"model": "<basename>", "threads": T, "runs": R, "median_ms": X, "min_ms": Y}
 *   Exit 1: bad arguments; exit 2: any onnxruntime error (its message goes to stderr).
 *
 * Build for a phone (arm64), with the AAR unpacked by fetch-onnxruntime.sh in $ORT:
 *   $ANDROID_NDK/toolchains/llvm/prebuilt/linux-x86_64/bin/aarch64-linux-android24-clang \
 *     -std=c99 -O2 -I"$ORT/headers" ort_bench.c -L"$ORT/jni/arm64-v8a" -lonnxruntime -o ort_bench
 *   adb push ort_bench "$ORT/jni/arm64-v8a/libonnxruntime.so" MODEL.onnx /data/local/tmp/
 *   adb shell 'cd /data/local/tmp && LD_LIBRARY_PATH=. ./ort_bench MODEL.onnx 1,3,112,112 1 20'
 * Build on a desktop: gcc -std=c99 -O2 -I"$HEADERS" ort_bench.c -L"$LIB" -lonnxruntime \
 *   -Wl,-rpath,"$LIB" -o ort_bench   ($LIB holds libonnxruntime.so)
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onnxruntime_c_api.h"

#define WARMUP 3

static const OrtApi *ort;

static void check(OrtStatus *status) {
  if (status != NULL) {
    fprintf(stderr, "ort_bench: onnxruntime: %s\n", ort->GetErrorMessage(status));
    ort->ReleaseStatus(status);
    exit(2);
  }
}

static void usage(const char *why) {
  fprintf(stderr, "ort_bench: %s\nusage: ort_bench MODEL.onnx N,C,H,W THREADS RUNS\n", why);
  exit(1);
}

static long positive(const char *text, const char *what) {
  char *end;
  long v = strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 1 || v > 1000000) usage(what);
  return v;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The model's file name as a JSON string body (quotes, backslashes and control bytes escaped). */
static void print_json_name(const char *path) {
  const char *base = strrchr(path, '/');
  for (base = base ? base + 1 : path; *base; base++) {
    unsigned char c = (unsigned char)*base;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
}

int main(int argc, char **argv) {
  if (argc != 5) usage("expected 4 arguments");
  const char *model = argv[1];
  int64_t shape[4];
  const char *p = argv[2];
  size_t count = 1;
  for (int d = 0; d < 4; d++) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p || v < 1 || v > 65536 || *end != (d < 3 ? ',' : '\0')) usage("bad shape N,C,H,W");
    shape[d] = v;
    count *= (size_t)v;
    p = end + 1;
  }
  if (count > ((size_t)1 << 28)) usage("input too large");
  int threads = (int)positive(argv[3], "THREADS must be a positive integer");
  int runs = (int)positive(argv[4], "RUNS must be a positive integer");

  ort = OrtGetApiBase()->GetApi(ORT_API_VERSION);
  if (ort == NULL) {
    fprintf(stderr, "ort_bench: this onnxruntime library does not offer C API version %d (it is %s)\n",
            ORT_API_VERSION, OrtGetApiBase()->GetVersionString());
    return 2;
  }

  OrtEnv *env = NULL;
  OrtSessionOptions *opts = NULL;
  OrtSession *session = NULL;
  OrtAllocator *alloc = NULL;
  OrtMemoryInfo *mem = NULL;
  OrtValue *input = NULL;
  check(ort->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "ort_bench", &env));
  check(ort->CreateSessionOptions(&opts));
  check(ort->SetIntraOpNumThreads(opts, threads));
  check(ort->SetInterOpNumThreads(opts, 1));
  check(ort->SetSessionGraphOptimizationLevel(opts, ORT_ENABLE_ALL));
  check(ort->CreateSession(env, model, opts, &session));
  check(ort->GetAllocatorWithDefaultOptions(&alloc));

  size_t n_in = 0, n_out = 0;
  check(ort->SessionGetInputCount(session, &n_in));
  check(ort->SessionGetOutputCount(session, &n_out));
  if (n_in != 1 || n_out < 1) {
    fprintf(stderr, "ort_bench: %s has %zu inputs and %zu outputs; expected 1 input\n", model, n_in, n_out);
    return 2;
  }
  char *in_name = NULL;
  check(ort->SessionGetInputName(session, 0, alloc, &in_name));
  char **out_names = calloc(n_out, sizeof *out_names);
  OrtValue **outputs = calloc(n_out, sizeof *outputs);
  float *data = malloc(count * sizeof *data);
  double *times = malloc((size_t)runs * sizeof *times);
  if (!out_names || !outputs || !data || !times) {
    fprintf(stderr, "ort_bench: out of memory\n");
    return 2;
  }
  for (size_t i = 0; i < n_out; i++) check(ort->SessionGetOutputName(session, i, alloc, &out_names[i]));
  for (size_t i = 0; i < count; i++) data[i] = (float)((i * 37) % 256);

  check(ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mem));
  check(ort->CreateTensorWithDataAsOrtValue(mem, data, count * sizeof *data, shape, 4,
                                            ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &input));

  for (int r = -WARMUP; r < runs; r++) {
    double t0 = now_ms();
    check(ort->Run(session, NULL, (const char *const *)&in_name, (const OrtValue *const *)&input, 1,
                   (const char *const *)out_names, n_out, outputs));
    double t1 = now_ms();
    if (r >= 0) times[r] = t1 - t0;
    for (size_t i = 0; i < n_out; i++) {
      ort->ReleaseValue(outputs[i]);
      outputs[i] = NULL; /* NULL: Run allocates fresh outputs next time */
    }
  }

  qsort(times, (size_t)runs, sizeof *times, by_value);
  double median = runs % 2 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
  printf("{\"model\": \"");
  print_json_name(model);
  printf("\", \"threads\": %d, \"runs\": %d, \"median_ms\": %.3f, \"min_ms\": %.3f}\n", threads, runs,
         median, times[0]);

  for (size_t i = 0; i < n_out; i++) check(ort->AllocatorFree(alloc, out_names[i]));
  check(ort->AllocatorFree(alloc, in_name));
  ort->ReleaseValue(input);
  ort->ReleaseMemoryInfo(mem);
  ort->ReleaseSession(session);
  ort->ReleaseSessionOptions(opts);
  ort->ReleaseEnv(env);
  free(out_names);
  free(outputs);
  free(data);
  free(times);
  return fflush(stdout) == 0 ? 0 : 2;
}
