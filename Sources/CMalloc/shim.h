#ifndef MONITORD_CMALLOC_SHIM_H
#define MONITORD_CMALLOC_SHIM_H
// malloc_trim(3), which Swift's Glibc module does not bring: a daemon back from a burst hands the
// heap it no longer uses back to the kernel.
#include <malloc.h>
#endif
