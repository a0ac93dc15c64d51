#ifndef MALLOC_COUNTER_H
#define MALLOC_COUNTER_H
#include <stdint.h>

/// Heap allocations (malloc, calloc, realloc, aligned) made by this process so far.
uint64_t bulwark_allocation_count(void);
/// Bytes currently in use on the heap (glibc's own count).
uint64_t bulwark_heap_bytes_in_use(void);

#endif
