/* How many CPUs this process may run on. */
#ifndef TS_UTIL_CPUS_H
#define TS_UTIL_CPUS_H

/* The CPUs in the calling thread's affinity mask (what taskset, a
 * cpuset or numactl allows), else the online CPUs; at least 1. */
unsigned util_cpus_usable(void);

#endif
