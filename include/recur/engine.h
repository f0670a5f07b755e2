/* recur/engine.h - the shared BPTT engine: configuration, the flat parameter layout (named
 * like PyTorch's state_dict), masked time-major batches, and forward/backward through time for
 * stacked, optionally bidirectional tanh-RNN, LSTM and GRU layers with a sequence or step head.
 *
 * Conventions (identical to PyTorch):
 *   RNN   h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
 *   LSTM  gates (i|f|g|o): i,f,o = sigmoid, g = tanh; c' = f*c + i*g; h' = o*tanh(c')
 *   GRU   gates (r|z|n): r,z = sigmoid(W_i x + b_i + W_h h + b_h);
 *         n = tanh(W_in x + b_in + r*(W_hn h + b_hn)); h' = (1-z)*n + z*h
 * A masked step (mask 0: padding or a gap) leaves the state unchanged, outputs 0 and
 * contributes nothing to the loss or any gradient. */
#ifndef RECUR_ENGINE_H
#define RECUR_ENGINE_H

#include <gsl/gsl_rng.h>

#include <recur/common.h>

typedef enum { RECUR_CELL_RNN, RECUR_CELL_LSTM, RECUR_CELL_GRU } recur_cell_t;
typedef enum { RECUR_HEAD_SEQ, RECUR_HEAD_STEP } recur_head_t;
typedef enum { RECUR_POOL_LAST, RECUR_POOL_MEAN, RECUR_POOL_MAX } recur_pool_t;
typedef enum { RECUR_TASK_CLASSIFY, RECUR_TASK_MULTILABEL, RECUR_TASK_REGRESS } recur_task_t;

/* Architecture and loss. Plain struct: fill it, then recur_config_validate(). */
typedef struct {
    recur_cell_t cell;
    size_t input_size;  /* I */
    size_t hidden_size; /* H */
    size_t num_layers;  /* L */
    bool bidirectional; /* D = 2 when set */
    recur_head_t head;
    recur_pool_t pool; /* sequence head only */
    recur_task_t task;
    size_t num_outputs; /* O: classes (classify), labels (multilabel) or targets (regress) */
    double dropout;     /* on the outputs of every layer but the last, training only */
} recur_config_t;

/* 0 when the configuration is usable; otherwise logs why and returns RECUR_EINVAL. */
int recur_config_validate(const recur_config_t *cfg) RECUR_WUR;
size_t recur_config_gates(const recur_config_t *cfg);      /* G: 1, 4 or 3 */
size_t recur_config_directions(const recur_config_t *cfg); /* D: 1 or 2 */
const char *recur_cell_name(recur_cell_t cell);            /* "rnn" | "lstm" | "gru" */
const char *recur_head_name(recur_head_t head);            /* "seq" | "step" */
const char *recur_pool_name(recur_pool_t pool);            /* "last" | "mean" | "max" */
const char *recur_task_name(recur_task_t task);            /* "classify" | ... | "regress" */
/* Parse the names above (task also accepts "forecast" as regress); 0 or RECUR_EINVAL. */
int recur_cell_parse(const char *s, recur_cell_t *out) RECUR_WUR;
int recur_head_parse(const char *s, recur_head_t *out) RECUR_WUR;
int recur_pool_parse(const char *s, recur_pool_t *out) RECUR_WUR;
int recur_task_parse(const char *s, recur_task_t *out) RECUR_WUR;

/* ---- Flat parameter layout --------------------------------------------------------------
 * One contiguous block holds every parameter, in state_dict order: for each layer l, for each
 * direction (forward, then "_reverse"): rnn.weight_ih_l{l} (G*H, in), rnn.weight_hh_l{l}
 * (G*H, H), rnn.bias_ih_l{l} (G*H), rnn.bias_hh_l{l} (G*H); then head.weight (O, D*H) and
 * head.bias (O). in = I for layer 0, D*H above. Gradients and optimizer moments use the same
 * layout. */
typedef struct {
    char name[40];  /* PyTorch state_dict key, e.g. "rnn.weight_hh_l1_reverse" */
    size_t offset;  /* first element in the flat block */
    size_t rank;    /* 1 or 2 */
    size_t dims[2]; /* dims[1] is 1 when rank == 1 */
    size_t numel;
} recur_tensor_t;

size_t recur_param_count(const recur_config_t *cfg);  /* total elements */
size_t recur_tensor_count(const recur_config_t *cfg); /* number of named tensors */
/* Fills out[0 .. recur_tensor_count()-1]. */
void recur_tensor_table(const recur_config_t *cfg, recur_tensor_t *out);

/* Initialisation options. */
typedef struct {
    bool orthogonal_hh; /* each gate's (H, H) block of weight_hh orthogonal (QR of a Gaussian) */
    double forget_bias; /* LSTM: bias_ih of the forget gate, GRU: of the update gate z (the share
                         * of the old state kept), set to this value (0 = PyTorch) */
    double spectral_radius; /* > 0: each gate's (H, H) block of weight_hh rescaled to this
                             * spectral radius (largest |eigenvalue|), after the draw */
} recur_init_t;

/* PyTorch's default: every weight and bias U(-1/sqrt(H), 1/sqrt(H)); the head as nn.Linear,
 * U(-1/sqrt(D*H), 1/sqrt(D*H)). Then the options. */
int recur_param_init(const recur_config_t *cfg, const recur_init_t *opt, recur_real *params,
                     gsl_rng *rng) RECUR_WUR;

/* ---- Batches ------------------------------------------------------------------------------
 * Time-major and masked. Targets by task and head:
 *   classify   labels  (B) for the sequence head, (T, B) for the step head; -1 = no label
 *   multilabel targets (B, O) or (T, B, O) in {0, 1}
 *   regress    targets (B, O) or (T, B, O)
 * target_mask (same shape as targets, 1 = present) may be NULL: all present. */
typedef struct {
    size_t T, B;
    const recur_real *x;              /* (T, B, I) */
    const unsigned char *mask;        /* (T, B): 1 valid step, 0 padding or gap */
    const int32_t *labels;            /* classify */
    const recur_real *targets;        /* multilabel, regress */
    const unsigned char *target_mask; /* optional */
} recur_batch_t;

/* ---- Engine -------------------------------------------------------------------------------
 * Owns every activation and workspace buffer, sized once for windows of at most T_max steps
 * and batches of at most B_max sequences; forward and backward never allocate.
 *
 * Truncated BPTT: call forward/backward on consecutive windows [t0, t1) of one batch. The
 * state of forward directions is carried from one window to the next (detached: the gradient
 * stops at the boundary); reverse directions start from zero at the end of every window.
 * Sequence-head pooling (last/mean/max) is carried the same way. Each window's loss holds the
 * terms that fall in it, reduced as the task says (mean over those terms): a sequence's term
 * falls in the window that holds its last valid step, a step's term in its own window.
 * With t0 = 0 and t1 = T this is full BPTT. */
typedef struct recur_engine recur_engine_t;

/* NULL on failure (logged). The engine keeps a copy of cfg. Free with recur_engine_free.
 * Memory is O(T_max B_max H) per layer and direction; src/engine.c documents the constants. */
recur_engine_t *recur_engine_alloc(const recur_config_t *cfg, size_t T_max, size_t B_max);
/* A forward-only engine: keeps no activations for backward - per layer and direction only the
 * current state and the input projection of a few steps - besides the layer outputs
 * (T_max, B_max, D*H). Forward with train == false only; backward and state_grad refuse.
 * Its outputs, states and carry equal those of a training engine of the same T_max and B_max
 * bit for bit. For unidirectional models, consecutive windows of a batch give the result of
 * one window over the whole batch, so memory stays constant in T with T_max = the window. */
recur_engine_t *recur_engine_alloc_inference(const recur_config_t *cfg, size_t T_max, size_t B_max);
bool recur_engine_is_inference(const recur_engine_t *e);
void recur_engine_free(recur_engine_t *e);
const recur_config_t *recur_engine_config(const recur_engine_t *e);

/* Activation regulariser (Merity et al. 2017, "activation regularization"): adds
 * lambda sum_t ||h_t||^2 over the top layer's states (both directions) at the valid steps of
 * the window to the window's loss, per loss term like the loss itself: the objective is
 * (sum of the loss terms + lambda sum ||h_t||^2) / norm (the trainer skips windows without
 * loss terms, and their regulariser with them). lambda = 0 (the default) turns it off. all_steps is
 * an experiment-only switch that reproduces a common bug: the sum also runs over padded steps,
 * whose state is the carried state of the sequence's last valid step, so that padding leaks
 * gradient into real steps. Training engines only (the inference engine keeps no states). */
void recur_engine_set_act_reg(recur_engine_t *e, double lambda, bool all_steps);

/* Forward over steps [t0, t1) of batch b (t1 - t0 <= T_max, b->B <= B_max). t0 == 0 starts
 * from the zero state; t0 > 0 continues from the state carried by the previous window of the
 * same batch. train enables dropout (drawn from rng; rng may be NULL when dropout is 0).
 * *loss gets the window's loss and *n_terms the number of loss terms in it (0: no loss, the
 * gradient of this window is zero). Labels and targets are needed only when loss != NULL. */
int recur_engine_forward(recur_engine_t *e, const recur_real *params, const recur_batch_t *b,
                         size_t t0, size_t t1, bool train, gsl_rng *rng, double *loss,
                         size_t *n_terms) RECUR_WUR;

/* Backward through the window of the last forward (which must have had loss != NULL).
 * Accumulates (+=) d loss / d params into grads; when dx is non-NULL, also writes
 * d loss / d x for the window's steps into dx, (t1 - t0, B, I). */
int recur_engine_backward(recur_engine_t *e, const recur_real *params, recur_real *grads,
                          recur_real *dx) RECUR_WUR;

/* As recur_engine_backward, for the loss (sum of the window's terms) / norm instead of their
 * mean (norm = 0: their number, as recur_engine_backward). A batch cut into shards, each run
 * by its own engine, gets the whole batch's gradient as the sum of the shards' gradients with
 * norm = the terms of all shards. */
int recur_engine_backward_norm(recur_engine_t *e, const recur_real *params, recur_real *grads,
                               recur_real *dx, double norm) RECUR_WUR;

/* Head outputs of the last forward: logits (B, O) for the sequence head (valid once the
 * window holds every sequence's last step), or (t1 - t0, B, O) for the step head, 0 at masked
 * steps. *rows gets B or (t1 - t0) * B. */
const recur_real *recur_engine_outputs(const recur_engine_t *e, size_t *rows);
/* Top-layer output of the last forward, (t1 - t0, B, D*H), 0 at masked steps. */
const recur_real *recur_engine_layer_output(const recur_engine_t *e, size_t layer);
/* State after the last forward for layer l, direction d: h (B, H), and c (B, H) for the LSTM
 * (NULL otherwise). For the forward direction this is h_n of PyTorch's packed sequences; for
 * the reverse direction, the state after step t0. */
const recur_real *recur_engine_final_h(const recur_engine_t *e, size_t layer, size_t dir);
const recur_real *recur_engine_final_c(const recur_engine_t *e, size_t layer, size_t dir);

/* The state carried between TBPTT windows, as a flat array of recur_engine_carry_size()
 * elements (for checkpoints and for gradient checks of one window). */
size_t recur_engine_carry_size(const recur_engine_t *e);
void recur_engine_carry_get(const recur_engine_t *e, recur_real *out);
void recur_engine_carry_set(recur_engine_t *e, const recur_real *in);

/* d loss / d h_t of the last backward for layer l, direction d: (t1 - t0, B, H), the total
 * gradient reaching the state at each step (for diagnostics); NULL for an inference engine. */
const recur_real *recur_engine_state_grad(const recur_engine_t *e, size_t layer, size_t dir);

#endif
