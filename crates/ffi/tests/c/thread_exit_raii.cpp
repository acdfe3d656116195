// Thread exit (review round 6): the usual C++ RAII wrapper, a thread_local holder whose destructor frees the
// library buffer. It is constructed before the thread's first hexvault call, so its
// destructor runs after the library's thread-local last-error slot was destroyed (thread
// destructors run in reverse order of registration). Before review round 6,
// hexvault_buffer_free panicked there in LAST_ERROR.with() outside catch_unwind and the
// process aborted. Expected: exit 0.
#include <cstdio>
#include <thread>

#include "hexvault.h"

namespace {
int freed_status = -1;

struct Holder {
    HexvaultBuffer buffer{};
    ~Holder() { freed_status = hexvault_buffer_free(&buffer); }
};

thread_local Holder holder;
}  // namespace

int main() {
    int stored = -1;
    std::thread worker([&stored] {
        holder.buffer = HexvaultBuffer{};
        const char secret[] = "per-thread secret";
        stored = hexvault_envelope_store(reinterpret_cast<const uint8_t *>(secret), sizeof secret,
                                         nullptr, &holder.buffer);
    });
    worker.join();
    if (stored != HEXVAULT_STATUS_OK || freed_status != HEXVAULT_STATUS_OK) {
        std::printf("store %d, free from the thread_local destructor %d\n", stored, freed_status);
        return 1;
    }
    std::printf("ok\n");
    return 0;
}
