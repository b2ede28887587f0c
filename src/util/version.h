/* The release and, in a build from a git checkout, its commit
 * ("0.1.0 (3e3605c1a2b4)"; "-dirty" with local changes). Generated at
 * every build by scripts/version.cmake. */
#ifndef TS_UTIL_VERSION_H
#define TS_UTIL_VERSION_H

const char *ts_version(void);

#endif
