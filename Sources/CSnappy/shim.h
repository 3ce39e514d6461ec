#ifndef MONITORD_CSNAPPY_SHIM_H
#define MONITORD_CSNAPPY_SHIM_H
// Snappy's C API (Debian's libsnappy-dev): the block format that Prometheus remote write requires.
#include <snappy-c.h>
#endif
