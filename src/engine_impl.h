/* engine_impl.h - the engine's state (recur/engine.h), shared by engine.c (buffers, layers,
 * forward and backward), engine_cells.c (the gate kernels of one step) and engine_head.c (the
 * heads and losses). Internal to the library. */
#ifndef RECUR_ENGINE_IMPL_H
#define RECUR_ENGINE_IMPL_H

#include <recur/engine.h>

/* Buffers of one layer and direction. Time indices are window-relative (0 .. Tw-1).
 * Training engine: states are stored with one extra slot: for the forward direction h[0] is the
 * initial state and h[t + 1] the state after step t; for the reverse direction h[Tw] is the
 * initial state and h[t] the state after step t. Either way the state before step t is at
 * prev_slot(t). Inference engine: two slots used in turn, the state after the s-th processed
 * step in slot (s + 1) % 2. */
typedef struct {
    recur_real *gates; /* (Tw, B, G*H) input projection + biases; after the step, the activated
                          gates; in backward, d loss / d pre-activations (input side).
                          Inference: (chunk, B, G*H) */
    recur_real *dgh;   /* GRU: (Tw, B, 3H) d loss / d recurrent pre-activations */
    recur_real *hn;    /* GRU: (Tw, B, H) W_hn h_{t-1} + b_hn */
    recur_real *h;     /* (Tw + 1, B, H); inference (2, B, H) */
    recur_real *c;     /* LSTM: like h */
    recur_real *dhs;   /* (Tw, B, H) d loss / d h_t, total, per step; also the running
                          gradient of the backward loop */
    recur_real *carry_h, *carry_c; /* forward direction: (B, H) state carried to the next window */
    recur_real *wf;   /* W_hh^T packed (H, G*H): recurrent product of the forward pass */
    recur_real *xf;   /* W_ih^T packed (in, G*H): input projection */
    recur_real *bias; /* (G*H) b_ih + b_hh (GRU: b_ih; b_hh enters with the recurrent product) */
    recur_real *wb;   /* W_hh packed (G*H, H): d loss / d h_{t-1} in backward */
    recur_real *xb;   /* W_ih packed (G*H, in): d loss / d input */
} recur_engine_dir_t;

struct recur_engine {
    recur_config_t cfg;
    size_t T_max, B_max, I, H, G, L, D, O;
    bool infer;   /* forward only (recur_engine_alloc_inference) */
    size_t chunk; /* steps per chunk */
    size_t n_tensors;
    recur_tensor_t *tab;     /* (n_tensors) parameter views */
    recur_engine_dir_t *dir; /* (L * D) */
    recur_real **y;     /* per layer: (Tw, B, D*H) output, 0 at masked steps, dropout applied */
    recur_real **dy;    /* per layer: (Tw, B, D*H) d loss / d output */
    recur_real **drop;  /* per layer but the last: (Tw, B, D*H) dropout scale, or NULL */
    recur_real *tmp;    /* GRU: (B, G*H) recurrent product of one step */
    recur_real *dc;     /* (B, H) running d loss / d c */
    recur_real *dhlast; /* (2, B, H) gradient entering the final states (last pooling) */
    recur_real *bsum;   /* (G*H) column sums (bias gradients) */
    recur_real *zrow;   /* (H) zeros: the output gradient of every row when there is none */
    /* head */
    recur_real *pooled;  /* (B, D*H) sequence feature */
    recur_real *dpooled; /* (B, D*H) */
    recur_real *logits;  /* (B, O) or (Tw, B, O) */
    recur_real *dlogits; /* same shape: d (sum of the window's loss terms) / d logits */
    recur_real *dlnorm;  /* same shape: dlogits / the normaliser of the backward */
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
    /* activation regulariser (recur_engine_set_act_reg) */
    double act_reg;
    bool act_reg_all;
};

static inline recur_engine_dir_t *recur_engine_dir(const recur_engine_t *e, size_t l, size_t d)
{
    return &e->dir[l * e->D + d];
}

/* The state slot after the last step of a window of Tw steps (the final state) of direction d. */
static inline size_t recur_engine_final_slot(const recur_engine_t *e, size_t d, size_t Tw)
{
    return e->infer ? Tw % 2 : d ? 0 : Tw;
}

/* ---- fused gate kernels (engine_cells.c): one time step for the whole batch ---------------
 * Written once on RECUR_VL lanes (16 floats; one double in the double build), compiled for
 * the widest vectors the CPU has (RECUR_VKERNEL). Forward: a (B, G*H) holds the
 * pre-activations of the step (input projection, biases and, but for the GRU, the recurrent
 * product) and gets the activated gates; hp, cp are the states before the step, ho, co after;
 * y (B rows at stride ldy) gets the output, 0 at masked steps; m (B) the step mask. A masked
 * sequence keeps its state. */
void recur_engine_rnn_step_fwd(size_t B, size_t H, recur_real *a, const recur_real *hp,
                               recur_real *ho, recur_real *y, size_t ldy, const unsigned char *m);
void recur_engine_lstm_step_fwd(size_t B, size_t H, recur_real *a, const recur_real *hp,
                                const recur_real *cp, recur_real *ho, recur_real *co, recur_real *y,
                                size_t ldy, const unsigned char *m);
/* gh (B, 3H): the recurrent product W_hh h + b_hh; hn (B, H) gets its n part (NULL: not kept). */
void recur_engine_gru_step_fwd(size_t B, size_t H, recur_real *a, const recur_real *gh,
                               recur_real *hn, const recur_real *hp, recur_real *ho, recur_real *y,
                               size_t ldy, const unsigned char *m);

/* Backward of one step. dh (B, H) holds the gradient reaching h_t from later steps (or the
 * head); dy (B rows at stride ldy) the gradient of the step's output, added for valid rows (dh
 * then holds the total, kept for diagnostics). a holds the activated gates and gets d loss /
 * d pre-activations (input side; gh the recurrent side for the GRU); dc (B, H) is the running
 * cell-state gradient. next (B, H), when not NULL, gets the part of d loss / d h_{t-1} that
 * does not go through W_hh (the GRU's z h path; 0 otherwise), or dh itself for masked rows,
 * which pass everything through and get zero gate gradients. */
void recur_engine_rnn_step_bwd(size_t B, size_t H, recur_real *a, recur_real *dh,
                               const recur_real *dy, size_t ldy, recur_real *next,
                               const unsigned char *m);
/* cp, cc (B, H): the cell states before and after the step. */
void recur_engine_lstm_step_bwd(size_t B, size_t H, recur_real *a, const recur_real *cp,
                                const recur_real *cc, recur_real *dh, const recur_real *dy,
                                size_t ldy, recur_real *dc, recur_real *next,
                                const unsigned char *m);
/* hn (B, H): W_hn h_{t-1} + b_hn of the forward; hp (B, H): the state before the step. */
void recur_engine_gru_step_bwd(size_t B, size_t H, recur_real *a, recur_real *gh,
                               const recur_real *hn, const recur_real *hp, recur_real *dh,
                               const recur_real *dy, size_t ldy, recur_real *next,
                               const unsigned char *m);

/* s[j] = sum over rows r < R of A[r * N + j] (one chain per column, in row order). */
void recur_engine_column_sums(size_t R, size_t N, const recur_real *A, recur_real *s);

/* ---- heads and losses (engine_head.c) -------------------------------------------------- */

/* Head forward of the window [e->t0, e->t0 + Tw) of the batch e->b (B rows, top-layer outputs
 * in e->y): logits into e->logits; with want_loss also the mean of the window's loss terms
 * into *loss, their number into *n_terms (else 0 and 0) and d (sum of the terms) / d logits
 * into e->dlogits. For classify the reduction is over rows (sequences or steps); for the
 * others over values. 0, or RECUR_EINVAL (logged) for a label out of range. */
int recur_engine_head_forward(recur_engine_t *e, const recur_real *params, size_t Tw, size_t B,
                              const unsigned char *mask, bool want_loss, double *loss,
                              size_t *n_terms);
/* Head backward for the loss (sum of the window's terms) / norm: parameter gradients,
 * d loss / d top-layer output into dy[top] (overwritten) and the gradient entering the final
 * states for `last` pooling (dpooled columns). */
void recur_engine_head_backward(recur_engine_t *e, const recur_real *params, recur_real *grads,
                                size_t Tw, size_t B, const unsigned char *mask, double norm);

#endif
