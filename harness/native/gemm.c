// Native single-precision GEMM for the wasm backend: cblas_sgemm from the system's OpenBLAS (opened with
// dlopen, so building needs no BLAS headers) on matrices that live in a wasm heap (an ArrayBuffer).
// One BLAS thread per calling thread: data-parallel training already runs one worker per core.
#include <dlfcn.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

typedef void (*sgemm_fn)(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

static sgemm_fn sgemm;
static char library[512];

#define CHECK(call)                                                                                                   \
  if ((call) != napi_ok) {                                                                                           \
    napi_throw_error(env, NULL, "native gemm: bad arguments");                                                       \
    return NULL;                                                                                                     \
  }

/** Opens the first OpenBLAS that loads; fills `library` with its name and configuration (once per process). */
static void open_blas(void) {
  static const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"};
  for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
    void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
    void (*set_threads)(int) = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    char *(*config)(void) = (char *(*)(void))dlsym(h, "openblas_get_config");
    char *(*core)(void) = (char *(*)(void))dlsym(h, "openblas_get_corename");
    if (!sgemm) continue;
    if (set_threads) set_threads(1);
    snprintf(library, sizeof library, "%s (%s; core %s)", names[i], config ? config() : "?", core ? core() : "?");
    return;
  }
}

int register_kernels(napi_env env, napi_value exports); // kernels.c: the fast paths' elementwise loops

static pthread_once_t opened = PTHREAD_ONCE_INIT;

/** Floats spanned by a rows x cols row-major matrix with leading dimension ld. */
static int64_t extent(int64_t rows, int64_t cols, int64_t ld) { return (rows - 1) * ld + cols; }

/**
 * gemm(heap, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta, batch, strideA, strideB, strideC):
 * for i < batch, C_i = op(A_i) op(B_i) + beta C_i, row-major. a, b, c are byte offsets into heap; lda, ldb,
 * ldc and the strides are in floats (a stride of 0 broadcasts one matrix over the batch).
 */
static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 17;
  napi_value argv[17];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 17) {
    napi_throw_error(env, NULL, "native gemm: expected 17 arguments");
    return NULL;
  }
  void *heap;
  size_t bytes;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &heap, &bytes));
  int64_t v[16];
  for (int i = 0; i < 16; i++) {
    if (i == 11) continue;
    CHECK(napi_get_value_int64(env, argv[i + 1], &v[i]));
  }
  double beta;
  CHECK(napi_get_value_double(env, argv[12], &beta));
  const int64_t m = v[2], n = v[3], k = v[4], batch = v[12];
  const int64_t lastA = v[5] + 4 * ((batch - 1) * v[13] + (v[0] ? extent(k, m, v[6]) : extent(m, k, v[6]))),
                lastB = v[7] + 4 * ((batch - 1) * v[14] + (v[1] ? extent(n, k, v[8]) : extent(k, n, v[8]))),
                lastC = v[9] + 4 * ((batch - 1) * v[15] + extent(m, n, v[10]));
  if (m <= 0 || n <= 0 || k <= 0 || batch <= 0 || v[5] < 0 || v[7] < 0 || v[9] < 0 || v[13] < 0 || v[14] < 0 ||
      v[15] < 0 || (uint64_t)lastA > bytes || (uint64_t)lastB > bytes || (uint64_t)lastC > bytes) {
    napi_throw_range_error(env, NULL, "native gemm: bad sizes or matrices outside the heap");
    return NULL;
  }
  float *base = (float *)heap;
  for (int64_t i = 0; i < batch; i++) {
    sgemm(ROW_MAJOR, v[0] ? TRANS : NO_TRANS, v[1] ? TRANS : NO_TRANS, (int)m, (int)n, (int)k, 1.0f,
          base + v[5] / 4 + i * v[13], (int)v[6], base + v[7] / 4 + i * v[14], (int)v[8], (float)beta,
          base + v[9] / 4 + i * v[15], (int)v[10]);
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  // Worker threads load the addon too: open the library once, whichever thread comes first.
  pthread_once(&opened, open_blas);
  if (!sgemm) {
    napi_throw_error(env, NULL, "no OpenBLAS library found (libopenblas.so.0; Debian package libopenblas0)");
    return NULL;
  }
  napi_value fn, lib;
  if (napi_create_function(env, "gemm", NAPI_AUTO_LENGTH, gemm, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "gemm", fn) != napi_ok ||
      napi_create_string_utf8(env, library, NAPI_AUTO_LENGTH, &lib) != napi_ok ||
      napi_set_named_property(env, exports, "library", lib) != napi_ok || !register_kernels(env, exports))
    return NULL;
  return exports;
}
