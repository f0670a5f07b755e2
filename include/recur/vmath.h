/* recur/vmath.h - vectorised exp, sigmoid and tanh on recur_real: inline lane functions that
 * the engine's fused gate kernels are written with (GCC vector extensions, RECUR_VL = 16 float
 * lanes; one lane with libm in the double build), and array versions of the same functions.
 *
 * Float accuracy (tests/check_vmath.c measures it against double-precision libm): exp as
 * Cephes' expf (range reduction x = n ln2 + r with ln2 split in two, degree-6 polynomial in r;
 * S. Moshier, Cephes Math Library, expf.c), sigmoid = 1 / (1 + exp(-x)), tanh as Cephes'
 * tanhf (odd polynomial for |x| < 0.625, else (1 - e) / (1 + e) with e = exp(-2|x|)); all
 * within a few float ulps, NaN in gives NaN out. exp saturates outside [-87, 88]. */
#ifndef RECUR_VMATH_H
#define RECUR_VMATH_H

#include <math.h>
#include <string.h>

#include <recur/common.h>

#if RECUR_REAL_IS_DOUBLE

#define RECUR_VL 1
typedef double recur_vr;

static inline recur_vr recur_v_splat(recur_real x)
{
    return x;
}
static inline recur_vr recur_v_exp(const recur_vr *x)
{
    return exp(*x);
}
static inline recur_vr recur_v_sigmoid(const recur_vr *x)
{
    return 1 / (1 + exp(-*x));
}
static inline recur_vr recur_v_tanh(const recur_vr *x)
{
    return tanh(*x);
}

#else

#define RECUR_VL 16
/* The lane functions are inlined, so the ABI of 64-byte vector returns, which GCC warns about
 * at every definition and call when AVX-512 is off for the translation unit, never applies; the
 * warning is silenced for files that include this header. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float recur_vr __attribute__((vector_size(64)));
typedef int32_t recur_vi __attribute__((vector_size(64)));
typedef uint32_t recur_vu __attribute__((vector_size(64)));

static inline recur_vr recur_v_splat(recur_real x)
{
    return (recur_vr){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
}

/* m ? a : b lane by lane (m: all ones or all zeros per lane, from a comparison) */
#define RECUR_V_SELECT(m, a, b) ((recur_vr)(((m) & (recur_vi)(a)) | (~(m) & (recur_vi)(b))))

/* Vector arguments go by pointer: GCC notes a changed ABI for 64-byte vectors passed by value
 * (once per file, unsilenceable) even when the function is inlined. */
static inline recur_vr recur_v_exp(const recur_vr *xp)
{
    const recur_vr hi = recur_v_splat(88.0f), lo = recur_v_splat(-87.0f);
    recur_vr x = *xp;
    x = RECUR_V_SELECT(x > hi, hi, x); /* comparisons are false for NaN: it passes through */
    x = RECUR_V_SELECT(x < lo, lo, x);
    /* n = round(x / ln2), half away from zero */
    const recur_vr t = x * recur_v_splat(1.44269504088896341f);
    const recur_vr half =
        RECUR_V_SELECT(t < recur_v_splat(0), recur_v_splat(-0.5f), recur_v_splat(0.5f));
    const recur_vi ni = __builtin_convertvector(t + half, recur_vi);
    const recur_vr n = __builtin_convertvector(ni, recur_vr);
    /* r = x - n ln2, ln2 = 0.693359375 - 2.12194440e-4 (Cephes' C1, C2) */
    recur_vr r = x - n * recur_v_splat(0.693359375f);
    r = r - n * recur_v_splat(-2.12194440e-4f);
    const recur_vr z = r * r;
    recur_vr p = recur_v_splat(1.9875691500e-4f);
    p = p * r + recur_v_splat(1.3981999507e-3f);
    p = p * r + recur_v_splat(8.3334519073e-3f);
    p = p * r + recur_v_splat(4.1665795894e-2f);
    p = p * r + recur_v_splat(1.6666665459e-1f);
    p = p * r + recur_v_splat(5.0000001201e-1f);
    p = p * z + r + recur_v_splat(1.0f);
    /* 2^n by the exponent bits; n is in [-126, 127] after the clamp */
    const recur_vr scale = (recur_vr)((recur_vu)(ni + 127) << 23);
    return p * scale;
}

static inline recur_vr recur_v_sigmoid(const recur_vr *x)
{
    const recur_vr m = -*x;
    return 1.0f / (1.0f + recur_v_exp(&m));
}

static inline recur_vr recur_v_tanh(const recur_vr *xp)
{
    const recur_vr x = *xp;
    const recur_vi sign = (recur_vi)x & (recur_vi)recur_v_splat(-0.0f);
    const recur_vr ax = (recur_vr)((recur_vi)x & ~(recur_vi)recur_v_splat(-0.0f));
    /* |x| < 0.625: x + x^3 P(x^2) (Cephes tanhf) */
    const recur_vr s = x * x;
    recur_vr p = recur_v_splat(-5.70498872745e-3f);
    p = p * s + recur_v_splat(2.06390887954e-2f);
    p = p * s + recur_v_splat(-5.37397155531e-2f);
    p = p * s + recur_v_splat(1.33314422036e-1f);
    p = p * s + recur_v_splat(-3.33332819422e-1f);
    const recur_vr small = (recur_vr)((recur_vi)(p * s * x + x) | sign); /* keeps -0 */
    /* otherwise (1 - e) / (1 + e), e = exp(-2|x|) in (0, 0.29]: no cancellation, no overflow */
    const recur_vr one = recur_v_splat(1.0f);
    const recur_vr m2 = -2.0f * ax;
    const recur_vr e = recur_v_exp(&m2);
    const recur_vr big = (recur_vr)((recur_vi)((one - e) / (one + e)) | sign);
    return RECUR_V_SELECT(ax < recur_v_splat(0.625f), small, big);
}

#endif

/* n <= RECUR_VL elements from p; lanes past n are 0. */
static inline recur_vr recur_v_load(const recur_real *p, size_t n)
{
    recur_vr v;
    if (n == RECUR_VL) {
        memcpy(&v, p, sizeof v);
    } else {
        v = recur_v_splat(0);
        memcpy(&v, p, n * sizeof *p);
    }
    return v;
}

/* The first n <= RECUR_VL lanes of v to p. */
static inline void recur_v_store(recur_real *p, const recur_vr *v, size_t n)
{
    memcpy(p, v, (n == RECUR_VL ? RECUR_VL : n) * sizeof *p);
}

/* y[i] = f(x[i]), i < n; y may be x. */
void recur_vexp(recur_real *y, const recur_real *x, size_t n);
void recur_vsigmoid(recur_real *y, const recur_real *x, size_t n);
void recur_vtanh(recur_real *y, const recur_real *x, size_t n);

/* Attributes of a kernel written with the lane functions above: one clone per instruction set
 * (x86-64-v4 = AVX-512, v3 = AVX2 + FMA, baseline), chosen when the program loads (GCC's
 * target_clones), and multiply-adds fused where the instruction set has them (ISO C mode leaves
 * them separate). Nothing in the double build or with other compilers. */
#if !RECUR_REAL_IS_DOUBLE && defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define RECUR_VKERNEL                                                                              \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"),                   \
                   optimize("fp-contract=fast")))
#else
#define RECUR_VKERNEL
#endif

/* Inlined into a kernel; called with n = RECUR_VL for full vectors (then loads and stores are
 * plain vector moves) and once with the remainder. */
#define RECUR_LANE_FN static inline __attribute__((always_inline))

/* Calls body(j, n) over [0, N) in vectors of RECUR_VL lanes, then the remainder. */
#define RECUR_FOR_LANES(N, body)                                                                   \
    do {                                                                                           \
        size_t j_ = 0;                                                                             \
        for (; j_ + RECUR_VL <= (N); j_ += RECUR_VL)                                               \
            body(j_, RECUR_VL);                                                                    \
        if (j_ < (N))                                                                              \
            body(j_, (N)-j_);                                                                      \
    } while (0)

#endif
