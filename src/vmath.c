/* vmath.c - array versions of the vectorised exp, sigmoid and tanh of recur/vmath.h (the
 * engine inlines the lane functions into its fused kernels; these serve tests and callers
 * that work on plain arrays). */
#include <recur/vmath.h>

enum { F_EXP, F_SIGMOID, F_TANH };

RECUR_LANE_FN void map_lanes(int f, recur_real *y, const recur_real *x, size_t n)
{
    const recur_vr v = recur_v_load(x, n);
    const recur_vr r = f == F_EXP       ? recur_v_exp(&v)
                       : f == F_SIGMOID ? recur_v_sigmoid(&v)
                                        : recur_v_tanh(&v);
    recur_v_store(y, &r, n);
}

RECUR_VKERNEL void recur_vexp(recur_real *y, const recur_real *x, size_t n)
{
#define RECUR_LANES(j, k) map_lanes(F_EXP, y + (j), x + (j), (k))
    RECUR_FOR_LANES(n, RECUR_LANES);
#undef RECUR_LANES
}

RECUR_VKERNEL void recur_vsigmoid(recur_real *y, const recur_real *x, size_t n)
{
#define RECUR_LANES(j, k) map_lanes(F_SIGMOID, y + (j), x + (j), (k))
    RECUR_FOR_LANES(n, RECUR_LANES);
#undef RECUR_LANES
}

RECUR_VKERNEL void recur_vtanh(recur_real *y, const recur_real *x, size_t n)
{
#define RECUR_LANES(j, k) map_lanes(F_TANH, y + (j), x + (j), (k))
    RECUR_FOR_LANES(n, RECUR_LANES);
#undef RECUR_LANES
}
