/* tls-lib.h: OpenSSL's shared library, loaded with dlopen(3) by the first
 * call of one of its functions instead of by the dynamic loader before main
 * (tls-lib.c). Supervisor and moat doctor. */
#ifndef MOAT_TLS_LIB_H
#define MOAT_TLS_LIB_H

#include <stdbool.h>

#include "base/error.h"

/* Loads it now (once per process; thread-safe). 0, or -1 with e saying
 * what is missing. */
int	tls_lib_load(struct merr *);
/* Whether this process loaded it. */
bool	tls_lib_loaded(void);

#endif
