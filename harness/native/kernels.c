// The fast paths' elementwise loops (architectures/ops/<family>/wasm.ts) in C, on float32 data in a wasm heap
// (an ArrayBuffer), in place; and the host AdamW step (architectures/ops/optim/host.ts) on four float32
// arrays. Each one is the JS loop it replaces, operation for operation: JS computes in double and rounds to
// float32 where it stores to the heap or calls Math.fround, so these compute in double and round at the same
// points, and the results are bit-identical (built without -ffast-math and with -ffp-contract=off, so no
// multiply-add is fused). Offsets and sizes are in floats.
#include <math.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_ARGS 10

/** Reads the heap and `count` numbers after it; throws and returns NULL on anything else. */
static float *arguments(napi_env env, napi_callback_info info, size_t count, double *v, size_t *floats) {
  size_t argc = MAX_ARGS + 1;
  napi_value argv[MAX_ARGS + 1];
  void *heap;
  size_t bytes;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != count + 1 ||
      napi_get_arraybuffer_info(env, argv[0], &heap, &bytes) != napi_ok) {
    napi_throw_error(env, NULL, "native kernel: expected a heap ArrayBuffer and its numbers");
    return NULL;
  }
  for (size_t i = 0; i < count; i++) {
    if (napi_get_value_double(env, argv[i + 1], &v[i]) != napi_ok || !isfinite(v[i])) {
      napi_throw_error(env, NULL, "native kernel: expected finite numbers after the heap");
      return NULL;
    }
  }
  *floats = bytes / 4;
  return (float *)heap;
}

/** True when floats [at, at + n) lie in the heap (at = -1: an absent operand, always fine). */
static int inside(double at, double n, size_t floats) { return at == -1 || (at >= 0 && n >= 0 && at + n <= (double)floats); }

#define HEAP(count)                                                                                                   \
  double v[count];                                                                                                    \
  size_t floats;                                                                                                      \
  float *h = arguments(env, info, count, v, &floats);                                                                 \
  if (!h) return NULL;

#define REQUIRE(ok)                                                                                                   \
  if (!(ok)) {                                                                                                        \
    napi_throw_range_error(env, NULL, "native kernel: bad sizes or data outside the heap");                          \
    return NULL;                                                                                                      \
  }

/**
 * rmsNormForward(heap, x, w, y, r, rows, d, eps): per row of x [rows, d],
 * r = 1 / sqrt(mean(x^2) + eps), y = x * r (* w), w [d] or -1.
 */
static napi_value rms_norm_forward(napi_env env, napi_callback_info info) {
  HEAP(7)
  const int64_t x = v[0], w = v[1], y = v[2], r = v[3], rows = v[4], d = v[5];
  const double eps = v[6];
  REQUIRE(rows >= 0 && d > 0 && inside(x, rows * d, floats) && inside(w, d, floats) && inside(y, rows * d, floats) &&
          inside(r, rows, floats))
  for (int64_t i = 0; i < rows; i++) {
    const float *xr = h + x + i * d;
    float *yr = h + y + i * d;
    double ss = 0;
    for (int64_t j = 0; j < d; j++) ss += (double)xr[j] * xr[j];
    const double rr = 1 / sqrt(ss / d + eps);
    h[r + i] = (float)rr;
    if (w >= 0)
      for (int64_t j = 0; j < d; j++) yr[j] = (float)(xr[j] * rr * h[w + j]);
    else
      for (int64_t j = 0; j < d; j++) yr[j] = (float)(xr[j] * rr);
  }
  return NULL;
}

/**
 * rmsNormBackward(heap, x, w, dy, r, dx, dw, rows, d): with n = x r,
 * dx = r (dy w - n mean(dy w n)), dw = sum over rows of dy n (w, dw: -1 without a weight).
 */
static napi_value rms_norm_backward(napi_env env, napi_callback_info info) {
  HEAP(8)
  const int64_t x = v[0], w = v[1], dy = v[2], r = v[3], dx = v[4], dw = v[5], rows = v[6], d = v[7];
  REQUIRE(rows >= 0 && d > 0 && (w == -1) == (dw == -1) && inside(x, rows * d, floats) && inside(w, d, floats) &&
          inside(dy, rows * d, floats) && inside(r, rows, floats) && inside(dx, rows * d, floats) && inside(dw, d, floats))
  double *acc = w >= 0 ? calloc(d, sizeof *acc) : NULL;
  if (w >= 0 && !acc) {
    napi_throw_error(env, NULL, "native kernel: out of memory");
    return NULL;
  }
  for (int64_t i = 0; i < rows; i++) {
    const float *xr = h + x + i * d, *gr = h + dy + i * d;
    float *dr = h + dx + i * d;
    const double rr = h[r + i];
    double dot = 0;
    if (w >= 0) {
      for (int64_t j = 0; j < d; j++) {
        const double n = xr[j] * rr, g = gr[j];
        dot += g * h[w + j] * n;
        acc[j] += g * n;
      }
    } else {
      for (int64_t j = 0; j < d; j++) dot += gr[j] * (double)xr[j] * rr;
    }
    const double mean = dot / d;
    if (w >= 0)
      for (int64_t j = 0; j < d; j++) dr[j] = (float)(rr * ((double)gr[j] * h[w + j] - xr[j] * rr * mean));
    else
      for (int64_t j = 0; j < d; j++) dr[j] = (float)(rr * (gr[j] - xr[j] * rr * mean));
  }
  if (acc)
    for (int64_t j = 0; j < d; j++) h[dw + j] = (float)acc[j];
  free(acc);
  return NULL;
}

/**
 * scaleMaskRows(heap, s, mask, rows, n, maskStride, scale): the attention logits before the softmax, in place,
 * s [rows, n]: s = fround(s scale) + mask (mask rows maskStride apart), or s = s scale with mask -1.
 */
static napi_value scale_mask_rows(napi_env env, napi_callback_info info) {
  HEAP(6)
  const int64_t s = v[0], mask = v[1], rows = v[2], n = v[3], stride = v[4];
  const double scale = v[5];
  REQUIRE(rows >= 0 && n > 0 && stride >= n && inside(s, rows * n, floats) &&
          inside(mask, rows > 0 ? (rows - 1) * stride + n : 0, floats))
  for (int64_t r = 0; r < rows; r++) {
    float *row = h + s + r * n;
    if (mask >= 0) {
      const float *m = h + mask + r * stride;
      for (int64_t j = 0; j < n; j++) row[j] = (float)((double)(float)(row[j] * scale) + m[j]);
    } else {
      for (int64_t j = 0; j < n; j++) row[j] = (float)(row[j] * scale);
    }
  }
  return NULL;
}

/**
 * softmaxGradRows(heap, p, dp, rows, n, scale): dS = (P*dP - rowsum(P*dP) P) scale over rows of P, dP [rows, n],
 * into dp, with float32 rounding of every product as in the JS loop.
 */
static napi_value softmax_grad_rows(napi_env env, napi_callback_info info) {
  HEAP(5)
  const int64_t p = v[0], dp = v[1], rows = v[2], n = v[3];
  const double scale = v[4];
  REQUIRE(rows >= 0 && n > 0 && inside(p, rows * n, floats) && inside(dp, rows * n, floats))
  for (int64_t r = 0; r < rows; r++) {
    const float *pr = h + p + r * n;
    float *dr = h + dp + r * n;
    double sum = 0;
    for (int64_t j = 0; j < n; j++) sum += (float)((double)pr[j] * dr[j]);
    const double fs = (float)sum;
    for (int64_t j = 0; j < n; j++) {
      const double pv = pr[j];
      dr[j] = (float)((double)(float)((double)(float)(pv * dr[j]) - (double)(float)(fs * pv)) * scale);
    }
  }
  return NULL;
}

/**
 * rotate(heap, x, cos, sin, out, outer, t, d, sign): x [outer, t, d] with tables [t, d]; sign 1: the rotation
 * out[2i] = x[2i] c[2i] - x[2i+1] s[2i], out[2i+1] = x[2i+1] c[2i+1] + x[2i] s[2i+1]; sign -1: its transpose.
 */
static napi_value rotate(napi_env env, napi_callback_info info) {
  HEAP(8)
  const int64_t x = v[0], co = v[1], so = v[2], o = v[3], outer = v[4], t = v[5], d = v[6], sign = v[7];
  REQUIRE(outer >= 0 && t >= 0 && d > 0 && d % 2 == 0 && (sign == 1 || sign == -1) && x >= 0 && co >= 0 && so >= 0 &&
          o >= 0 && inside(x, outer * t * d, floats) && inside(co, t * d, floats) && inside(so, t * d, floats) &&
          inside(o, outer * t * d, floats))
  for (int64_t b = 0; b < outer; b++) {
    for (int64_t ti = 0; ti < t; ti++) {
      const float *xr = h + x + (b * t + ti) * d, *c = h + co + ti * d, *s = h + so + ti * d;
      float *out = h + o + (b * t + ti) * d;
      if (sign == 1) {
        for (int64_t j = 0; j < d; j += 2) {
          const double x0 = xr[j], x1 = xr[j + 1];
          out[j] = (float)(x0 * c[j] - x1 * s[j]);
          out[j + 1] = (float)(x1 * c[j + 1] + x0 * s[j + 1]);
        }
      } else {
        for (int64_t j = 0; j < d; j += 2) {
          const double g0 = xr[j], g1 = xr[j + 1];
          out[j] = (float)(g0 * c[j] + g1 * s[j + 1]);
          out[j + 1] = (float)(g1 * c[j + 1] - g0 * s[j]);
        }
      }
    }
  }
  return NULL;
}

/** siluGateForward(heap, gu, sig, y, rows, f): y = g sigmoid(g) u for gu = [g | u] rows [rows, 2f], sig = sigmoid(gu). */
static napi_value silu_gate_forward(napi_env env, napi_callback_info info) {
  HEAP(5)
  const int64_t a = v[0], s = v[1], y = v[2], rows = v[3], f = v[4];
  REQUIRE(rows >= 0 && f > 0 && a >= 0 && s >= 0 && y >= 0 && inside(a, rows * 2 * f, floats) &&
          inside(s, rows * 2 * f, floats) && inside(y, rows * f, floats))
  for (int64_t i = 0; i < rows; i++) {
    const float *ar = h + a + i * 2 * f, *sr = h + s + i * 2 * f;
    float *yr = h + y + i * f;
    for (int64_t j = 0; j < f; j++) yr[j] = (float)((double)ar[j] * sr[j] * ar[f + j]);
  }
  return NULL;
}

/**
 * siluGateBackward(heap, gu, sig, dy, dgu, rows, f): dg = dy u sig (1 + g (1 - sig)), du = dy g sig, into
 * dgu [rows, 2f].
 */
static napi_value silu_gate_backward(napi_env env, napi_callback_info info) {
  HEAP(6)
  const int64_t a = v[0], s = v[1], dy = v[2], dgu = v[3], rows = v[4], f = v[5];
  REQUIRE(rows >= 0 && f > 0 && a >= 0 && s >= 0 && dy >= 0 && dgu >= 0 && inside(a, rows * 2 * f, floats) &&
          inside(s, rows * 2 * f, floats) && inside(dy, rows * f, floats) && inside(dgu, rows * 2 * f, floats))
  for (int64_t i = 0; i < rows; i++) {
    const float *ar = h + a + i * 2 * f, *sr = h + s + i * 2 * f, *gr = h + dy + i * f;
    float *dr = h + dgu + i * 2 * f;
    for (int64_t j = 0; j < f; j++) {
      const double g = ar[j], u = ar[f + j], sg = sr[j], dyv = gr[j];
      dr[j] = (float)(dyv * u * sg * (1 + g * (1 - sg)));
      dr[f + j] = (float)(dyv * g * sg);
    }
  }
  return NULL;
}

/**
 * adamw's loop over n elements with its 8 constants. Also built for AVX2 and picked when the CPU has it: the
 * same operations, 4 doubles at a time (no FMA: -ffp-contract=off), so the same bits.
 */
__attribute__((target_clones("avx2", "default"))) static void adamw_loop(size_t n, float *restrict w, const float *restrict g,
                                                                          float *restrict m, float *restrict v, const double *c) {
  const double gradScale = c[0], beta1 = c[1], beta2 = c[2], c1 = c[3], c2 = c[4], lrOverBc1 = c[5], invBc2 = c[6],
               keep = c[7];
  for (size_t i = 0; i < n; i++) {
    const double gi = (float)(g[i] * gradScale);
    const double mi = m[i] * beta1 + gi * c1;
    const double vi = v[i] * beta2 + gi * gi * c2;
    m[i] = (float)mi;
    v[i] = (float)vi;
    w[i] = (float)(w[i] * keep - (lrOverBc1 * mi) / (sqrt(vi * invBc2) + 1e-8));
  }
}

/**
 * adamw(w, g, m, v, gradScale, beta1, beta2, c1, c2, lrOverBc1, invBc2, keep): optim/host.ts's adamwJs loop on four
 * float32 arrays of one length (typed arrays, not a heap: the data-parallel trainer's are views of separate
 * SharedArrayBuffers), with the constants computed there.
 */
static napi_value adamw(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  float *p[4];
  size_t len[4];
  double c[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 12) {
    napi_throw_error(env, NULL, "native adamw: expected 4 Float32Arrays and 8 numbers");
    return NULL;
  }
  for (int i = 0; i < 4; i++) {
    napi_typedarray_type type;
    if (napi_get_typedarray_info(env, argv[i], &type, &len[i], (void **)&p[i], NULL, NULL) != napi_ok ||
        type != napi_float32_array || len[i] != len[0]) {
      napi_throw_error(env, NULL, "native adamw: expected 4 Float32Arrays of one length");
      return NULL;
    }
  }
  for (int i = 0; i < 8; i++) {
    if (napi_get_value_double(env, argv[i + 4], &c[i]) != napi_ok || !isfinite(c[i])) {
      napi_throw_error(env, NULL, "native adamw: expected finite numbers after the arrays");
      return NULL;
    }
  }
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++)
      if (len[0] > 0 && p[i] < p[j] + len[0] && p[j] < p[i] + len[0]) {
        napi_throw_range_error(env, NULL, "native adamw: the four arrays must not overlap");
        return NULL;
      }
  adamw_loop(len[0], p[0], p[1], p[2], p[3], c);
  return NULL;
}

/** Adds the kernels to the addon's exports; 0 on failure. */
int register_kernels(napi_env env, napi_value exports) {
  static const struct { const char *name; napi_callback fn; } kernels[] = {
      {"rmsNormForward", rms_norm_forward}, {"rmsNormBackward", rms_norm_backward},
      {"scaleMaskRows", scale_mask_rows},   {"softmaxGradRows", softmax_grad_rows},
      {"rotate", rotate},                   {"siluGateForward", silu_gate_forward},
      {"siluGateBackward", silu_gate_backward}, {"adamw", adamw},
  };
  for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++) {
    napi_value fn;
    if (napi_create_function(env, kernels[i].name, NAPI_AUTO_LENGTH, kernels[i].fn, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, kernels[i].name, fn) != napi_ok)
      return 0;
  }
  return 1;
}
