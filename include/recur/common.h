/* recur/common.h - scalar type, error codes and the single logging entry point shared by
 * every module of the library. */
#ifndef RECUR_COMMON_H
#define RECUR_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Storage type of parameters, activations and gradients: float32 by default; a build with
 * -DRECUR_REAL=double exists for finite-difference gradient checks. */
#ifndef RECUR_REAL
#define RECUR_REAL float
#endif
typedef RECUR_REAL recur_real;
#define RECUR_PASTE2_(a, b) a##b
#define RECUR_PASTE2(a, b) RECUR_PASTE2_(a, b)
#define RECUR_IS_double 1
/* 1 in the double build, 0 otherwise (usable in #if). */
#define RECUR_REAL_IS_DOUBLE RECUR_PASTE2(RECUR_IS_, RECUR_REAL)

#define RECUR_VERSION "0.1.0"

#define RECUR_WUR __attribute__((warn_unused_result))
#define RECUR_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Error codes returned (negated) by library actions. */
enum {
    RECUR_OK = 0,
    RECUR_ENOMEM = -1,     /* allocation failed */
    RECUR_EINVAL = -2,     /* invalid argument or configuration */
    RECUR_EIO = -3,        /* read or write failed */
    RECUR_EFORMAT = -4,    /* file content is not what it should be */
    RECUR_ENONFINITE = -5, /* loss or gradient is not finite */
    RECUR_EDIVERGED = -6   /* training stopped after a run of non-finite steps */
};

/* Diagnostics go to stderr as "<prefix>: message" through this one function. The prefix is
 * "recur" until recur_log_set_prefix() names the command ("recur train"). */
void recur_log_set_prefix(const char *prefix);
const char *recur_log_prefix(void);
void recur_error(const char *fmt, ...) RECUR_PRINTF(1, 2);
/* Informational lines (progress); silenced by recur_log_set_quiet(true). */
void recur_info(const char *fmt, ...) RECUR_PRINTF(1, 2);
void recur_log_set_quiet(bool quiet);

/* Overflow-checked product of sizes: false when a * b does not fit in size_t. */
static inline bool recur_mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

#endif
