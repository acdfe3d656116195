/* Thread exit (review round 6): a C program that frees its hexvault buffers from a pthread key destructor
 * (the usual way to clean up per-thread state at thread exit). glibc runs the C++/Rust
 * thread_local destructors (__call_tls_dtors) before the pthread key destructors, so the
 * library's thread-local last-error slot is already destroyed when hexvault_buffer_free
 * runs. Before review round 6, LAST_ERROR.with() panicked there outside catch_unwind,
 * inside an extern "C" function, and the process aborted ("panic in a function that cannot
 * unwind"); the buffer was never zeroized. Expected: status OK (or any status), exit 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexvault.h"

static pthread_key_t key;
static volatile int freed_status = -1;

static void free_at_exit(void *value) {
    HexvaultBuffer *buffer = value;
    freed_status = hexvault_buffer_free(buffer);
    free(buffer);
}

static void *worker(void *arg) {
    (void)arg;
    HexvaultBuffer *buffer = calloc(1, sizeof *buffer);
    if (buffer == NULL) {
        return (void *)1;
    }
    const char secret[] = "per-thread secret";
    if (hexvault_envelope_store((const uint8_t *)secret, sizeof secret, NULL, buffer) !=
        HEXVAULT_STATUS_OK) {
        return (void *)1;
    }
    pthread_setspecific(key, buffer);
    return NULL;
}

int main(void) {
    if (pthread_key_create(&key, free_at_exit) != 0) {
        return 1;
    }
    pthread_t thread;
    void *result = NULL;
    if (pthread_create(&thread, NULL, worker, NULL) != 0 || pthread_join(thread, &result) != 0 ||
        result != NULL) {
        return 1;
    }
    if (freed_status != HEXVAULT_STATUS_OK) {
        printf("buffer_free from a key destructor returned %d\n", freed_status);
        return 1;
    }
    printf("ok\n");
    return 0;
}
