/* One worker per CPU means per CPU the process may use: under `taskset
 * -c 1` or a container's cpuset, two workers on one CPU take turns on
 * it, and each waits out the other's batches (measured in
 * docs/benchmark-steps.md, step 10). */
#include <sched.h>
#include <unistd.h>

#include "util/cpus.h"

unsigned util_cpus_usable(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 0;
	if (n < 1) {
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		n = online < 1 ? 1 : online > 65536 ? 65536 : (int)online;
	}
	return (unsigned)n;
}
