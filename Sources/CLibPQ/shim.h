#ifndef OMNISYNC_CLIBPQ_SHIM_H
#define OMNISYNC_CLIBPQ_SHIM_H

#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif

#include <sys/prctl.h>
#include <poll.h>

/* prctl is variadic and cannot be called from Swift directly. */
static inline int omnisync_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

#endif
