/* Randomness for nonces, ports and transaction ids: getrandom(2) only. */
#ifndef TS_UTIL_RAND_H
#define TS_UTIL_RAND_H
#include <stddef.h>
#include <stdint.h>

/* Fill buf with n bytes from the kernel CSPRNG. 0 or errno. */
int rand_bytes(void *buf, size_t n);
uint32_t rand_u32(void);

#endif
