/* engine.c - the shared BPTT engine: its buffers, and forward and backward through time for
 * stacked, optionally bidirectional tanh-RNN / LSTM / GRU layers under a (T, B) mask, with
 * truncated BPTT by windows and a carried, detached state. The gate kernels of one step are in
 * engine_cells.c, the sequence and step heads and the losses in engine_head.c.
 *
 * Per layer and direction the input projection is one product per chunk of steps, only the
 * recurrent product h_{t-1} W_hh^T is per step (with W_hh packed once per call, recur/blas.h),
 * the gates of a step are one fused, vectorised pass (recur/vmath.h), and the weight gradients
 * are products over the steps of a chunk, right after its backward steps. Every buffer is
 * allocated once in recur_engine_alloc.
 *
 * Memory (elements of recur_real, training engine, per layer and direction; T = T_max,
 * B = B_max, G = 1, 4, 3 gates, in = I or D*H): gates G*T*B*H, states (T+1)*B*H, d loss/d h
 * T*B*H, its share of the layer output and of its gradient 2*T*B*H, so (G + 4) T B H; plus
 * (T+1) B H cell states (LSTM) or 4 T B H (GRU: recurrent-side gate gradients and W_hn h);
 * plus packed weights 2 G H (H + in) (columns rounded up to 32) and O(G B H) per-step
 * workspace. Dropout adds D T B H per layer but the last. The inference engine keeps per layer
 * and direction two states and the gates of a chunk of steps (RECUR_CHUNK_ROWS rows), besides
 * the layer outputs D T B H per layer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <recur/blas.h>
#include <recur/engine.h>

#include "engine_impl.h"

/* Rows (steps x sequences) of a chunk: the input projection, and in backward the weight
 * gradients, are computed for chunks of consecutive steps just before (after) the steps use
 * (produce) them, while they are in cache. */
#define RECUR_CHUNK_ROWS 256

/* ---- allocation ------------------------------------------------------------------------- */

/* Zeroed buffers; those of 2 MiB and more on 2 MiB boundaries with transparent huge pages
 * asked for (fewer TLB misses when the backward pass walks the activations). */
#define HUGE_PAGE ((size_t)2 << 20)
static recur_real *zalloc(size_t n, bool *ok)
{
    const size_t bytes = (n ? n : 1) * sizeof(recur_real);
    recur_real *p = NULL;
    if (bytes >= HUGE_PAGE) {
        p = aligned_alloc(HUGE_PAGE, (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE);
#ifdef MADV_HUGEPAGE
        if (p)
            madvise(p, bytes, MADV_HUGEPAGE);
#endif
        if (p)
            memset(p, 0, bytes);
    } else {
        p = calloc(1, bytes);
    }
    if (!p)
        *ok = false;
    return p;
}

static recur_engine_t *engine_alloc(const recur_config_t *cfg, size_t T_max, size_t B_max,
                                    bool infer)
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
    e->infer = infer;
    e->I = cfg->input_size;
    e->H = cfg->hidden_size;
    e->G = recur_config_gates(cfg);
    e->L = cfg->num_layers;
    e->D = recur_config_directions(cfg);
    e->O = cfg->num_outputs;
    const size_t H = e->H, GH = e->G * e->H, DH = e->D * e->H, TB = T_max * B_max;
    /* every buffer is at most (TB + B) * max(GH, DH, I, O) elements, and a packed weight at
     * most (GH + 32) * (GH + DH + I); refuse sizes that overflow */
    size_t widest = GH > DH ? GH : DH, probe;
    widest = widest > e->I ? widest : e->I;
    widest = widest > e->O ? widest : e->O;
    if (!recur_mul_ok(TB + B_max, widest, &probe) ||
        !recur_mul_ok(probe, sizeof(recur_real), &probe) ||
        !recur_mul_ok(GH + 32, GH + DH + e->I, &probe) ||
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
    e->chunk = RECUR_CHUNK_ROWS / B_max > 0 ? RECUR_CHUNK_ROWS / B_max : 1;
    e->chunk = e->chunk < T_max ? e->chunk : T_max;
    const size_t gate_steps = infer ? e->chunk : T_max;
    const size_t slots = infer ? 2 : T_max + 1;
    for (size_t k = 0; k < e->L * e->D; k++) {
        recur_engine_dir_t *q = &e->dir[k];
        const size_t in = k < e->D ? e->I : DH;
        q->gates = zalloc(gate_steps * B_max * GH, &ok);
        q->h = zalloc(slots * B_max * H, &ok);
        q->carry_h = zalloc(B_max * H, &ok);
        q->wf = zalloc(recur_gemm_pack_size(H, GH), &ok);
        q->xf = zalloc(recur_gemm_pack_size(in, GH), &ok);
        q->bias = zalloc(GH, &ok);
        if (cfg->cell == RECUR_CELL_LSTM) {
            q->c = zalloc(slots * B_max * H, &ok);
            q->carry_c = zalloc(B_max * H, &ok);
        }
        if (infer)
            continue;
        q->dhs = zalloc(TB * H, &ok);
        q->wb = zalloc(recur_gemm_pack_size(GH, H), &ok);
        q->xb = zalloc(recur_gemm_pack_size(GH, in), &ok);
        if (cfg->cell == RECUR_CELL_GRU) {
            q->dgh = zalloc(TB * GH, &ok);
            q->hn = zalloc(TB * H, &ok);
        }
    }
    for (size_t l = 0; l < e->L; l++) {
        e->y[l] = zalloc(TB * DH, &ok);
        if (infer)
            continue;
        e->dy[l] = zalloc(TB * DH, &ok);
        if (cfg->dropout > 0 && l + 1 < e->L)
            e->drop[l] = zalloc(TB * DH, &ok);
    }
    if (cfg->cell == RECUR_CELL_GRU)
        e->tmp = zalloc(B_max * GH, &ok);
    const size_t rows = cfg->head == RECUR_HEAD_STEP ? TB : B_max;
    e->pooled = zalloc(B_max * DH, &ok);
    e->logits = zalloc(rows * e->O, &ok);
    e->dlogits = zalloc(rows * e->O, &ok);
    e->acc_sum = zalloc(B_max * DH, &ok);
    e->acc_max = zalloc(B_max * DH, &ok);
    e->rev_last = zalloc(B_max * H, &ok);
    if (!infer) {
        e->dc = zalloc(B_max * H, &ok);
        e->dhlast = zalloc(2 * B_max * H, &ok);
        e->bsum = zalloc(GH, &ok);
        e->zrow = zalloc(H, &ok);
        e->dpooled = zalloc(B_max * DH, &ok);
        e->dlnorm = zalloc(rows * e->O, &ok);
    }
    if (!ok)
        goto fail;
    return e;
fail:
    recur_error("engine: out of memory");
    recur_engine_free(e);
    return NULL;
}

recur_engine_t *recur_engine_alloc(const recur_config_t *cfg, size_t T_max, size_t B_max)
{
    return engine_alloc(cfg, T_max, B_max, false);
}

recur_engine_t *recur_engine_alloc_inference(const recur_config_t *cfg, size_t T_max, size_t B_max)
{
    return engine_alloc(cfg, T_max, B_max, true);
}

void recur_engine_free(recur_engine_t *e)
{
    if (!e)
        return;
    if (e->dir) {
        for (size_t k = 0; k < e->L * e->D; k++) {
            recur_engine_dir_t *q = &e->dir[k];
            free(q->gates);
            free(q->dgh);
            free(q->hn);
            free(q->h);
            free(q->c);
            free(q->dhs);
            free(q->carry_h);
            free(q->carry_c);
            free(q->wf);
            free(q->xf);
            free(q->bias);
            free(q->wb);
            free(q->xb);
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
    free(e->dc);
    free(e->dhlast);
    free(e->bsum);
    free(e->zrow);
    free(e->pooled);
    free(e->dpooled);
    free(e->logits);
    free(e->dlogits);
    free(e->dlnorm);
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

bool recur_engine_is_inference(const recur_engine_t *e)
{
    return e->infer;
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

/* ---- layers ----------------------------------------------------------------------------- */

/* State slots before and after window step t, processed as the s-th step of direction d. */
static inline size_t prev_slot(const recur_engine_t *e, size_t d, size_t t, size_t s)
{
    return e->infer ? s % 2 : d ? t + 1 : t;
}
static inline size_t next_slot(const recur_engine_t *e, size_t d, size_t t, size_t s)
{
    return e->infer ? (s + 1) % 2 : d ? t : t + 1;
}

/* Packs the forward-pass weights of one layer and direction. */
static void pack_forward(const recur_engine_t *e, recur_engine_dir_t *q, const layer_params_t *w)
{
    const size_t H = e->H, GH = e->G * H;
    recur_gemm_pack(true, H, GH, w->w_hh, H, q->wf);
    recur_gemm_pack(true, w->in, GH, w->w_ih, w->in, q->xf);
    for (size_t j = 0; j < GH; j++)
        q->bias[j] = e->cfg.cell == RECUR_CELL_GRU ? w->b_ih[j] : w->b_ih[j] + w->b_hh[j];
}

/* Forward of layer l, direction d over the window; X: (Tw, B, in). */
static void layer_forward(recur_engine_t *e, const recur_real *params, size_t l, size_t d,
                          const recur_real *X, size_t Tw, size_t B, const unsigned char *mask)
{
    const size_t H = e->H, GH = e->G * H, BH = B * H, DH = e->D * H;
    const layer_params_t w = layer_params(e, params, l, d);
    recur_engine_dir_t *q = recur_engine_dir(e, l, d);
    const bool lstm = e->cfg.cell == RECUR_CELL_LSTM;
    pack_forward(e, q, &w);

    /* initial state: carried for the forward direction (zero at t0 = 0), zero for reverse */
    const size_t s0 = prev_slot(e, d, d ? Tw - 1 : 0, 0);
    if (d == 0) {
        memcpy(q->h + s0 * BH, q->carry_h, BH * sizeof *q->h);
        if (lstm)
            memcpy(q->c + s0 * BH, q->carry_c, BH * sizeof *q->c);
    } else {
        memset(q->h + s0 * BH, 0, BH * sizeof *q->h);
        if (lstm)
            memset(q->c + s0 * BH, 0, BH * sizeof *q->c);
    }
    /* chunks of steps in processing order: the input projection gates = X W_ih^T + biases of
     * the chunk, then its steps */
    for (size_t c0 = 0; c0 < Tw; c0 += e->chunk) {
        const size_t nc = Tw - c0 < e->chunk ? Tw - c0 : e->chunk;
        const size_t tlo = d ? Tw - c0 - nc : c0; /* first time step of the chunk */
        recur_real *ga = q->gates + (e->infer ? 0 : tlo * B * GH); /* gates of step tlo */
        recur_gemm_packed(nc * B, GH, w.in, X + tlo * B * w.in, w.in, q->xf, 0, q->bias, ga, GH);
        for (size_t s = c0; s < c0 + nc; s++) {
            const size_t t = d ? Tw - 1 - s : s;
            const size_t p = prev_slot(e, d, t, s), n = next_slot(e, d, t, s);
            recur_real *a = ga + (t - tlo) * B * GH, *hp = q->h + p * BH;
            recur_real *ho = q->h + n * BH, *yo = e->y[l] + t * B * DH + d * H;
            const unsigned char *m = mask + t * B;
            switch (e->cfg.cell) {
            case RECUR_CELL_RNN:
                recur_gemm_packed(B, GH, H, hp, H, q->wf, 1, NULL, a, GH);
                recur_engine_rnn_step_fwd(B, H, a, hp, ho, yo, DH, m);
                break;
            case RECUR_CELL_LSTM:
                recur_gemm_packed(B, GH, H, hp, H, q->wf, 1, NULL, a, GH);
                recur_engine_lstm_step_fwd(B, H, a, hp, q->c + p * BH, ho, q->c + n * BH, yo, DH,
                                           m);
                break;
            case RECUR_CELL_GRU:
                recur_gemm_packed(B, GH, H, hp, H, q->wf, 0, w.b_hh, e->tmp, GH);
                recur_engine_gru_step_fwd(B, H, a, e->tmp, q->hn ? q->hn + t * BH : NULL, hp, ho,
                                          yo, DH, m);
                break;
            }
        }
    }
    if (d == 0) {
        const size_t f = recur_engine_final_slot(e, d, Tw);
        memcpy(q->carry_h, q->h + f * BH, BH * sizeof *q->h);
        if (lstm)
            memcpy(q->carry_c, q->c + f * BH, BH * sizeof *q->c);
    }
}

/* Backward of layer l, direction d. dY: (Tw, B, D*H) d loss / d output (NULL: 0); dh0: (B, H)
 * gradient entering at the window's last processed state (or NULL). Accumulates parameter gradients
 * into grads and d loss / d X into dX (beta: 0 overwrites, 1 accumulates). */
static void layer_backward(recur_engine_t *e, const recur_real *params, recur_real *grads, size_t l,
                           size_t d, const recur_real *X, size_t Tw, size_t B,
                           const unsigned char *mask, const recur_real *dY, const recur_real *dh0,
                           recur_real *dX, recur_real beta, double reg)
{
    const size_t H = e->H, GH = e->G * H, BH = B * H, DH = e->D * H;
    const layer_params_t w = layer_params(e, params, l, d);
    const layer_params_t gw = layer_params(e, grads, l, d);
    recur_engine_dir_t *q = recur_engine_dir(e, l, d);
    const bool gru = e->cfg.cell == RECUR_CELL_GRU;
    recur_gemm_pack(false, GH, H, w.w_hh, H, q->wb);
    if (dX)
        recur_gemm_pack(false, GH, w.in, w.w_ih, w.in, q->xb);

    /* dhs[t] is the running d loss / d h_t: seeded at the first processed step, then written by
     * each step for the next (its direct part, then + dA W_hh) */
    const size_t tf = d ? 0 : Tw - 1;
    if (dh0)
        memcpy(q->dhs + tf * BH, dh0, BH * sizeof *q->dhs);
    else
        memset(q->dhs + tf * BH, 0, BH * sizeof *q->dhs);
    if (e->cfg.cell == RECUR_CELL_LSTM)
        memset(e->dc, 0, BH * sizeof *e->dc);
    /* reverse the processing order of the forward pass, chunk by chunk; the weight gradients
     * and d loss / d X of a chunk follow its steps (masked steps have zero gate gradients) */
    const size_t nchunks = (Tw + e->chunk - 1) / e->chunk;
    for (size_t ci = nchunks; ci-- > 0;) {
        const size_t c0 = ci * e->chunk, nc = Tw - c0 < e->chunk ? Tw - c0 : e->chunk;
        const size_t tlo = d ? Tw - c0 - nc : c0; /* first time step of the chunk */
        for (size_t s = c0 + nc; s-- > c0;) {
            const size_t t = d ? Tw - 1 - s : s;
            const size_t p = prev_slot(e, d, t, s), n = next_slot(e, d, t, s);
            const unsigned char *m = mask + t * B;
            recur_real *a = q->gates + t * B * GH, *dh = q->dhs + t * BH;
            recur_real *next = s > 0 ? q->dhs + (d ? t + 1 : t - 1) * BH : NULL;
            /* no output gradient: one row of zeros for every sequence */
            const recur_real *dyt = dY ? dY + t * B * DH + d * H : e->zrow;
            const size_t ldy = dY ? DH : 0;
            recur_real *dAh = a;
            if (reg != 0) /* the regulariser's d / d h_t, on the state after step t */
                for (size_t r = 0; r < B; r++)
                    if (m[r] || e->act_reg_all) {
                        const recur_real *hr = q->h + n * BH + r * H;
                        for (size_t j = 0; j < H; j++)
                            dh[r * H + j] += (recur_real)(reg * (double)hr[j]);
                    }
            switch (e->cfg.cell) {
            case RECUR_CELL_RNN:
                recur_engine_rnn_step_bwd(B, H, a, dh, dyt, ldy, next, m);
                break;
            case RECUR_CELL_LSTM:
                recur_engine_lstm_step_bwd(B, H, a, q->c + p * BH, q->c + n * BH, dh, dyt, ldy,
                                           e->dc, next, m);
                break;
            case RECUR_CELL_GRU:
                dAh = q->dgh + t * B * GH;
                recur_engine_gru_step_bwd(B, H, a, dAh, q->hn + t * BH, q->h + p * BH, dh, dyt, ldy,
                                          next, m);
                break;
            }
            /* d loss / d h_{t-1} += dA W_hh (masked rows have dA = 0 and keep what they got) */
            if (next)
                recur_gemm_packed(B, H, GH, dAh, GH, q->wb, 1, NULL, next, H);
        }
        const size_t R = nc * B; /* rows of the chunk, from step tlo */
        const recur_real *dA = q->gates + tlo * B * GH;
        const recur_real *dAh = gru ? q->dgh + tlo * B * GH : dA;
        const recur_real *Hprev = q->h + (d ? tlo + 1 : tlo) * BH; /* states before the steps */
        recur_gemm_tn(GH, w.in, R, dA, GH, X + tlo * B * w.in, w.in, 1, gw.w_ih, w.in);
        recur_gemm_tn(GH, H, R, dAh, GH, Hprev, H, 1, gw.w_hh, H);
        recur_engine_column_sums(R, GH, dA, e->bsum);
        for (size_t j = 0; j < GH; j++)
            gw.b_ih[j] += e->bsum[j];
        if (gru)
            recur_engine_column_sums(R, GH, dAh, e->bsum);
        for (size_t j = 0; j < GH; j++)
            gw.b_hh[j] += e->bsum[j];
        if (dX)
            recur_gemm_packed(R, w.in, GH, dA, GH, q->xb, beta, NULL, dX + tlo * B * w.in, w.in);
    }
}

/* Sum over the top layer's directions and the window's steps of ||h_t||^2 (the state after
 * step t), over the valid rows, or all rows when act_reg_all. */
static double act_reg_sum(const recur_engine_t *e, size_t Tw, size_t B, const unsigned char *mask)
{
    const size_t H = e->H, BH = B * H;
    double sum = 0;
    for (size_t d = 0; d < e->D; d++) {
        const recur_engine_dir_t *q = recur_engine_dir(e, e->L - 1, d);
        for (size_t s = 0; s < Tw; s++) {
            const size_t t = d ? Tw - 1 - s : s, n = next_slot(e, d, t, s);
            for (size_t r = 0; r < B; r++)
                if (mask[t * B + r] || e->act_reg_all)
                    for (size_t j = 0; j < H; j++) {
                        const double h = q->h[n * BH + r * H + j];
                        sum += h * h;
                    }
        }
    }
    return sum;
}

void recur_engine_set_act_reg(recur_engine_t *e, double lambda, bool all_steps)
{
    e->act_reg = lambda;
    e->act_reg_all = all_steps;
}

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
    if (train && e->infer) {
        recur_error("engine: an inference engine does not train");
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
    int rc = recur_engine_head_forward(e, params, Tw, B, mask, loss != NULL, &ls, &nt);
    if (rc)
        return rc;
    if (loss && e->act_reg > 0 && !e->infer) /* + lambda sum ||h_t||^2, per loss term as ls */
        ls += e->act_reg * act_reg_sum(e, Tw, B, mask) / (nt > 0 ? (double)nt : 1.0);
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
    return recur_engine_backward_norm(e, params, grads, dx, 0);
}

int recur_engine_backward_norm(recur_engine_t *e, const recur_real *params, recur_real *grads,
                               recur_real *dx, double norm)
{
    if (e->infer) {
        recur_error("engine: an inference engine has no backward");
        return RECUR_EINVAL;
    }
    if (!e->have_loss) {
        recur_error("engine: backward needs a forward with a loss first");
        return RECUR_EINVAL;
    }
    if (!(norm >= 0) || !isfinite(norm)) {
        recur_error("engine: loss normaliser %g", norm);
        return RECUR_EINVAL;
    }
    if (norm == 0)
        norm = e->n_terms > 0 ? (double)e->n_terms : 1;
    const size_t B = e->Bn, Tw = e->t1 - e->t0, H = e->H, DH = e->D * H, top = e->L - 1;
    const unsigned char *mask = e->b->mask + e->t0 * B;
    recur_engine_head_backward(e, params, grads, Tw, B, mask, norm);
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
            /* the top layer's outputs get no gradient under `last` pooling */
            const bool none =
                l == top && e->cfg.head == RECUR_HEAD_SEQ && e->cfg.pool == RECUR_POOL_LAST;
            layer_backward(e, params, grads, l, d, X, Tw, B, mask, none ? NULL : e->dy[l], dh0, dX,
                           d == 0 ? 0 : 1, l == top ? 2 * e->act_reg / norm : 0);
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
    const recur_engine_dir_t *q = recur_engine_dir(e, layer, dir);
    return q->h + recur_engine_final_slot(e, dir, e->t1 - e->t0) * e->Bn * e->H;
}

const recur_real *recur_engine_final_c(const recur_engine_t *e, size_t layer, size_t dir)
{
    if (layer >= e->L || dir >= e->D || e->cfg.cell != RECUR_CELL_LSTM)
        return NULL;
    const recur_engine_dir_t *q = recur_engine_dir(e, layer, dir);
    return q->c + recur_engine_final_slot(e, dir, e->t1 - e->t0) * e->Bn * e->H;
}

const recur_real *recur_engine_state_grad(const recur_engine_t *e, size_t layer, size_t dir)
{
    return layer < e->L && dir < e->D ? recur_engine_dir(e, layer, dir)->dhs : NULL;
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
        recur_engine_dir_t *q = recur_engine_dir(e, l, 0);
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
