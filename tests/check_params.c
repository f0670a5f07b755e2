/* check_params.c - the parameter layout (state_dict names, shapes, order, offsets),
 * configuration checks and names, and initialisation: PyTorch's uniform bounds, orthogonal
 * recurrent blocks, the LSTM forget-gate bias. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/engine.h>

#include "testutil.h"

static recur_config_t cfg_of(recur_cell_t cell, size_t L, bool bi)
{
    return (recur_config_t){.cell = cell,
                            .input_size = 5,
                            .hidden_size = 7,
                            .num_layers = L,
                            .bidirectional = bi,
                            .head = RECUR_HEAD_SEQ,
                            .pool = RECUR_POOL_LAST,
                            .task = RECUR_TASK_CLASSIFY,
                            .num_outputs = 3};
}

START_TEST(test_layout_matches_state_dict)
{
    const recur_config_t cfg = cfg_of(RECUR_CELL_LSTM, 2, true);
    const size_t n = recur_tensor_count(&cfg);
    ck_assert_uint_eq(n, 2 * 2 * 4 + 2);
    recur_tensor_t *t = calloc(n, sizeof *t);
    recur_tensor_table(&cfg, t);
    /* order and shapes of torch.nn.LSTM(5, 7, 2, bidirectional=True) + Linear(14, 3) */
    const char *names[] = {"rnn.weight_ih_l0",
                           "rnn.weight_hh_l0",
                           "rnn.bias_ih_l0",
                           "rnn.bias_hh_l0",
                           "rnn.weight_ih_l0_reverse",
                           "rnn.weight_hh_l0_reverse",
                           "rnn.bias_ih_l0_reverse",
                           "rnn.bias_hh_l0_reverse",
                           "rnn.weight_ih_l1",
                           "rnn.weight_hh_l1",
                           "rnn.bias_ih_l1",
                           "rnn.bias_hh_l1",
                           "rnn.weight_ih_l1_reverse",
                           "rnn.weight_hh_l1_reverse",
                           "rnn.bias_ih_l1_reverse",
                           "rnn.bias_hh_l1_reverse",
                           "head.weight",
                           "head.bias"};
    const size_t d0[] = {28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 3, 3};
    const size_t d1[] = {5, 7, 1, 1, 5, 7, 1, 1, 14, 7, 1, 1, 14, 7, 1, 1, 14, 1};
    size_t off = 0;
    for (size_t k = 0; k < n; k++) {
        ck_assert_str_eq(t[k].name, names[k]);
        ck_assert_uint_eq(t[k].dims[0], d0[k]);
        ck_assert_uint_eq(t[k].dims[1], d1[k]);
        ck_assert_uint_eq(t[k].rank, d1[k] == 1 ? 1 : 2);
        ck_assert_uint_eq(t[k].offset, off);
        off += t[k].numel;
    }
    ck_assert_uint_eq(recur_param_count(&cfg), off);
    free(t);
}
END_TEST

START_TEST(test_gates_and_counts)
{
    const size_t G[] = {1, 4, 3};
    for (int c = 0; c < 3; c++) {
        const recur_config_t cfg = cfg_of((recur_cell_t)c, 1, false);
        ck_assert_uint_eq(recur_config_gates(&cfg), G[c]);
        /* G*H*(I + H + 2) + O*(H + 1) */
        ck_assert_uint_eq(recur_param_count(&cfg), G[c] * 7 * (5 + 7 + 2) + 3 * (7 + 1));
    }
}
END_TEST

START_TEST(test_names_parse_round_trip)
{
    for (int c = 0; c < 3; c++) {
        recur_cell_t v;
        ck_assert_int_eq(recur_cell_parse(recur_cell_name((recur_cell_t)c), &v), 0);
        ck_assert_int_eq(v, c);
        recur_pool_t p;
        ck_assert_int_eq(recur_pool_parse(recur_pool_name((recur_pool_t)c), &p), 0);
        ck_assert_int_eq(p, c);
        recur_task_t t;
        ck_assert_int_eq(recur_task_parse(recur_task_name((recur_task_t)c), &t), 0);
        ck_assert_int_eq(t, c);
    }
    recur_task_t t;
    ck_assert_int_eq(recur_task_parse("forecast", &t), 0);
    ck_assert_int_eq(t, RECUR_TASK_REGRESS);
    recur_cell_t c;
    ck_assert_int_eq(recur_cell_parse("LSTM", &c), RECUR_EINVAL);
    ck_assert_int_eq(recur_cell_parse(NULL, &c), RECUR_EINVAL);
    recur_head_t h;
    ck_assert_int_eq(recur_head_parse("step", &h), 0);
    ck_assert_int_eq(h, RECUR_HEAD_STEP);
    ck_assert_int_eq(recur_head_parse("steps", &h), RECUR_EINVAL);
}
END_TEST

START_TEST(test_uniform_bounds)
{
    const recur_config_t cfg = cfg_of(RECUR_CELL_GRU, 2, true);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const size_t P = recur_param_count(&cfg), n = recur_tensor_count(&cfg);
    recur_real *p = malloc(P * sizeof *p);
    ck_assert_int_eq(recur_param_init(&cfg, NULL, p, rng), 0);
    recur_tensor_t *t = calloc(n, sizeof *t);
    recur_tensor_table(&cfg, t);
    for (size_t k = 0; k < n; k++) {
        const double bound = strncmp(t[k].name, "head", 4) ? 1 / sqrt(7.0) : 1 / sqrt(14.0);
        double mx = 0;
        for (size_t i = 0; i < t[k].numel; i++)
            mx = fmax(mx, fabs(p[t[k].offset + i]));
        ck_assert_double_le(mx, bound);
        if (t[k].numel >= 20) /* the draws fill the range */
            ck_assert_double_gt(mx, 0.5 * bound);
    }
    free(t);
    free(p);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_orthogonal_and_forget_bias)
{
    const recur_config_t cfg = cfg_of(RECUR_CELL_LSTM, 2, false);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const size_t P = recur_param_count(&cfg), n = recur_tensor_count(&cfg), H = 7;
    recur_real *p = malloc(P * sizeof *p);
    const recur_init_t opt = {.orthogonal_hh = true, .forget_bias = 1.0};
    ck_assert_int_eq(recur_param_init(&cfg, &opt, p, rng), 0);
    recur_tensor_t *t = calloc(n, sizeof *t);
    recur_tensor_table(&cfg, t);
    size_t blocks = 0;
    for (size_t k = 0; k < n; k++) {
        if (strstr(t[k].name, "weight_hh")) {
            for (size_t g = 0; g < 4; g++, blocks++) {
                const recur_real *w = p + t[k].offset + g * H * H; /* (H, H) */
                for (size_t i = 0; i < H; i++)
                    for (size_t j = 0; j < H; j++) {
                        double dot = 0;
                        for (size_t r = 0; r < H; r++)
                            dot += (double)w[r * H + i] * w[r * H + j];
                        ck_assert_double_eq_tol(dot, i == j ? 1.0 : 0.0, 1e-5);
                    }
            }
        }
        if (strstr(t[k].name, "bias_ih"))
            for (size_t i = 0; i < H; i++)
                ck_assert(p[t[k].offset + H + i] == 1);
    }
    ck_assert_uint_eq(blocks, 8);
    free(t);
    free(p);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_invalid_configurations)
{
    recur_config_t c = cfg_of(RECUR_CELL_RNN, 1, false);
    ck_assert_int_eq(recur_config_validate(&c), 0);
    c.input_size = 0;
    ck_assert_int_eq(recur_config_validate(&c), RECUR_EINVAL);
    c = cfg_of(RECUR_CELL_RNN, 0, false);
    ck_assert_int_eq(recur_config_validate(&c), RECUR_EINVAL);
    c = cfg_of((recur_cell_t)7, 1, false);
    ck_assert_int_eq(recur_config_validate(&c), RECUR_EINVAL);
    c = cfg_of(RECUR_CELL_RNN, 1, false);
    c.num_outputs = 0;
    ck_assert_int_eq(recur_config_validate(&c), RECUR_EINVAL);
    c.num_outputs = 1;
    c.task = RECUR_TASK_REGRESS;
    ck_assert_int_eq(recur_config_validate(&c), 0);
    c.dropout = -0.1;
    ck_assert_int_eq(recur_config_validate(&c), RECUR_EINVAL);
    c.dropout = NAN;
    ck_assert_int_eq(recur_config_validate(&c), RECUR_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("params");
    TCase *tc = tcase_create("layout and init");
    tcase_add_test(tc, test_layout_matches_state_dict);
    tcase_add_test(tc, test_gates_and_counts);
    tcase_add_test(tc, test_names_parse_round_trip);
    tcase_add_test(tc, test_uniform_bounds);
    tcase_add_test(tc, test_orthogonal_and_forget_bias);
    tcase_add_test(tc, test_invalid_configurations);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
