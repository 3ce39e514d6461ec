#ifndef MONITORD_CFILESYSTEM_SHIM_H
#define MONITORD_CFILESYSTEM_SHIM_H
// statfs(2) and the file system magic numbers, which Swift's Glibc module does not bring:
// MonitorSystem tells procfs from other file systems by them.
#include <sys/vfs.h>
#include <linux/magic.h>
#endif
