/* simulate.c - synthetic tasks with known answers (adding, copy memory, planted DNA motif);
 * definitions and sources in recur/simulate.h. */
#include <string.h>

#include <recur/simulate.h>

recur_dataset_t *recur_sim_adding(size_t N, size_t T, gsl_rng *rng)
{
    return recur_sim_adding_delayed(N, T, 0, rng);
}

recur_dataset_t *recur_sim_adding_delayed(size_t N, size_t T, size_t delay, gsl_rng *rng)
{
    if (N == 0 || T < 2 || delay > ((size_t)1 << 24)) {
        recur_error("adding: needs at least one sequence of at least 2 steps");
        return NULL;
    }
    const size_t L = T + delay;
    recur_dataset_t *ds =
        recur_dataset_alloc(RECUR_TASK_REGRESS, RECUR_HEAD_SEQ, N, L, 2, 1, false);
    if (!ds)
        return NULL;
    const size_t half = T / 2;
    for (size_t n = 0; n < N; n++) {
        float *x = ds->x + n * L * 2; /* (L, 2): value, marker */
        for (size_t t = 0; t < L; t++) {
            x[2 * t] = (float)gsl_rng_uniform(rng);
            x[2 * t + 1] = 0;
            ds->mask[n * L + t] = 1;
        }
        const size_t a = gsl_rng_uniform_int(rng, half);
        const size_t b = half + gsl_rng_uniform_int(rng, T - half);
        x[2 * a + 1] = 1;
        x[2 * b + 1] = 1;
        ds->targets[n] = x[2 * a] + x[2 * b];
    }
    return ds;
}

recur_dataset_t *recur_sim_copy(size_t N, size_t T, gsl_rng *rng)
{
    const size_t S = RECUR_SIM_COPY_SYMBOLS, C = RECUR_SIM_COPY_ALPHABET;
    if (N == 0 || T < 1) {
        recur_error("copy: needs at least one sequence and T >= 1");
        return NULL;
    }
    const size_t L = T + 2 * S, F = C + 2; /* channels: blank, symbols 1..8, delimiter */
    recur_dataset_t *ds =
        recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_STEP, N, L, F, C + 1, false);
    if (!ds)
        return NULL;
    for (size_t n = 0; n < N; n++) {
        float *x = ds->x + n * L * F;    /* (L, F) one-hot */
        int32_t *y = ds->labels + n * L; /* (L) */
        size_t sym[RECUR_SIM_COPY_SYMBOLS];
        for (size_t i = 0; i < S; i++)
            sym[i] = 1 + gsl_rng_uniform_int(rng, C);
        for (size_t t = 0; t < L; t++) {
            size_t in = 0; /* blank */
            if (t < S)
                in = sym[t];
            else if (t == S + T - 1)
                in = C + 1; /* delimiter */
            x[t * F + in] = 1;
            y[t] = t >= S + T ? (int32_t)sym[t - S - T] : 0;
            ds->mask[n * L + t] = 1;
        }
    }
    return ds;
}

/* Position weight matrix of the planted site: 0.85 on the consensus base, 0.05 on others. */
static char draw_site_base(char consensus, gsl_rng *rng)
{
    static const char bases[] = "ACGT";
    const double u = gsl_rng_uniform(rng);
    if (u < 0.85)
        return consensus;
    size_t k = (size_t)((u - 0.85) / 0.05); /* 0, 1 or 2: one of the other bases */
    if (k > 2)
        k = 2;
    size_t seen = 0;
    for (size_t i = 0; i < 4; i++)
        if (bases[i] != consensus && seen++ == k)
            return bases[i];
    return consensus;
}

int recur_sim_motif(size_t N, size_t T, size_t distance, gsl_rng *rng, char *seqs)
{
    const size_t M = strlen(RECUR_SIM_MOTIF);
    if (N == 0 || T < M || distance > T - M) {
        recur_error("motif: needs sequences of at least %zu + distance bases (T %zu, distance "
                    "%zu)",
                    M, T, distance);
        return RECUR_EINVAL;
    }
    static const char bases[] = "ACGT";
    const size_t npos = (N + 1) / 2;
    for (size_t n = 0; n < N; n++) {
        char *s = seqs + n * T;
        for (size_t t = 0; t < T; t++)
            s[t] = bases[gsl_rng_uniform_int(rng, 4)];
        if (n < npos) {
            const size_t start = T - distance - M;
            for (size_t i = 0; i < M; i++)
                s[start + i] = draw_site_base(RECUR_SIM_MOTIF[i], rng);
        }
    }
    return 0;
}
