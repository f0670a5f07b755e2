/* engine_cells.c - the fused gate kernels of the engine: one time step of the tanh RNN, the
 * LSTM and the GRU for the whole batch, forward and backward, and the column sums of the bias
 * gradients; written once on vector lanes (recur/vmath.h), one clone per instruction set. */
#include <string.h>

#include <recur/vmath.h>

#include "engine_impl.h"

/* Masked row: the state passes through, the output is 0. */
static void keep_row(size_t H, const recur_real *hp, const recur_real *cp, recur_real *ho,
                     recur_real *co, recur_real *y)
{
    if (ho != hp)
        memcpy(ho, hp, H * sizeof *ho);
    if (co && co != cp)
        memcpy(co, cp, H * sizeof *co);
    memset(y, 0, H * sizeof *y);
}

/* RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) */
RECUR_LANE_FN void rnn_fwd_lanes(recur_real *a, recur_real *h, recur_real *y, size_t n)
{
    const recur_vr x = recur_v_load(a, n), v = recur_v_tanh(&x);
    recur_v_store(a, &v, n);
    recur_v_store(h, &v, n);
    recur_v_store(y, &v, n);
}

RECUR_VKERNEL void recur_engine_rnn_step_fwd(size_t B, size_t H, recur_real *a,
                                             const recur_real *hp, recur_real *ho, recur_real *y,
                                             size_t ldy, const unsigned char *m)
{
    for (size_t b = 0; b < B; b++) {
        recur_real *ab = a + b * H, *hb = ho + b * H, *yb = y + b * ldy;
        if (!m[b]) {
            keep_row(H, hp + b * H, NULL, hb, NULL, yb);
            continue;
        }
#define RECUR_LANES(j, n) rnn_fwd_lanes(ab + (j), hb + (j), yb + (j), (n))
        RECUR_FOR_LANES(H, RECUR_LANES);
#undef RECUR_LANES
    }
}

/* LSTM: (i|f|g|o) = act(W_ih x + b_ih + W_hh h + b_hh), i, f, o sigmoid, g tanh;
 * c' = f c + i g; h' = o tanh(c'). a: gate row at lane j (i at a, f at a + H, ...). */
RECUR_LANE_FN void lstm_fwd_lanes(size_t H, recur_real *a, const recur_real *cp, recur_real *co,
                                  recur_real *h, recur_real *y, size_t n)
{
    recur_vr i = recur_v_load(a, n), f = recur_v_load(a + H, n);
    recur_vr g = recur_v_load(a + 2 * H, n), o = recur_v_load(a + 3 * H, n);
    i = recur_v_sigmoid(&i);
    f = recur_v_sigmoid(&f);
    g = recur_v_tanh(&g);
    o = recur_v_sigmoid(&o);
    const recur_vr c = f * recur_v_load(cp, n) + i * g;
    const recur_vr hv = o * recur_v_tanh(&c);
    recur_v_store(a, &i, n);
    recur_v_store(a + H, &f, n);
    recur_v_store(a + 2 * H, &g, n);
    recur_v_store(a + 3 * H, &o, n);
    recur_v_store(co, &c, n);
    recur_v_store(h, &hv, n);
    recur_v_store(y, &hv, n);
}

RECUR_VKERNEL void recur_engine_lstm_step_fwd(size_t B, size_t H, recur_real *a,
                                              const recur_real *hp, const recur_real *cp,
                                              recur_real *ho, recur_real *co, recur_real *y,
                                              size_t ldy, const unsigned char *m)
{
    for (size_t b = 0; b < B; b++) {
        recur_real *ab = a + b * 4 * H, *hb = ho + b * H, *cb = co + b * H, *yb = y + b * ldy;
        const recur_real *cpb = cp + b * H;
        if (!m[b]) {
            keep_row(H, hp + b * H, cpb, hb, cb, yb);
            continue;
        }
#define RECUR_LANES(j, n) lstm_fwd_lanes(H, ab + (j), cpb + (j), cb + (j), hb + (j), yb + (j), (n))
        RECUR_FOR_LANES(H, RECUR_LANES);
#undef RECUR_LANES
    }
}

/* GRU: (r|z) = sigmoid(W_i x + b_i + W_h h + b_h); n = tanh(W_in x + b_in + r (W_hn h + b_hn));
 * h' = (1 - z) n + z h. gh: the recurrent product W_hh h + b_hh of the row; hn gets its n part
 * (NULL: not kept). */
RECUR_LANE_FN void gru_fwd_lanes(size_t H, recur_real *a, const recur_real *gh, recur_real *hn,
                                 const recur_real *hp, recur_real *h, recur_real *y, size_t n)
{
    recur_vr r = recur_v_load(a, n) + recur_v_load(gh, n);
    recur_vr z = recur_v_load(a + H, n) + recur_v_load(gh + H, n);
    r = recur_v_sigmoid(&r);
    z = recur_v_sigmoid(&z);
    const recur_vr hnv = recur_v_load(gh + 2 * H, n);
    const recur_vr pre = recur_v_load(a + 2 * H, n) + r * hnv;
    const recur_vr nv = recur_v_tanh(&pre);
    const recur_vr hv = (1 - z) * nv + z * recur_v_load(hp, n);
    recur_v_store(a, &r, n);
    recur_v_store(a + H, &z, n);
    recur_v_store(a + 2 * H, &nv, n);
    if (hn)
        recur_v_store(hn, &hnv, n);
    recur_v_store(h, &hv, n);
    recur_v_store(y, &hv, n);
}

RECUR_VKERNEL void recur_engine_gru_step_fwd(size_t B, size_t H, recur_real *a,
                                             const recur_real *gh, recur_real *hn,
                                             const recur_real *hp, recur_real *ho, recur_real *y,
                                             size_t ldy, const unsigned char *m)
{
    for (size_t b = 0; b < B; b++) {
        recur_real *ab = a + b * 3 * H, *hb = ho + b * H, *yb = y + b * ldy;
        recur_real *hnb = hn ? hn + b * H : NULL;
        const recur_real *tb = gh + b * 3 * H, *hpb = hp + b * H;
        if (!m[b]) {
            keep_row(H, hpb, NULL, hb, NULL, yb);
            continue;
        }
#define RECUR_LANES(j, n)                                                                          \
    gru_fwd_lanes(H, ab + (j), tb + (j), hnb ? hnb + (j) : NULL, hpb + (j), hb + (j), yb + (j), (n))
        RECUR_FOR_LANES(H, RECUR_LANES);
#undef RECUR_LANES
    }
}

/* Masked row in backward: zero gate gradients; the state gradient passes through to next. */
static void masked_row_bwd(size_t GH, size_t H, recur_real *ab, recur_real *gb,
                           const recur_real *dhb, recur_real *nb)
{
    memset(ab, 0, GH * sizeof *ab);
    if (gb)
        memset(gb, 0, GH * sizeof *gb);
    if (nb)
        memcpy(nb, dhb, H * sizeof *nb);
}

RECUR_LANE_FN void rnn_bwd_lanes(recur_real *a, recur_real *dh, const recur_real *dy, size_t n)
{
    const recur_vr d = recur_v_load(dh, n) + recur_v_load(dy, n);
    const recur_vr h = recur_v_load(a, n), da = d * (1 - h * h);
    recur_v_store(dh, &d, n);
    recur_v_store(a, &da, n);
}

RECUR_VKERNEL void recur_engine_rnn_step_bwd(size_t B, size_t H, recur_real *a, recur_real *dh,
                                             const recur_real *dy, size_t ldy, recur_real *next,
                                             const unsigned char *m)
{
    for (size_t b = 0; b < B; b++) {
        recur_real *ab = a + b * H, *dhb = dh + b * H, *nb = next ? next + b * H : NULL;
        if (!m[b]) {
            masked_row_bwd(H, H, ab, NULL, dhb, nb);
            continue;
        }
        const recur_real *dyb = dy + b * ldy;
#define RECUR_LANES(j, n) rnn_bwd_lanes(ab + (j), dhb + (j), dyb + (j), (n))
        RECUR_FOR_LANES(H, RECUR_LANES);
#undef RECUR_LANES
        if (nb)
            memset(nb, 0, H * sizeof *nb);
    }
}

RECUR_LANE_FN void lstm_bwd_lanes(size_t H, recur_real *a, const recur_real *cp,
                                  const recur_real *cc, recur_real *dh, const recur_real *dy,
                                  recur_real *dc, size_t n)
{
    const recur_vr d = recur_v_load(dh, n) + recur_v_load(dy, n);
    const recur_vr i = recur_v_load(a, n), f = recur_v_load(a + H, n);
    const recur_vr g = recur_v_load(a + 2 * H, n), o = recur_v_load(a + 3 * H, n);
    const recur_vr c = recur_v_load(cc, n), tc = recur_v_tanh(&c);
    const recur_vr dct = recur_v_load(dc, n) + d * o * (1 - tc * tc);
    const recur_vr di = dct * g * i * (1 - i);
    const recur_vr df = dct * recur_v_load(cp, n) * f * (1 - f);
    const recur_vr dg = dct * i * (1 - g * g);
    const recur_vr dO = d * tc * o * (1 - o);
    const recur_vr dcn = dct * f;
    recur_v_store(dh, &d, n);
    recur_v_store(a, &di, n);
    recur_v_store(a + H, &df, n);
    recur_v_store(a + 2 * H, &dg, n);
    recur_v_store(a + 3 * H, &dO, n);
    recur_v_store(dc, &dcn, n);
}

RECUR_VKERNEL void recur_engine_lstm_step_bwd(size_t B, size_t H, recur_real *a,
                                              const recur_real *cp, const recur_real *cc,
                                              recur_real *dh, const recur_real *dy, size_t ldy,
                                              recur_real *dc, recur_real *next,
                                              const unsigned char *m)
{
    for (size_t b = 0; b < B; b++) {
        recur_real *ab = a + b * 4 * H, *dhb = dh + b * H, *dcb = dc + b * H;
        recur_real *nb = next ? next + b * H : NULL;
        if (!m[b]) {
            masked_row_bwd(4 * H, H, ab, NULL, dhb, nb);
            continue;
        }
        const recur_real *dyb = dy + b * ldy, *cpb = cp + b * H, *cb = cc + b * H;
#define RECUR_LANES(j, n)                                                                          \
    lstm_bwd_lanes(H, ab + (j), cpb + (j), cb + (j), dhb + (j), dyb + (j), dcb + (j), (n))
        RECUR_FOR_LANES(H, RECUR_LANES);
#undef RECUR_LANES
        if (nb)
            memset(nb, 0, H * sizeof *nb);
    }
}

RECUR_LANE_FN void gru_bwd_lanes(size_t H, recur_real *a, recur_real *gh, const recur_real *hn,
                                 const recur_real *hp, recur_real *dh, const recur_real *dy,
                                 recur_real *next, size_t n)
{
    const recur_vr d = recur_v_load(dh, n) + recur_v_load(dy, n);
    const recur_vr r = recur_v_load(a, n), z = recur_v_load(a + H, n);
    const recur_vr nv = recur_v_load(a + 2 * H, n);
    const recur_vr dan = d * (1 - z) * (1 - nv * nv);
    const recur_vr dar = dan * recur_v_load(hn, n) * r * (1 - r);
    const recur_vr daz = d * (recur_v_load(hp, n) - nv) * z * (1 - z);
    const recur_vr dahn = dan * r, direct = d * z;
    recur_v_store(dh, &d, n);
    recur_v_store(a, &dar, n);
    recur_v_store(gh, &dar, n);
    recur_v_store(a + H, &daz, n);
    recur_v_store(gh + H, &daz, n);
    recur_v_store(a + 2 * H, &dan, n);
    recur_v_store(gh + 2 * H, &dahn, n);
    if (next)
        recur_v_store(next, &direct, n);
}

RECUR_VKERNEL void recur_engine_gru_step_bwd(size_t B, size_t H, recur_real *a, recur_real *gh,
                                             const recur_real *hn, const recur_real *hp,
                                             recur_real *dh, const recur_real *dy, size_t ldy,
                                             recur_real *next, const unsigned char *m)
{
    for (size_t b = 0; b < B; b++) {
        recur_real *ab = a + b * 3 * H, *gb = gh + b * 3 * H, *dhb = dh + b * H;
        recur_real *nb = next ? next + b * H : NULL;
        if (!m[b]) {
            masked_row_bwd(3 * H, H, ab, gb, dhb, nb);
            continue;
        }
        const recur_real *dyb = dy + b * ldy, *hpb = hp + b * H, *hnb = hn + b * H;
#define RECUR_LANES(j, n)                                                                          \
    gru_bwd_lanes(H, ab + (j), gb + (j), hnb + (j), hpb + (j), dhb + (j), dyb + (j),               \
                  nb ? nb + (j) : NULL, (n))
        RECUR_FOR_LANES(H, RECUR_LANES);
#undef RECUR_LANES
    }
}

/* s[j] = sum over rows r < R of A[r * N + j] (one chain per column, in row order). */
RECUR_LANE_FN void add_lanes(recur_real *s, const recur_real *a, size_t n)
{
    const recur_vr v = recur_v_load(s, n) + recur_v_load(a, n);
    recur_v_store(s, &v, n);
}

RECUR_VKERNEL void recur_engine_column_sums(size_t R, size_t N, const recur_real *A, recur_real *s)
{
    memset(s, 0, N * sizeof *s);
    for (size_t r = 0; r < R; r++) {
        const recur_real *ar = A + r * N;
#define RECUR_LANES(j, n) add_lanes(s + (j), ar + (j), (n))
        RECUR_FOR_LANES(N, RECUR_LANES);
#undef RECUR_LANES
    }
}
