/* engine.c - the shared BPTT engine: forward and backward through time for stacked,
 * optionally bidirectional tanh-RNN / LSTM / GRU layers under a (T, B) mask, the sequence and
 * step heads, the losses, and truncated BPTT by windows with a carried, detached state.
 *
 * Per layer and direction the input projection of every step is one GEMM, only the recurrent
 * product h_{t-1} W_hh^T is per step, and the weight gradients are GEMMs over all steps.
 * Every buffer is allocated once in recur_engine_alloc. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/blas.h>
#include <recur/engine.h>

#if RECUR_REAL_IS_DOUBLE
#define R_EXP exp
#else
#define R_EXP expf
#endif

static inline recur_real sigm(recur_real x)
{
    return (recur_real)1 / ((recur_real)1 + R_EXP(-x));
}

/* tanh through one exp, sign-symmetric so that it never overflows; libm's tanhf costs several
 * times expf and dominated the step (absolute error stays within a few float ulps of 1). */
static inline recur_real tanh_(recur_real x)
{
    const recur_real e = R_EXP(-2 * (x < 0 ? -x : x));
    const recur_real y = (1 - e) / (1 + e);
    return x < 0 ? -y : y;
}

/* Buffers of one layer and direction. Time indices are window-relative (0 .. Tw-1).
 * States are stored with one extra slot: for the forward direction h[0] is the initial state
 * and h[t + 1] the state after step t; for the reverse direction h[Tw] is the initial state and
 * h[t] the state after step t. Either way the state before step t is at h_prev(t). */
typedef struct {
    recur_real *gates; /* (Tw, B, G*H) input projection + biases; after the step, the activated
                          gates; in backward, d loss / d pre-activations (input side) */
    recur_real *dgh;   /* GRU: (Tw, B, 3H) d loss / d recurrent pre-activations */
    recur_real *hn;    /* GRU: (Tw, B, H) W_hn h_{t-1} + b_hn */
    recur_real *h;     /* (Tw + 1, B, H) */
    recur_real *c;     /* LSTM: (Tw + 1, B, H) */
    recur_real *dhs;   /* (Tw, B, H) d loss / d h_t, total, per step (diagnostics) */
    recur_real *carry_h, *carry_c; /* forward direction: (B, H) state carried to the next window */
} dirbuf_t;

struct recur_engine {
    recur_config_t cfg;
    size_t T_max, B_max, I, H, G, L, D, O;
    size_t n_tensors;
    recur_tensor_t *tab; /* (n_tensors) parameter views */
    dirbuf_t *dir;       /* (L * D) */
    recur_real **y;      /* per layer: (Tw, B, D*H) output, 0 at masked steps, dropout applied */
    recur_real **dy;     /* per layer: (Tw, B, D*H) d loss / d output */
    recur_real **drop;   /* per layer but the last: (Tw, B, D*H) dropout scale, or NULL */
    recur_real *tmp;     /* (B, G*H) recurrent product of one step */
    recur_real *dh;      /* (B, H) running d loss / d h */
    recur_real *dc;      /* (B, H) running d loss / d c */
    recur_real *dhp;     /* (B, H) recurrent part of d loss / d h_{t-1} */
    recur_real *dhlast;  /* (2, B, H) gradient entering the final states (last pooling) */
    /* head */
    recur_real *pooled;  /* (B, D*H) sequence feature */
    recur_real *dpooled; /* (B, D*H) */
    recur_real *logits;  /* (B, O) or (Tw, B, O) */
    recur_real *dlogits; /* same shape */
    size_t *argmax;      /* (B, D*H) window step of the max, SIZE_MAX if in an earlier window */
    /* carried across windows (sequence head) */
    recur_real *acc_sum;  /* (B, D*H) sum of top outputs over valid steps so far */
    recur_real *acc_max;  /* (B, D*H) max so far */
    recur_real *rev_last; /* (B, H) reverse top-layer state after step 0 (from the first window) */
    size_t *acc_n;        /* (B) valid steps so far */
    size_t *last;         /* (B) last valid step of each sequence in the batch, SIZE_MAX if none */
    unsigned char *term;  /* (B) the sequence's loss term falls in this window */
    /* the last forward */
    const recur_batch_t *b;
    size_t t0, t1, Bn;
    bool have_loss;
    size_t n_terms;
};

/* ---- allocation ------------------------------------------------------------------------- */

static recur_real *zalloc(size_t n, bool *ok)
{
    recur_real *p = calloc(n ? n : 1, sizeof *p);
    if (!p)
        *ok = false;
    return p;
}

recur_engine_t *recur_engine_alloc(const recur_config_t *cfg, size_t T_max, size_t B_max)
{
    if (recur_config_validate(cfg) != 0)
        return NULL;
    if (T_max == 0 || B_max == 0 || T_max > (1u << 24) || B_max > (1u << 24)) {
        recur_error("engine: window length and batch size must be in 1..2^24");
        return NULL;
    }
    recur_engine_t *e = calloc(1, sizeof *e);
    if (!e)
        goto fail;
    e->cfg = *cfg;
    e->T_max = T_max;
    e->B_max = B_max;
    e->I = cfg->input_size;
    e->H = cfg->hidden_size;
    e->G = recur_config_gates(cfg);
    e->L = cfg->num_layers;
    e->D = recur_config_directions(cfg);
    e->O = cfg->num_outputs;
    const size_t H = e->H, GH = e->G * e->H, DH = e->D * e->H, TB = T_max * B_max;
    /* every buffer is at most TB * max(GH, DH, I, O) elements; refuse sizes that overflow */
    size_t widest = GH > DH ? GH : DH, probe;
    widest = widest > e->I ? widest : e->I;
    widest = widest > e->O ? widest : e->O;
    if (!recur_mul_ok(TB + B_max, widest, &probe) ||
        !recur_mul_ok(probe, sizeof(recur_real), &probe)) {
        recur_error("engine: buffers for T=%zu B=%zu would overflow", T_max, B_max);
        goto fail;
    }
    bool ok = true;
    e->n_tensors = recur_tensor_count(cfg);
    e->tab = calloc(e->n_tensors, sizeof *e->tab);
    e->dir = calloc(e->L * e->D, sizeof *e->dir);
    e->y = calloc(e->L, sizeof *e->y);
    e->dy = calloc(e->L, sizeof *e->dy);
    e->drop = calloc(e->L, sizeof *e->drop);
    e->argmax = calloc(B_max * DH, sizeof *e->argmax);
    e->acc_n = calloc(B_max, sizeof *e->acc_n);
    e->last = calloc(B_max, sizeof *e->last);
    e->term = calloc(B_max, 1);
    if (!e->tab || !e->dir || !e->y || !e->dy || !e->drop || !e->argmax || !e->acc_n || !e->last ||
        !e->term)
        goto fail;
    recur_tensor_table(cfg, e->tab);
    for (size_t k = 0; k < e->L * e->D; k++) {
        dirbuf_t *q = &e->dir[k];
        q->gates = zalloc(TB * GH, &ok);
        q->h = zalloc((T_max + 1) * B_max * H, &ok);
        q->dhs = zalloc(TB * H, &ok);
        q->carry_h = zalloc(B_max * H, &ok);
        if (cfg->cell == RECUR_CELL_LSTM) {
            q->c = zalloc((T_max + 1) * B_max * H, &ok);
            q->carry_c = zalloc(B_max * H, &ok);
        }
        if (cfg->cell == RECUR_CELL_GRU) {
            q->dgh = zalloc(TB * GH, &ok);
            q->hn = zalloc(TB * H, &ok);
        }
    }
    for (size_t l = 0; l < e->L; l++) {
        e->y[l] = zalloc(TB * DH, &ok);
        e->dy[l] = zalloc(TB * DH, &ok);
        if (cfg->dropout > 0 && l + 1 < e->L)
            e->drop[l] = zalloc(TB * DH, &ok);
    }
    e->tmp = zalloc(B_max * GH, &ok);
    e->dh = zalloc(B_max * H, &ok);
    e->dc = zalloc(B_max * H, &ok);
    e->dhp = zalloc(B_max * H, &ok);
    e->dhlast = zalloc(2 * B_max * H, &ok);
    e->pooled = zalloc(B_max * DH, &ok);
    e->dpooled = zalloc(B_max * DH, &ok);
    e->logits = zalloc((cfg->head == RECUR_HEAD_STEP ? TB : B_max) * e->O, &ok);
    e->dlogits = zalloc((cfg->head == RECUR_HEAD_STEP ? TB : B_max) * e->O, &ok);
    e->acc_sum = zalloc(B_max * DH, &ok);
    e->acc_max = zalloc(B_max * DH, &ok);
    e->rev_last = zalloc(B_max * H, &ok);
    if (!ok)
        goto fail;
    return e;
fail:
    recur_error("engine: out of memory");
    recur_engine_free(e);
    return NULL;
}

void recur_engine_free(recur_engine_t *e)
{
    if (!e)
        return;
    if (e->dir) {
        for (size_t k = 0; k < e->L * e->D; k++) {
            dirbuf_t *q = &e->dir[k];
            free(q->gates);
            free(q->dgh);
            free(q->hn);
            free(q->h);
            free(q->c);
            free(q->dhs);
            free(q->carry_h);
            free(q->carry_c);
        }
    }
    for (size_t l = 0; e->y && l < e->L; l++) {
        free(e->y[l]);
        free(e->dy[l]);
        free(e->drop[l]);
    }
    free(e->y);
    free(e->dy);
    free(e->drop);
    free(e->dir);
    free(e->tab);
    free(e->tmp);
    free(e->dh);
    free(e->dc);
    free(e->dhp);
    free(e->dhlast);
    free(e->pooled);
    free(e->dpooled);
    free(e->logits);
    free(e->dlogits);
    free(e->argmax);
    free(e->acc_sum);
    free(e->acc_max);
    free(e->rev_last);
    free(e->acc_n);
    free(e->last);
    free(e->term);
    free(e);
}

const recur_config_t *recur_engine_config(const recur_engine_t *e)
{
    return &e->cfg;
}

/* Parameter views of layer l, direction d (tensor order: w_ih, w_hh, b_ih, b_hh). */
typedef struct {
    recur_real *w_ih; /* (G*H, in) */
    recur_real *w_hh; /* (G*H, H) */
    recur_real *b_ih; /* (G*H) */
    recur_real *b_hh; /* (G*H) */
    size_t in;
} layer_params_t;

static layer_params_t layer_params(const recur_engine_t *e, const recur_real *p, size_t l, size_t d)
{
    const recur_tensor_t *t = &e->tab[4 * (l * e->D + d)];
    layer_params_t v = {(recur_real *)p + t[0].offset, (recur_real *)p + t[1].offset,
                        (recur_real *)p + t[2].offset, (recur_real *)p + t[3].offset, t[0].dims[1]};
    return v;
}

static const recur_tensor_t *head_weight(const recur_engine_t *e)
{
    return &e->tab[e->n_tensors - 2];
}

/* ---- cells: one time step for the whole batch ------------------------------------------- */

/* Forward of one step of one layer-direction.
 * a: (B, G*H) input projection + biases of this step, overwritten with the activated gates;
 * hp, cp: state before the step; ho, co: state after; m: (B) step mask.
 * A masked sequence keeps its state: ho = hp, co = cp. */
static void cell_forward(const recur_engine_t *e, const layer_params_t *w, recur_real *a,
                         recur_real *hnb, const recur_real *hp, const recur_real *cp,
                         recur_real *ho, recur_real *co, const unsigned char *m, size_t B)
{
    const size_t H = e->H, GH = e->G * H;
    switch (e->cfg.cell) {
    case RECUR_CELL_RNN:
        /* h' = tanh(W_ih x + b_ih + W_hh h + b_hh) */
        recur_gemm(false, true, B, GH, H, 1, hp, H, w->w_hh, H, 1, a, GH);
        for (size_t b = 0; b < B; b++) {
            recur_real *ab = a + b * GH, *hb = ho + b * H;
            if (!m[b]) {
                memcpy(hb, hp + b * H, H * sizeof *hb);
                continue;
            }
            for (size_t j = 0; j < H; j++)
                hb[j] = ab[j] = tanh_(ab[j]);
        }
        break;
    case RECUR_CELL_LSTM:
        /* (i|f|g|o) = act(W_ih x + b_ih + W_hh h + b_hh); c' = f c + i g; h' = o tanh(c') */
        recur_gemm(false, true, B, GH, H, 1, hp, H, w->w_hh, H, 1, a, GH);
        for (size_t b = 0; b < B; b++) {
            recur_real *ab = a + b * GH, *hb = ho + b * H, *cb = co + b * H;
            const recur_real *cpb = cp + b * H;
            if (!m[b]) {
                memcpy(hb, hp + b * H, H * sizeof *hb);
                memcpy(cb, cpb, H * sizeof *cb);
                continue;
            }
            recur_real *ig = ab, *fg = ab + H, *gg = ab + 2 * H, *og = ab + 3 * H;
            for (size_t j = 0; j < H; j++) {
                ig[j] = sigm(ig[j]);
                fg[j] = sigm(fg[j]);
                gg[j] = tanh_(gg[j]);
                og[j] = sigm(og[j]);
                cb[j] = fg[j] * cpb[j] + ig[j] * gg[j];
                hb[j] = og[j] * tanh_(cb[j]);
            }
        }
        break;
    case RECUR_CELL_GRU:
        /* (r|z) = sigmoid(W_i x + b_i + W_h h + b_h); n = tanh(W_in x + b_in + r (W_hn h + b_hn));
         * h' = (1 - z) n + z h */
        recur_gemm(false, true, B, GH, H, 1, hp, H, w->w_hh, H, 0, e->tmp, GH);
        for (size_t b = 0; b < B; b++) {
            recur_real *ab = a + b * GH, *hb = ho + b * H, *tb = e->tmp + b * GH;
            recur_real *hnr = hnb + b * H;
            const recur_real *hpb = hp + b * H;
            if (!m[b]) {
                memcpy(hb, hpb, H * sizeof *hb);
                continue;
            }
            recur_real *rg = ab, *zg = ab + H, *ng = ab + 2 * H;
            for (size_t j = 0; j < H; j++) {
                rg[j] = sigm(rg[j] + tb[j] + w->b_hh[j]);
                zg[j] = sigm(zg[j] + tb[H + j] + w->b_hh[H + j]);
                hnr[j] = tb[2 * H + j] + w->b_hh[2 * H + j];
                ng[j] = tanh_(ng[j] + rg[j] * hnr[j]);
                hb[j] = (1 - zg[j]) * ng[j] + zg[j] * hpb[j];
            }
        }
        break;
    }
}

/* Backward of one step. On entry dh (B, H) holds d loss / d h_t (and dc d loss / d c_t);
 * a holds the activated gates and is overwritten with d loss / d pre-activations (input side;
 * gh gets the recurrent side for the GRU). On exit dh and dc hold the gradient with respect
 * to the state before the step. Masked sequences pass dh, dc through and get zero gates. */
static void cell_backward(recur_engine_t *e, const layer_params_t *w, recur_real *a, recur_real *gh,
                          const recur_real *hnb, const recur_real *hp, const recur_real *cp,
                          const recur_real *hcur, const recur_real *ccur, const unsigned char *m,
                          size_t B)
{
    const size_t H = e->H, GH = e->G * H;
    recur_real *dh = e->dh, *dc = e->dc;
    const recur_real *dA = a; /* recurrent-side gradient for RNN and LSTM */
    switch (e->cfg.cell) {
    case RECUR_CELL_RNN:
        for (size_t b = 0; b < B; b++) {
            recur_real *ab = a + b * GH;
            const recur_real *dhb = dh + b * H;
            if (!m[b]) {
                memset(ab, 0, GH * sizeof *ab);
                continue;
            }
            for (size_t j = 0; j < H; j++)
                ab[j] = dhb[j] * (1 - ab[j] * ab[j]);
        }
        break;
    case RECUR_CELL_LSTM:
        for (size_t b = 0; b < B; b++) {
            recur_real *ab = a + b * GH, *dhb = dh + b * H, *dcb = dc + b * H;
            const recur_real *cpb = cp + b * H, *cb = ccur + b * H;
            if (!m[b]) {
                memset(ab, 0, GH * sizeof *ab);
                continue;
            }
            recur_real *ig = ab, *fg = ab + H, *gg = ab + 2 * H, *og = ab + 3 * H;
            for (size_t j = 0; j < H; j++) {
                const recur_real tc = tanh_(cb[j]);
                const recur_real i = ig[j], f = fg[j], g = gg[j], o = og[j];
                const recur_real dct = dcb[j] + dhb[j] * o * (1 - tc * tc);
                ig[j] = dct * g * i * (1 - i);
                fg[j] = dct * cpb[j] * f * (1 - f);
                gg[j] = dct * i * (1 - g * g);
                og[j] = dhb[j] * tc * o * (1 - o);
                dcb[j] = dct * f;
            }
        }
        break;
    case RECUR_CELL_GRU:
        dA = gh;
        for (size_t b = 0; b < B; b++) {
            recur_real *ab = a + b * GH, *gb = gh + b * GH, *dhb = dh + b * H;
            const recur_real *hpb = hp + b * H, *hnr = hnb + b * H;
            if (!m[b]) {
                memset(ab, 0, GH * sizeof *ab);
                memset(gb, 0, GH * sizeof *gb);
                continue;
            }
            recur_real *rg = ab, *zg = ab + H, *ng = ab + 2 * H;
            for (size_t j = 0; j < H; j++) {
                const recur_real r = rg[j], z = zg[j], n = ng[j], d = dhb[j];
                const recur_real dan = d * (1 - z) * (1 - n * n);
                const recur_real dar = dan * hnr[j] * r * (1 - r);
                const recur_real daz = d * (hpb[j] - n) * z * (1 - z);
                rg[j] = gb[j] = dar;
                zg[j] = gb[H + j] = daz;
                ng[j] = dan;
                gb[2 * H + j] = dan * r;
                dhb[j] = d * z; /* direct path h -> h'; the recurrent part is added below */
            }
        }
        break;
    }
    (void)hcur;
    /* d loss / d h_{t-1} = dA W_hh (+ the GRU's direct path); masked rows keep dh */
    recur_gemm(false, false, B, H, GH, 1, dA, GH, w->w_hh, H, 0, e->dhp, H);
    for (size_t b = 0; b < B; b++) {
        if (!m[b])
            continue;
        recur_real *dhb = dh + b * H;
        const recur_real *pb = e->dhp + b * H;
        if (e->cfg.cell == RECUR_CELL_GRU)
            for (size_t j = 0; j < H; j++)
                dhb[j] += pb[j];
        else
            memcpy(dhb, pb, H * sizeof *dhb);
    }
}

/* ---- layers ----------------------------------------------------------------------------- */

static dirbuf_t *dirbuf(const recur_engine_t *e, size_t l, size_t d)
{
    return &e->dir[l * e->D + d];
}

/* State before window step t, and after it, for direction d. */
static inline size_t prev_slot(size_t d, size_t t)
{
    return d ? t + 1 : t;
}
static inline size_t next_slot(size_t d, size_t t)
{
    return d ? t : t + 1;
}

/* Forward of layer l, direction d over the window; X: (Tw, B, in). */
static void layer_forward(recur_engine_t *e, const recur_real *params, size_t l, size_t d,
                          const recur_real *X, size_t Tw, size_t B, const unsigned char *mask)
{
    const size_t H = e->H, GH = e->G * H, BH = B * H;
    const layer_params_t w = layer_params(e, params, l, d);
    dirbuf_t *q = dirbuf(e, l, d);
    const bool lstm = e->cfg.cell == RECUR_CELL_LSTM, gru = e->cfg.cell == RECUR_CELL_GRU;

    /* input projection of every step: gates = X W_ih^T + b_ih (+ b_hh but for the GRU) */
    recur_gemm(false, true, Tw * B, GH, w.in, 1, X, w.in, w.w_ih, w.in, 0, q->gates, GH);
    for (size_t r = 0; r < Tw * B; r++) {
        recur_real *g = q->gates + r * GH;
        for (size_t j = 0; j < GH; j++)
            g[j] += gru ? w.b_ih[j] : w.b_ih[j] + w.b_hh[j];
    }
    /* initial state: carried for the forward direction (zero at t0 = 0), zero for reverse */
    const size_t s0 = d ? Tw : 0;
    if (d == 0) {
        memcpy(q->h, q->carry_h, BH * sizeof *q->h);
        if (lstm)
            memcpy(q->c, q->carry_c, BH * sizeof *q->c);
    } else {
        memset(q->h + s0 * BH, 0, BH * sizeof *q->h);
        if (lstm)
            memset(q->c + s0 * BH, 0, BH * sizeof *q->c);
    }
    for (size_t s = 0; s < Tw; s++) {
        const size_t t = d ? Tw - 1 - s : s;
        const size_t p = prev_slot(d, t), n = next_slot(d, t);
        cell_forward(e, &w, q->gates + t * B * GH, gru ? q->hn + t * BH : NULL, q->h + p * BH,
                     lstm ? q->c + p * BH : NULL, q->h + n * BH, lstm ? q->c + n * BH : NULL,
                     mask + t * B, B);
    }
    if (d == 0) {
        memcpy(q->carry_h, q->h + Tw * BH, BH * sizeof *q->h);
        if (lstm)
            memcpy(q->carry_c, q->c + Tw * BH, BH * sizeof *q->c);
    }
    /* layer output: the state at valid steps, 0 at masked ones, into columns d*H of y */
    const size_t DH = e->D * H;
    for (size_t t = 0; t < Tw; t++)
        for (size_t b = 0; b < B; b++) {
            recur_real *yo = e->y[l] + (t * B + b) * DH + d * H;
            if (mask[t * B + b])
                memcpy(yo, q->h + next_slot(d, t) * BH + b * H, H * sizeof *yo);
            else
                memset(yo, 0, H * sizeof *yo);
        }
}

/* Backward of layer l, direction d. dY: (Tw, B, D*H) d loss / d output; dh0: (B, H) gradient
 * entering at the window's last processed state (or NULL). Accumulates parameter gradients
 * into grads and d loss / d X into dX (beta: 0 overwrites, 1 accumulates). */
static void layer_backward(recur_engine_t *e, const recur_real *params, recur_real *grads, size_t l,
                           size_t d, const recur_real *X, size_t Tw, size_t B,
                           const unsigned char *mask, const recur_real *dY, const recur_real *dh0,
                           recur_real *dX, recur_real beta)
{
    const size_t H = e->H, GH = e->G * H, BH = B * H, DH = e->D * H;
    const layer_params_t w = layer_params(e, params, l, d);
    const layer_params_t gw = layer_params(e, grads, l, d);
    dirbuf_t *q = dirbuf(e, l, d);
    const bool lstm = e->cfg.cell == RECUR_CELL_LSTM, gru = e->cfg.cell == RECUR_CELL_GRU;

    if (dh0)
        memcpy(e->dh, dh0, BH * sizeof *e->dh);
    else
        memset(e->dh, 0, BH * sizeof *e->dh);
    memset(e->dc, 0, BH * sizeof *e->dc);
    /* reverse the processing order of the forward pass */
    for (size_t s = Tw; s-- > 0;) {
        const size_t t = d ? Tw - 1 - s : s;
        const size_t p = prev_slot(d, t), n = next_slot(d, t);
        const unsigned char *m = mask + t * B;
        for (size_t b = 0; b < B; b++) {
            if (!m[b])
                continue;
            const recur_real *g = dY + (t * B + b) * DH + d * H;
            recur_real *dhb = e->dh + b * H;
            for (size_t j = 0; j < H; j++)
                dhb[j] += g[j];
        }
        memcpy(q->dhs + t * BH, e->dh, BH * sizeof *e->dh);
        cell_backward(e, &w, q->gates + t * B * GH, gru ? q->dgh + t * B * GH : NULL,
                      gru ? q->hn + t * BH : NULL, q->h + p * BH, lstm ? q->c + p * BH : NULL,
                      q->h + n * BH, lstm ? q->c + n * BH : NULL, m, B);
    }
    /* weight gradients over all steps at once; masked steps have zero gate gradients */
    const recur_real *dA = q->gates, *dAh = gru ? q->dgh : q->gates;
    const recur_real *Hprev = q->h + (d ? BH : 0); /* (Tw, B, H): state before each step */
    recur_gemm(true, false, GH, w.in, Tw * B, 1, dA, GH, X, w.in, 1, gw.w_ih, w.in);
    recur_gemm(true, false, GH, H, Tw * B, 1, dAh, GH, Hprev, H, 1, gw.w_hh, H);
    for (size_t r = 0; r < Tw * B; r++) {
        const recur_real *a = dA + r * GH, *ah = dAh + r * GH;
        for (size_t j = 0; j < GH; j++) {
            gw.b_ih[j] += a[j];
            gw.b_hh[j] += ah[j];
        }
    }
    if (dX)
        recur_gemm(false, false, Tw * B, w.in, GH, 1, dA, GH, w.w_ih, w.in, beta, dX, w.in);
}

/* ---- head and loss ---------------------------------------------------------------------- */

/* log(sum_k exp(z_k)), n >= 1, shifted by the largest z so that nothing overflows */
static double log_sum_exp(const recur_real *z, size_t n)
{
    size_t im = 0;
    for (size_t k = 1; k < n; k++)
        im = z[k] > z[im] ? k : im;
    const double mx = z[im];
    double s = 1; /* the largest term, exp(0) */
    for (size_t k = 0; k < n; k++)
        if (k != im)
            s += exp((double)z[k] - mx);
    return mx + log(s);
}

/* log(1 + exp(z)) without overflow */
static double softplus(double z)
{
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

/* Loss terms of one row of logits z (O) with its target; writes the unnormalised gradient to
 * dz and returns the summed loss. *terms gets the number of terms (0 when the row has no
 * target). row indexes labels (classify) or targets (row * O). */
static int row_loss(const recur_engine_t *e, const recur_batch_t *bt, size_t row,
                    const recur_real *z, recur_real *dz, double *loss, size_t *terms)
{
    const size_t O = e->O;
    *loss = 0;
    *terms = 0;
    memset(dz, 0, O * sizeof *dz);
    switch (e->cfg.task) {
    case RECUR_TASK_CLASSIFY: {
        const int32_t y = bt->labels[row];
        if (y < 0)
            return 0;
        if ((size_t)y >= O) {
            recur_error("engine: label %d out of range for %zu classes", (int)y, O);
            return RECUR_EINVAL;
        }
        const double lse = log_sum_exp(z, O);
        for (size_t k = 0; k < O; k++)
            dz[k] = (recur_real)exp((double)z[k] - lse);
        dz[y] -= 1;
        *loss = lse - (double)z[y];
        *terms = 1;
        return 0;
    }
    case RECUR_TASK_MULTILABEL:
    case RECUR_TASK_REGRESS:
        for (size_t k = 0; k < O; k++) {
            if (bt->target_mask && !bt->target_mask[row * O + k])
                continue;
            const double y = bt->targets[row * O + k], zk = z[k];
            if (e->cfg.task == RECUR_TASK_MULTILABEL) {
                /* BCE with logits: softplus(z) - y z */
                *loss += softplus(zk) - y * zk;
                dz[k] = (recur_real)(1.0 / (1.0 + exp(-zk)) - y);
            } else {
                *loss += (zk - y) * (zk - y);
                dz[k] = (recur_real)(2.0 * (zk - y));
            }
            (*terms)++;
        }
        return 0;
    }
    return RECUR_EINVAL;
}

/* For classify the reduction is over rows (sequences or steps); for the others over values. */
static int head_forward(recur_engine_t *e, const recur_real *params, size_t Tw, size_t B,
                        const unsigned char *mask, bool want_loss, double *loss, size_t *n_terms)
{
    const size_t H = e->H, DH = e->D * H, O = e->O, top = e->L - 1;
    const recur_tensor_t *tw = head_weight(e);
    const recur_real *W = params + tw[0].offset, *bias = params + tw[1].offset; /* (O, DH), (O) */
    const recur_real *Y = e->y[top];
    const recur_batch_t *bt = e->b;
    double total = 0;
    size_t terms = 0;

    if (e->cfg.head == RECUR_HEAD_STEP) {
        recur_gemm(false, true, Tw * B, O, DH, 1, Y, DH, W, DH, 0, e->logits, O);
        memset(e->dlogits, 0, Tw * B * O * sizeof *e->dlogits);
        for (size_t r = 0; r < Tw * B; r++) {
            recur_real *z = e->logits + r * O;
            if (!mask[r]) {
                memset(z, 0, O * sizeof *z);
                continue;
            }
            for (size_t k = 0; k < O; k++)
                z[k] += bias[k];
            if (!want_loss)
                continue;
            double lr;
            size_t nt;
            int rc = row_loss(e, bt, e->t0 * B + r, z, e->dlogits + r * O, &lr, &nt);
            if (rc)
                return rc;
            total += lr;
            terms += nt;
        }
    } else {
        /* pooled feature of each sequence whose last valid step lies in this window */
        const bool last = e->cfg.pool == RECUR_POOL_LAST;
        const dirbuf_t *qf = dirbuf(e, top, 0), *qr = e->D == 2 ? dirbuf(e, top, 1) : NULL;
        if (qr && e->t0 == 0) /* reverse state after step 0, kept for later windows */
            memcpy(e->rev_last, qr->h, B * H * sizeof *e->rev_last);
        for (size_t t = 0; t < Tw; t++)
            for (size_t b = 0; b < B; b++) {
                if (!mask[t * B + b])
                    continue;
                const recur_real *yr = Y + (t * B + b) * DH;
                recur_real *s = e->acc_sum + b * DH, *mx = e->acc_max + b * DH;
                size_t *am = e->argmax + b * DH;
                for (size_t j = 0; j < DH; j++) {
                    s[j] += yr[j];
                    if (e->acc_n[b] == 0 || yr[j] > mx[j]) {
                        mx[j] = yr[j];
                        am[j] = t;
                    }
                }
                e->acc_n[b]++;
            }
        memset(e->logits, 0, B * O * sizeof *e->logits);
        memset(e->dlogits, 0, B * O * sizeof *e->dlogits);
        for (size_t b = 0; b < B; b++) {
            const size_t lt = e->last[b];
            e->term[b] = lt != SIZE_MAX && lt >= e->t0 && lt < e->t0 + Tw;
            recur_real *pf = e->pooled + b * DH;
            if (!e->term[b]) {
                memset(pf, 0, DH * sizeof *pf);
                continue;
            }
            if (last) {
                memcpy(pf, qf->h + Tw * B * H + b * H, H * sizeof *pf);
                if (qr)
                    memcpy(pf + H, e->rev_last + b * H, H * sizeof *pf);
            } else if (e->cfg.pool == RECUR_POOL_MEAN) {
                for (size_t j = 0; j < DH; j++)
                    pf[j] = e->acc_sum[b * DH + j] / (recur_real)e->acc_n[b];
            } else {
                memcpy(pf, e->acc_max + b * DH, DH * sizeof *pf);
            }
        }
        recur_gemm(false, true, B, O, DH, 1, e->pooled, DH, W, DH, 0, e->logits, O);
        for (size_t b = 0; b < B; b++) {
            recur_real *z = e->logits + b * O;
            if (!e->term[b]) {
                memset(z, 0, O * sizeof *z);
                continue;
            }
            for (size_t k = 0; k < O; k++)
                z[k] += bias[k];
            if (!want_loss)
                continue;
            double lr;
            size_t nt;
            int rc = row_loss(e, bt, b, z, e->dlogits + b * O, &lr, &nt);
            if (rc)
                return rc;
            total += lr;
            terms += nt;
        }
    }
    /* mean over the terms of this window */
    if (terms > 0) {
        const recur_real inv = (recur_real)(1.0 / (double)terms);
        const size_t rows = e->cfg.head == RECUR_HEAD_STEP ? Tw * B : B;
        for (size_t i = 0; i < rows * O; i++)
            e->dlogits[i] *= inv;
        total /= (double)terms;
    }
    *loss = total;
    *n_terms = terms;
    return 0;
}

/* Head backward: parameter gradients, d loss / d top-layer output into dy[top] (overwritten)
 * and the gradient entering the final states for `last` pooling (dpooled columns). */
static void head_backward(recur_engine_t *e, const recur_real *params, recur_real *grads, size_t Tw,
                          size_t B, const unsigned char *mask)
{
    const size_t H = e->H, DH = e->D * H, O = e->O, top = e->L - 1;
    const recur_tensor_t *tw = head_weight(e);
    const recur_real *W = params + tw[0].offset;
    recur_real *dW = grads + tw[0].offset, *db = grads + tw[1].offset;
    recur_real *dY = e->dy[top];
    const size_t rows = e->cfg.head == RECUR_HEAD_STEP ? Tw * B : B;
    const recur_real *feat = e->cfg.head == RECUR_HEAD_STEP ? e->y[top] : e->pooled;

    recur_gemm(true, false, O, DH, rows, 1, e->dlogits, O, feat, DH, 1, dW, DH);
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < O; k++)
            db[k] += e->dlogits[r * O + k];
    if (e->cfg.head == RECUR_HEAD_STEP) {
        recur_gemm(false, false, Tw * B, DH, O, 1, e->dlogits, O, W, DH, 0, dY, DH);
        return;
    }
    recur_gemm(false, false, B, DH, O, 1, e->dlogits, O, W, DH, 0, e->dpooled, DH);
    memset(dY, 0, Tw * B * DH * sizeof *dY);
    if (e->cfg.pool == RECUR_POOL_MEAN) {
        for (size_t t = 0; t < Tw; t++)
            for (size_t b = 0; b < B; b++) {
                if (!mask[t * B + b] || !e->term[b])
                    continue;
                const recur_real inv = (recur_real)1 / (recur_real)e->acc_n[b];
                for (size_t j = 0; j < DH; j++)
                    dY[(t * B + b) * DH + j] = e->dpooled[b * DH + j] * inv;
            }
    } else if (e->cfg.pool == RECUR_POOL_MAX) {
        for (size_t b = 0; b < B; b++) {
            if (!e->term[b])
                continue;
            for (size_t j = 0; j < DH; j++) {
                const size_t t = e->argmax[b * DH + j];
                if (t != SIZE_MAX)
                    dY[(t * B + b) * DH + j] += e->dpooled[b * DH + j];
            }
        }
    }
}

/* ---- public entry points ---------------------------------------------------------------- */

int recur_engine_forward(recur_engine_t *e, const recur_real *params, const recur_batch_t *b,
                         size_t t0, size_t t1, bool train, gsl_rng *rng, double *loss,
                         size_t *n_terms)
{
    const size_t B = b->B, H = e->H, DH = e->D * H;
    if (t1 <= t0 || t1 > b->T || t1 - t0 > e->T_max || B == 0 || B > e->B_max || !b->x ||
        !b->mask) {
        recur_error("engine: window [%zu, %zu) of a batch T=%zu B=%zu does not fit T_max=%zu "
                    "B_max=%zu",
                    t0, t1, b->T, B, e->T_max, e->B_max);
        return RECUR_EINVAL;
    }
    if (loss && ((e->cfg.task == RECUR_TASK_CLASSIFY && !b->labels) ||
                 (e->cfg.task != RECUR_TASK_CLASSIFY && !b->targets))) {
        recur_error("engine: the batch has no targets for the loss");
        return RECUR_EINVAL;
    }
    const bool dropping = train && e->cfg.dropout > 0 && e->L > 1;
    if (dropping && !rng) {
        recur_error("engine: dropout needs a random number generator");
        return RECUR_EINVAL;
    }
    const size_t Tw = t1 - t0;
    const unsigned char *mask = b->mask + t0 * B;
    e->b = b;
    e->t0 = t0;
    e->t1 = t1;
    e->Bn = B;
    e->have_loss = false;

    if (t0 == 0) { /* a new batch: zero the carried state and pooling */
        for (size_t k = 0; k < e->L * e->D; k++) {
            memset(e->dir[k].carry_h, 0, B * H * sizeof(recur_real));
            if (e->dir[k].carry_c)
                memset(e->dir[k].carry_c, 0, B * H * sizeof(recur_real));
        }
        memset(e->acc_sum, 0, B * DH * sizeof *e->acc_sum);
        memset(e->acc_max, 0, B * DH * sizeof *e->acc_max);
        memset(e->rev_last, 0, B * H * sizeof *e->rev_last);
        memset(e->acc_n, 0, B * sizeof *e->acc_n);
    }
    for (size_t i = 0; i < B * DH; i++)
        e->argmax[i] = SIZE_MAX; /* maxima of earlier windows are detached */
    for (size_t bb = 0; bb < B; bb++) {
        e->last[bb] = SIZE_MAX;
        for (size_t t = b->T; t-- > 0;)
            if (b->mask[t * B + bb]) {
                e->last[bb] = t;
                break;
            }
    }

    for (size_t l = 0; l < e->L; l++) {
        const recur_real *X = l == 0 ? b->x + t0 * B * e->I : e->y[l - 1];
        for (size_t d = 0; d < e->D; d++)
            layer_forward(e, params, l, d, X, Tw, B, mask);
        if (e->drop[l]) {
            /* inverted dropout on this layer's output (the next layer's input) */
            recur_real *dm = e->drop[l], *yl = e->y[l];
            const double p = e->cfg.dropout;
            const recur_real keep = (recur_real)(1.0 / (1.0 - p));
            for (size_t i = 0; i < Tw * B * DH; i++) {
                dm[i] = dropping ? (gsl_rng_uniform(rng) < p ? 0 : keep) : 1;
                yl[i] *= dm[i];
            }
        }
    }
    double ls = 0;
    size_t nt = 0;
    int rc = head_forward(e, params, Tw, B, mask, loss != NULL, &ls, &nt);
    if (rc)
        return rc;
    if (loss) {
        *loss = ls;
        e->have_loss = true;
        e->n_terms = nt;
    }
    if (n_terms)
        *n_terms = nt;
    return 0;
}

int recur_engine_backward(recur_engine_t *e, const recur_real *params, recur_real *grads,
                          recur_real *dx)
{
    if (!e->have_loss) {
        recur_error("engine: backward needs a forward with a loss first");
        return RECUR_EINVAL;
    }
    const size_t B = e->Bn, Tw = e->t1 - e->t0, H = e->H, DH = e->D * H, top = e->L - 1;
    const unsigned char *mask = e->b->mask + e->t0 * B;
    head_backward(e, params, grads, Tw, B, mask);
    /* gradient entering the final states (last pooling): forward part at the window's end,
     * reverse part at step 0, only for sequences whose term is in this window */
    recur_real *dhf = NULL, *dhr = NULL;
    if (e->cfg.head == RECUR_HEAD_SEQ && e->cfg.pool == RECUR_POOL_LAST) {
        dhf = e->dhlast;
        dhr = e->dhlast + B * H;
        for (size_t b = 0; b < B; b++) {
            const bool on = e->term[b];
            for (size_t j = 0; j < H; j++) {
                dhf[b * H + j] = on ? e->dpooled[b * DH + j] : 0;
                if (e->D == 2)
                    dhr[b * H + j] = on && e->t0 == 0 ? e->dpooled[b * DH + H + j] : 0;
            }
        }
    }
    for (size_t l = e->L; l-- > 0;) {
        const recur_real *X = l == 0 ? e->b->x + e->t0 * B * e->I : e->y[l - 1];
        recur_real *dX = l == 0 ? dx : e->dy[l - 1];
        for (size_t d = 0; d < e->D; d++) {
            const recur_real *dh0 = l == top ? (d == 0 ? dhf : dhr) : NULL;
            layer_backward(e, params, grads, l, d, X, Tw, B, mask, e->dy[l], dh0, dX,
                           d == 0 ? 0 : 1);
        }
        if (l > 0 && e->drop[l - 1]) {
            recur_real *dy = e->dy[l - 1];
            const recur_real *dm = e->drop[l - 1];
            for (size_t i = 0; i < Tw * B * DH; i++)
                dy[i] *= dm[i];
        }
    }
    return 0;
}

const recur_real *recur_engine_outputs(const recur_engine_t *e, size_t *rows)
{
    if (rows)
        *rows = e->cfg.head == RECUR_HEAD_STEP ? (e->t1 - e->t0) * e->Bn : e->Bn;
    return e->logits;
}

const recur_real *recur_engine_layer_output(const recur_engine_t *e, size_t layer)
{
    return layer < e->L ? e->y[layer] : NULL;
}

const recur_real *recur_engine_final_h(const recur_engine_t *e, size_t layer, size_t dir)
{
    if (layer >= e->L || dir >= e->D)
        return NULL;
    const dirbuf_t *q = dirbuf(e, layer, dir);
    return q->h + (dir ? 0 : (e->t1 - e->t0) * e->Bn * e->H);
}

const recur_real *recur_engine_final_c(const recur_engine_t *e, size_t layer, size_t dir)
{
    if (layer >= e->L || dir >= e->D || e->cfg.cell != RECUR_CELL_LSTM)
        return NULL;
    const dirbuf_t *q = dirbuf(e, layer, dir);
    return q->c + (dir ? 0 : (e->t1 - e->t0) * e->Bn * e->H);
}

const recur_real *recur_engine_state_grad(const recur_engine_t *e, size_t layer, size_t dir)
{
    return layer < e->L && dir < e->D ? dirbuf(e, layer, dir)->dhs : NULL;
}

/* Carried state layout (B_max rows each): per layer, forward h then (LSTM) c; then the pooling
 * accumulators sum, max, reverse-last and the step count. */
size_t recur_engine_carry_size(const recur_engine_t *e)
{
    const size_t BH = e->B_max * e->H, BDH = e->B_max * e->D * e->H;
    const size_t per = e->cfg.cell == RECUR_CELL_LSTM ? 2 : 1;
    return e->L * per * BH + 2 * BDH + BH + e->B_max;
}

static void carry_copy(recur_engine_t *e, recur_real *out, const recur_real *in)
{
    const size_t BH = e->B_max * e->H, BDH = e->B_max * e->D * e->H;
    size_t o = 0;
#define RECUR_CARRY(ptr, n)                                                                        \
    do {                                                                                           \
        if (out)                                                                                   \
            memcpy(out + o, (ptr), (n) * sizeof(recur_real));                                      \
        else                                                                                       \
            memcpy((ptr), in + o, (n) * sizeof(recur_real));                                       \
        o += (n);                                                                                  \
    } while (0)
    for (size_t l = 0; l < e->L; l++) {
        dirbuf_t *q = dirbuf(e, l, 0);
        RECUR_CARRY(q->carry_h, BH);
        if (q->carry_c)
            RECUR_CARRY(q->carry_c, BH);
    }
    RECUR_CARRY(e->acc_sum, BDH);
    RECUR_CARRY(e->acc_max, BDH);
    RECUR_CARRY(e->rev_last, BH);
#undef RECUR_CARRY
    for (size_t b = 0; b < e->B_max; b++) {
        if (out)
            out[o + b] = (recur_real)e->acc_n[b];
        else
            e->acc_n[b] = (size_t)in[o + b];
    }
}

void recur_engine_carry_get(const recur_engine_t *e, recur_real *out)
{
    carry_copy((recur_engine_t *)e, out, NULL);
}

void recur_engine_carry_set(recur_engine_t *e, const recur_real *in)
{
    carry_copy(e, NULL, in);
}
