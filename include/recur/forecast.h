/* recur/forecast.h - forecasting on series read by recur/h5series.h: chronological splits, z-scores
 * fitted on the training split, windows and horizons, calendar features, encoded datasets for the
 * sequence head (direct multi-horizon) and the step head (every step predicts the next H steps),
 * the baselines (persistence, climatology, ridge regression on the window) and the metrics (MAE,
 * RMSE, skill) in physical units; the encoding's round trip through the model file.
 *
 * Time axis of T steps, split chronologically at b1 = floor(train * T), b2 = b1 + floor(val * T):
 * train [0, b1), validation [b1, b2), test [b2, T). A sample is (series, t) with t the issue time,
 * the last of the W input steps [t - W + 1, t], forecasting steps t + 1 .. t + H; in a split, every
 * one of the steps t - W + 1 .. t + H lies inside it (no window straddles two splits), and issue
 * times start at the split's first possible one and go on every `stride` steps.
 *
 * Features per step, in this order: the n_in input variables as z-scores ((x - mean) / std, with
 * mean and std fitted on the training split over every series; a missing value becomes 0); with
 * missing_indicators, one channel per input variable that is 1 where it is missing; with doy,
 * sin and cos of 2 pi (day of year + fraction of the day) / days in the year; with hour, sin and
 * cos of 2 pi (seconds into the day) / 86400. Outputs: O = H x n_out z-scored target values,
 * horizon-major (index (h - 1) * n_out + k); a missing target is masked out of the loss and of
 * every metric. Every input step is valid (mask 1): missing values are zeros, not gaps. */
#ifndef RECUR_FORECAST_H
#define RECUR_FORECAST_H

#include <recur/common.h>
#include <recur/dataset.h>
#include <recur/engine.h>
#include <recur/h5series.h>
#include <recur/model.h>

#define RECUR_FC_MAX_WINDOW 100000
#define RECUR_FC_MAX_HORIZON 10000
#define RECUR_FC_MAX_INPUTS 256
#define RECUR_FC_MAX_TARGETS 64

typedef enum {
    RECUR_SPLIT_TRAIN,
    RECUR_SPLIT_VAL,
    RECUR_SPLIT_TEST,
    RECUR_SPLIT_ALL
} recur_split_t;
const char *recur_split_name(recur_split_t s); /* "train" | "val" | "test" | "all" */
int recur_split_parse(const char *s, recur_split_t *out) RECUR_WUR;

/* The encoding. Plain struct: fill the first block, then recur_fc_init(). */
typedef struct {
    size_t window;           /* W >= 1 */
    size_t horizon;          /* H >= 1 */
    size_t stride;           /* >= 1 */
    double train_frac;       /* (0, 1] */
    double val_frac;         /* [0, 1), train_frac + val_frac <= 1 */
    bool doy, hour;          /* calendar features */
    bool missing_indicators; /* missingness channels */
    size_t V;                /* variables of the series */
    size_t n_in, n_out;      /* inputs and targets, indices into the series' variables */
    size_t in_var[RECUR_FC_MAX_INPUTS];
    size_t out_var[RECUR_FC_MAX_TARGETS];
    /* set by recur_fc_init() */
    size_t F, O; /* features per step, outputs (H x n_out) */
    /* set by recur_fc_fit() (or recur_fc_from_model()) */
    double *mean, *std; /* (V) malloc'd, training-split statistics; NULL before */
} recur_fc_t;

/* Checks the configuration and sets F and O. 0 or RECUR_EINVAL (logged). */
int recur_fc_init(recur_fc_t *fc) RECUR_WUR;
void recur_fc_release(recur_fc_t *fc); /* frees mean and std */

/* Split boundaries {0, b1, b2, T} for a series of T steps. */
void recur_fc_bounds(const recur_fc_t *fc, size_t T, size_t b[4]);

/* Checks that s suits fc (variables, calendar needs dates, W + H steps fit in the series and in
 * the training split), then fits mean and std per variable on the training split over all series
 * (population std; 1 when a variable is constant). Every target needs a valid value in every
 * non-empty split. 0 or a negative code, logged as one line naming path. */
int recur_fc_fit(recur_fc_t *fc, const recur_series_t *s, const char *path) RECUR_WUR;
/* The same checks for one split (which must hold W + H steps) without fitting (fc already holds
 * statistics, e.g. from a model); ALL checks only the series. */
int recur_fc_check(const recur_fc_t *fc, const recur_series_t *s, const char *path,
                   recur_split_t split) RECUR_WUR;

/* Name of feature j (0 <= j < F) and of output k (0 <= k < O) into buf: "tmax", "tmax_missing",
 * "doy_sin", "doy_cos", "hour_sin", "hour_cos"; outputs "tmax+1" .. "tmax+H". */
void recur_fc_feature_name(const recur_fc_t *fc, const recur_series_t *s, size_t j, char *buf,
                           size_t size);
void recur_fc_output_name(const recur_fc_t *fc, const recur_series_t *s, size_t k, char *buf,
                          size_t size);

typedef struct {
    size_t series; /* index into the panel */
    size_t t;      /* issue time: the window's last step */
} recur_fc_sample_t;

/* The samples of a split (ALL: every t >= W - 1 in the whole series, the targets past the end
 * missing: forecasts of the future), series-major. *out is malloc'd (NULL when *n is 0).
 * 0 or RECUR_ENOMEM (logged). */
int recur_fc_samples(const recur_fc_t *fc, const recur_series_t *s, recur_split_t split,
                     recur_fc_sample_t **out, size_t *n) RECUR_WUR;

/* Features of steps t0 .. t1 - 1 of series si into x, (t1 - t0, F) float. */
void recur_fc_features(const recur_fc_t *fc, const recur_series_t *s, size_t si, size_t t0,
                       size_t t1, float *x);
/* Targets of sample (si, t), z-scored, into y (O) and present flags into ym (O); steps past
 * the end of the series (or past `limit`, when less) are missing. */
void recur_fc_targets(const recur_fc_t *fc, const recur_series_t *s, size_t si, size_t t,
                      size_t limit, float *y, unsigned char *ym);
/* Physical value of output k from its z-score. */
double recur_fc_denorm(const recur_fc_t *fc, size_t k, double z);

/* Encoded datasets (task regress, every step valid):
 *   seq:  one record per sample, x (N, W, F), targets (N, O) with target_mask; names
 *         "<series>@<issue date>" (or "@<index>" without dates); classes = output names.
 *   step: one record per series over the split's steps [lo, hi), x (S, hi - lo, F), targets
 *         (S, hi - lo, O): at step t the values at t + 1 .. t + H that lie inside the split.
 * NULL on failure (logged). */
recur_dataset_t *recur_fc_dataset_seq(const recur_fc_t *fc, const recur_series_t *s,
                                      const recur_fc_sample_t *smp, size_t n);
recur_dataset_t *recur_fc_dataset_step(const recur_fc_t *fc, const recur_series_t *s,
                                       recur_split_t split);

/* Seconds since 1970 of step t of s, extrapolated past the end with the last step's spacing;
 * NAN without dates. */
double recur_fc_epoch(const recur_series_t *s, double t);
/* True when every date of s falls at midnight (dates print without a time of day). */
bool recur_fc_date_only(const recur_series_t *s);

/* ---- Baselines (physical units; each gives a value for every output of every sample) ------- */

/* Persistence: the last present value of each target in the sample's window (the training mean
 * when the window has none), for every horizon. pred (O). */
void recur_fc_persistence(const recur_fc_t *fc, const recur_series_t *s,
                          const recur_fc_sample_t *smp, double *pred);

/* Climatology: per series and target, the training-split mean by day of year (a +-15-day
 * circular window; by_month: calendar month) and, for sub-daily series, by hour of day; bins
 * without data (or series without dates) use the series' training mean, then the variable's. */
typedef struct recur_fc_clim recur_fc_clim_t;
recur_fc_clim_t *recur_fc_clim_fit(const recur_fc_t *fc, const recur_series_t *s, bool by_month);
void recur_fc_clim_predict(const recur_fc_clim_t *c, const recur_fc_t *fc, const recur_series_t *s,
                           const recur_fc_sample_t *smp, double *pred);
void recur_fc_clim_free(recur_fc_clim_t *c);

/* Ridge regression of the z-scored targets on the sample's features (W x F values and an
 * unpenalised intercept), fitted with GSL (Cholesky of X'X + lambda I) on the training samples
 * whose targets are all present. */
typedef struct recur_fc_ridge recur_fc_ridge_t;
recur_fc_ridge_t *recur_fc_ridge_fit(const recur_fc_t *fc, const recur_series_t *s, double lambda);
void recur_fc_ridge_predict(const recur_fc_ridge_t *r, const recur_fc_t *fc,
                            const recur_series_t *s, const recur_fc_sample_t *smp, double *pred);
void recur_fc_ridge_free(recur_fc_ridge_t *r);

/* ---- Metrics --------------------------------------------------------------------------------- */

/* Sums over the present targets, per output (O), in double. */
typedef struct {
    size_t O;
    double *abs_err, *sq_err; /* (O) */
    size_t *count;            /* (O) */
} recur_fc_metrics_t;

int recur_fc_metrics_init(recur_fc_metrics_t *m, size_t O) RECUR_WUR;
void recur_fc_metrics_release(recur_fc_metrics_t *m);
/* Adds one sample: pred and truth (O) physical, truth present where tm[k]. */
void recur_fc_metrics_add(recur_fc_metrics_t *m, const double *pred, const double *truth,
                          const unsigned char *tm);
/* MAE and MSE of target k at horizon h (1-based), or over every horizon (h = 0); NAN when no
 * term. */
double recur_fc_mae(const recur_fc_metrics_t *m, const recur_fc_t *fc, size_t k, size_t h);
double recur_fc_mse(const recur_fc_metrics_t *m, const recur_fc_t *fc, size_t k, size_t h);

/* Truth of sample smp: physical values (O) and present flags, NaN where missing. */
void recur_fc_truth(const recur_fc_t *fc, const recur_series_t *s, const recur_fc_sample_t *smp,
                    double *truth, unsigned char *tm);

/* ---- The network ------------------------------------------------------------------------------
 */

/* Forecasts of model m (a forecaster whose encoding is fc) for samples smp[0..n-1] of s, in
 * physical units, into pred (n, O). Sequence head: each sample's window, in batches of up to
 * `batch` samples. Step head: the whole of every series from its first step (the state carried
 * in windows of up to 1024 steps), the outputs read at each sample's issue time. 0 or a
 * negative code (logged). */
int recur_fc_predict(const recur_model_t *m, const recur_fc_t *fc, const recur_series_t *s,
                     const recur_fc_sample_t *smp, size_t n, size_t batch, double *pred) RECUR_WUR;

/* Writes predictions as HDF5 to path (a temporary name in the same directory, then renamed):
 *   /forecast    float64 (N, H, n_out)  physical units
 *   /truth       float64 (N, H, n_out)  NaN where unknown (missing, or past the end)
 *   /issue_time  float64 (N)            seconds since 1970-01-01 (the time coordinate as stored
 *   /valid_time  float64 (N, H)         when the series has no dates; see the units attribute)
 *   /issue_date, /valid_date            ISO 8601 strings (N), (N, H), when the series has dates
 *   /series      int32 (N)              index into /series_name (S strings)
 *   /horizon     int32 (H) 1..H;  /target  strings (n_out)
 * root attributes format = "recur-forecast", format_version 1, recur_version, command_line,
 * model. 0 or a negative code (logged). */
int recur_fc_write_predictions(const char *path, const recur_fc_t *fc, const recur_series_t *s,
                               const recur_fc_sample_t *smp, size_t n, const double *pred,
                               const char *cmdline, const char *model_path) RECUR_WUR;

/* ---- The model file -------------------------------------------------------------------------- */

/* Where the series came from: stored in the model so that eval and predict read the same. */
typedef struct {
    const char *dataset;       /* plain mode, or NULL */
    const char *const *vars;   /* the series' variables, in order (V of them) */
    const char *const *select; /* "--select" strings, n_select of them */
    size_t n_select;
    const char *time_dim; /* or NULL */
} recur_fc_source_t;

/* Writes fc (and s's names) into m's /config: number lists horizon, window, stride, split
 * (train, val fractions), mean, std, calendar (doy, hour), missing_indicators, input_index,
 * target_index; string lists variables, inputs, targets, features, outputs, h5_dataset,
 * select, time_dim, time_units. The number list "horizon" marks a forecaster. */
int recur_fc_to_model(const recur_fc_t *fc, const recur_series_t *s, const recur_fc_source_t *src,
                      recur_model_t *m) RECUR_WUR;
/* True when m holds a forecaster's encoding. */
bool recur_fc_is_forecaster(const recur_model_t *m);
/* Reads the encoding back (fc gets its own mean/std copies; src's pointers point into m).
 * 0 or RECUR_EFORMAT (logged: path and the missing or bad entry). */
int recur_fc_from_model(const recur_model_t *m, const char *path, recur_fc_t *fc,
                        recur_fc_source_t *src) RECUR_WUR;

#endif
