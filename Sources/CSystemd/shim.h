#ifndef MONITORD_CSYSTEMD_SHIM_H
#define MONITORD_CSYSTEMD_SHIM_H
#include <systemd/sd-journal.h>
#endif
