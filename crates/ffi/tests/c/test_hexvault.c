/*
 * C test suite of libhexvault, compiled and run by crates/ffi/tests/c_suite.rs (under
 * -fsanitize=address when the compiler supports it).
 *
 *   test_hexvault                 every test below; prints "ok N checks" and exits 0
 *   test_hexvault seal            seals "from C" (aad "interop") under the interop key, prints hex
 *   test_hexvault open HEX        opens HEX under the interop key (aad "interop"), prints it
 *   test_hexvault reuse           the freed-copy test, requiring that the allocator reuses the
 *                                 freed address (under ASan run it with ASAN_OPTIONS=
 *                                 quarantine_size_mb=0:thread_local_quarantine_size_kb=0)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexvault.h"

static int checks = 0;
static int failures = 0;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        checks++;                                                                     \
        if (!(cond)) {                                                                \
            failures++;                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__,  \
                    __LINE__, #cond, hexvault_last_error());                          \
        }                                                                             \
    } while (0)

#define EXPECT(call, code) CHECK((call) == (code))

static const uint8_t INTEROP_KEY[32] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
static const uint32_t INTEROP_VERSION = 7;
#define OVERHEAD 37

static HexvaultEncryptor make(uint64_t max_seals) {
    HexvaultEncryptor handle = 0;
    EXPECT(hexvault_encryptor_new(INTEROP_KEY, 32, INTEROP_VERSION, max_seals, &handle),
           HEXVAULT_STATUS_OK);
    CHECK(handle != 0);
    return handle;
}

static HexvaultStatus seal(HexvaultEncryptor h, const char *pt, const char *aad, uint8_t *out,
                           size_t cap, size_t *len) {
    return hexvault_encryptor_seal(h, (const uint8_t *)pt, strlen(pt), (const uint8_t *)aad,
                                   strlen(aad), out, cap, len);
}

static HexvaultStatus open_(HexvaultEncryptor h, const uint8_t *ct, size_t ct_len, const char *aad,
                            uint8_t *out, size_t cap, size_t *len) {
    return hexvault_encryptor_open(h, ct, ct_len, (const uint8_t *)aad, strlen(aad), out, cap, len);
}

static void test_round_trip(void) {
    HexvaultEncryptor h = make(0);
    uint8_t sealed[128], opened[128];
    size_t sealed_len = 0, opened_len = 0;
    EXPECT(seal(h, "hello", "ctx", sealed, sizeof sealed, &sealed_len), HEXVAULT_STATUS_OK);
    CHECK(sealed_len == 5 + OVERHEAD);
    CHECK(memcmp(sealed, "HXVA", 4) == 0);
    EXPECT(open_(h, sealed, sealed_len, "ctx", opened, sizeof opened, &opened_len),
           HEXVAULT_STATUS_OK);
    CHECK(opened_len == 5 && memcmp(opened, "hello", 5) == 0);
    /* Empty plaintext with NULL pointers and zero lengths. */
    EXPECT(hexvault_encryptor_seal(h, NULL, 0, NULL, 0, sealed, sizeof sealed, &sealed_len),
           HEXVAULT_STATUS_OK);
    CHECK(sealed_len == OVERHEAD);
    EXPECT(hexvault_encryptor_open(h, sealed, sealed_len, NULL, 0, NULL, 0, &opened_len),
           HEXVAULT_STATUS_OK);
    CHECK(opened_len == 0);
    HexvaultEncryptorStatus st;
    EXPECT(hexvault_encryptor_status(h, &st), HEXVAULT_STATUS_OK);
    CHECK(st.encryptions == 2 && st.budget == (1ULL << 32) && st.rotate_soon == 0 &&
          st.rotation_needed == 0);
    EXPECT(hexvault_encryptor_free(h), HEXVAULT_STATUS_OK);
}

static void test_authentication_and_format_errors(void) {
    HexvaultEncryptor h = make(0);
    uint8_t sealed[128], opened[128];
    size_t sealed_len = 0, opened_len = 0;
    EXPECT(seal(h, "secret", "aad", sealed, sizeof sealed, &sealed_len), HEXVAULT_STATUS_OK);
    EXPECT(open_(h, sealed, sealed_len, "wrong", opened, sizeof opened, &opened_len),
           HEXVAULT_STATUS_AUTHENTICATION_FAILED);
    for (size_t i = 0; i < sealed_len; i++) {
        uint8_t bad[128];
        memcpy(bad, sealed, sealed_len);
        bad[i] ^= 0x80;
        HexvaultStatus s = open_(h, bad, sealed_len, "aad", opened, sizeof opened, &opened_len);
        CHECK(s != HEXVAULT_STATUS_OK);
        if (i >= 21) CHECK(s == HEXVAULT_STATUS_AUTHENTICATION_FAILED);
    }
    uint8_t bad[128];
    memcpy(bad, sealed, sealed_len);
    bad[0] = 'X';
    EXPECT(open_(h, bad, sealed_len, "aad", opened, sizeof opened, &opened_len),
           HEXVAULT_STATUS_MALFORMED_INPUT);
    EXPECT(open_(h, sealed, 10, "aad", opened, sizeof opened, &opened_len),
           HEXVAULT_STATUS_MALFORMED_INPUT);
    HexvaultEncryptor other = 0;
    EXPECT(hexvault_encryptor_new(INTEROP_KEY, 32, INTEROP_VERSION + 1, 0, &other),
           HEXVAULT_STATUS_OK);
    EXPECT(open_(other, sealed, sealed_len, "aad", opened, sizeof opened, &opened_len),
           HEXVAULT_STATUS_WRONG_KEY_VERSION);
    CHECK(strstr(hexvault_last_error(), "key version") != NULL);
    hexvault_encryptor_free(other);
    hexvault_encryptor_free(h);
}

static void test_buffer_too_small(void) {
    HexvaultEncryptor h = make(0);
    size_t need = 0;
    EXPECT(seal(h, "abcdef", "", NULL, 0, &need), HEXVAULT_STATUS_BUFFER_TOO_SMALL);
    CHECK(need == 6 + OVERHEAD);
    uint8_t small[8];
    EXPECT(seal(h, "abcdef", "", small, sizeof small, &need), HEXVAULT_STATUS_BUFFER_TOO_SMALL);
    HexvaultEncryptorStatus st;
    EXPECT(hexvault_encryptor_status(h, &st), HEXVAULT_STATUS_OK);
    CHECK(st.encryptions == 0); /* no nonce consumed */
    uint8_t sealed[64];
    size_t sealed_len = 0;
    EXPECT(seal(h, "abcdef", "", sealed, sizeof sealed, &sealed_len), HEXVAULT_STATUS_OK);
    size_t pt_need = 0;
    EXPECT(open_(h, sealed, sealed_len, "", small, 3, &pt_need), HEXVAULT_STATUS_BUFFER_TOO_SMALL);
    CHECK(pt_need == 6);
    uint8_t key[16];
    size_t key_len = 0;
    EXPECT(hexvault_derive_domain_key(INTEROP_KEY, 32, (const uint8_t *)"d", 1,
                                      (const uint8_t *)"t", 1, key, sizeof key, &key_len),
           HEXVAULT_STATUS_BUFFER_TOO_SMALL);
    CHECK(key_len == 32);
    hexvault_encryptor_free(h);
}

/* rotate_soon after `seals` seals of a `budget`-seal encryptor. */
static int rotate_soon_after(uint64_t budget, int seals) {
    HexvaultEncryptor h = make(budget);
    uint8_t sealed[64];
    size_t len = 0;
    HexvaultEncryptorStatus st;
    for (int i = 0; i < seals; i++) EXPECT(seal(h, "x", "", sealed, sizeof sealed, &len), HEXVAULT_STATUS_OK);
    EXPECT(hexvault_encryptor_status(h, &st), HEXVAULT_STATUS_OK);
    hexvault_encryptor_free(h);
    return st.rotate_soon;
}

/* The header: "1 once at least half the budget ... never rounded down" (review round 4: a
 * budget of 1 said "rotate soon" before its first seal, a budget of 3 after 1 seal). */
static void test_rotate_soon_at_half_the_budget(void) {
    CHECK(rotate_soon_after(1, 0) == 0);
    CHECK(rotate_soon_after(1, 1) == 1);
    CHECK(rotate_soon_after(3, 1) == 0);
    CHECK(rotate_soon_after(3, 2) == 1);
    CHECK(rotate_soon_after(4, 1) == 0);
    CHECK(rotate_soon_after(4, 2) == 1);
}

static void test_rotation_needed(void) {
    HexvaultEncryptor h = make(3);
    uint8_t sealed[64];
    size_t len = 0;
    HexvaultEncryptorStatus st;
    for (int i = 0; i < 3; i++) EXPECT(seal(h, "x", "", sealed, sizeof sealed, &len), HEXVAULT_STATUS_OK);
    EXPECT(hexvault_encryptor_status(h, &st), HEXVAULT_STATUS_OK);
    CHECK(st.rotate_soon == 1 && st.rotation_needed == 1 && st.encryptions == 3 && st.budget == 3);
    EXPECT(seal(h, "x", "", sealed, sizeof sealed, &len), HEXVAULT_STATUS_ROTATION_NEEDED);
    EXPECT(hexvault_encryptor_status(h, &st), HEXVAULT_STATUS_OK);
    CHECK(st.encryptions == 3);
    uint8_t opened[8];
    EXPECT(open_(h, sealed, OVERHEAD + 1, "", opened, sizeof opened, &len), HEXVAULT_STATUS_OK);
    hexvault_encryptor_free(h);
}

static void test_invalid_arguments_and_null_pointers(void) {
    HexvaultEncryptor h = 0;
    EXPECT(hexvault_encryptor_new(INTEROP_KEY, 16, 1, 0, &h), HEXVAULT_STATUS_INVALID_ARGUMENT);
    EXPECT(hexvault_encryptor_new(INTEROP_KEY, 32, 0, 0, &h), HEXVAULT_STATUS_INVALID_ARGUMENT);
    EXPECT(hexvault_encryptor_new(INTEROP_KEY, 32, 1, (1ULL << 32) + 1, &h),
           HEXVAULT_STATUS_INVALID_ARGUMENT);
    EXPECT(hexvault_encryptor_new(NULL, 32, 1, 0, &h), HEXVAULT_STATUS_NULL_POINTER);
    EXPECT(hexvault_encryptor_new(INTEROP_KEY, 32, 1, 0, NULL), HEXVAULT_STATUS_NULL_POINTER);
    h = make(0);
    size_t len = 0;
    uint8_t out[64];
    EXPECT(hexvault_encryptor_seal(h, NULL, 5, NULL, 0, out, sizeof out, &len),
           HEXVAULT_STATUS_NULL_POINTER);
    EXPECT(hexvault_encryptor_seal(h, (const uint8_t *)"x", 1, NULL, 0, out, sizeof out, NULL),
           HEXVAULT_STATUS_NULL_POINTER);
    EXPECT(hexvault_encryptor_seal(h, (const uint8_t *)"x", 1, NULL, 0, NULL, 64, &len),
           HEXVAULT_STATUS_NULL_POINTER);
    EXPECT(hexvault_encryptor_status(h, NULL), HEXVAULT_STATUS_NULL_POINTER);
    EXPECT(hexvault_buffer_free(NULL), HEXVAULT_STATUS_NULL_POINTER);
    EXPECT(hexvault_envelope_store((const uint8_t *)"x", 1, NULL, NULL), HEXVAULT_STATUS_NULL_POINTER);
    uint8_t key[32];
    EXPECT(hexvault_derive_domain_key(INTEROP_KEY, 32, (const uint8_t *)"\xff", 1,
                                      (const uint8_t *)"t", 1, key, sizeof key, &len),
           HEXVAULT_STATUS_INVALID_ARGUMENT);
    HexvaultEnvelopeOptions options = hexvault_envelope_options_default();
    options.compress = 7;
    HexvaultBuffer buf = {0};
    EXPECT(hexvault_envelope_store((const uint8_t *)"x", 1, &options, &buf),
           HEXVAULT_STATUS_INVALID_ARGUMENT);
    hexvault_encryptor_free(h);
}

static void test_handles_and_buffers(void) {
    HexvaultEncryptor h = make(0);
    EXPECT(hexvault_encryptor_free(h), HEXVAULT_STATUS_OK);
    EXPECT(hexvault_encryptor_free(h), HEXVAULT_STATUS_INVALID_HANDLE); /* double free */
    uint8_t out[64];
    size_t len = 0;
    EXPECT(seal(h, "x", "", out, sizeof out, &len), HEXVAULT_STATUS_INVALID_HANDLE);
    /* A size query (no room) on a freed handle names the handle first, as open does. */
    EXPECT(seal(h, "x", "", NULL, 0, &len), HEXVAULT_STATUS_INVALID_HANDLE);
    EXPECT(open_(h, out, sizeof out, "", NULL, 0, &len), HEXVAULT_STATUS_INVALID_HANDLE);
    EXPECT(seal(0, "x", "", out, sizeof out, &len), HEXVAULT_STATUS_INVALID_HANDLE);
    EXPECT(seal((HexvaultEncryptor)0xdeadbeefcafef00dULL, "x", "", out, sizeof out, &len),
           HEXVAULT_STATUS_INVALID_HANDLE); /* garbage handle */
    HexvaultEncryptorStatus st;
    EXPECT(hexvault_encryptor_status(h, &st), HEXVAULT_STATUS_INVALID_HANDLE);

    HexvaultBuffer buf = {0};
    EXPECT(hexvault_envelope_store((const uint8_t *)"payload", 7, NULL, &buf), HEXVAULT_STATUS_OK);
    HexvaultBuffer copy = buf;
    EXPECT(hexvault_buffer_free(&buf), HEXVAULT_STATUS_OK);
    CHECK(buf.data == NULL && buf.len == 0);
    EXPECT(hexvault_buffer_free(&buf), HEXVAULT_STATUS_OK);               /* emptied: no-op */
    EXPECT(hexvault_buffer_free(&copy), HEXVAULT_STATUS_INVALID_HANDLE);  /* double free */
    uint8_t stack[16];
    HexvaultBuffer forged = {stack, sizeof stack, 1};
    EXPECT(hexvault_buffer_free(&forged), HEXVAULT_STATUS_INVALID_HANDLE); /* garbage pointer */
    HexvaultBuffer garbage = {(uint8_t *)0x10, 3, 2};
    EXPECT(hexvault_buffer_free(&garbage), HEXVAULT_STATUS_INVALID_HANDLE);
}

/* store(&a); copy = a; free(&a); store(&b) with b at a's old address and length; then
 * free(&copy) must return INVALID_HANDLE and leave b alone (it used to zeroize and free b
 * while its owner still held it), and b must stay readable and be freed once by its owner.
 * The allocator decides whether b lands on a's block: AddressSanitizer's quarantines keep
 * freed blocks out of reuse, so `test_hexvault reuse` (run by tests/c_suite.rs with both
 * quarantines off) requires the reuse, while the full suite checks the same calls without. */
static void test_freed_copy_after_address_reuse(int require_reuse) {
    static const uint8_t payload[24] = "reused-address-payload!";
    HexvaultBuffer a = {0};
    EXPECT(hexvault_envelope_store(payload, sizeof payload, NULL, &a), HEXVAULT_STATUS_OK);
    uint8_t expected[256];
    CHECK(a.len <= sizeof expected);
    memcpy(expected, a.data, a.len);
    HexvaultBuffer copy = a;
    EXPECT(hexvault_buffer_free(&a), HEXVAULT_STATUS_OK);
    /* Blocks that miss a's old address are kept (so they are not reused) and freed later. */
    HexvaultBuffer others[64];
    size_t n_others = 0;
    HexvaultBuffer b = {0};
    EXPECT(hexvault_envelope_store(payload, sizeof payload, NULL, &b), HEXVAULT_STATUS_OK);
    while (b.data != copy.data && n_others < 64) {
        others[n_others++] = b;
        EXPECT(hexvault_envelope_store(payload, sizeof payload, NULL, &b), HEXVAULT_STATUS_OK);
    }
    if (require_reuse) CHECK(b.data == copy.data && b.len == copy.len);
    CHECK(b.id != copy.id);
    EXPECT(hexvault_buffer_free(&copy), HEXVAULT_STATUS_INVALID_HANDLE); /* stale copy */
    CHECK(b.len == copy.len && memcmp(b.data, expected, b.len) == 0);  /* b untouched */
    HexvaultBuffer back = {0};
    EXPECT(hexvault_envelope_retrieve(b.data, b.len, NULL, &back), HEXVAULT_STATUS_OK);
    CHECK(back.len == sizeof payload && memcmp(back.data, payload, sizeof payload) == 0);
    EXPECT(hexvault_buffer_free(&back), HEXVAULT_STATUS_OK);
    EXPECT(hexvault_buffer_free(&b), HEXVAULT_STATUS_OK); /* freed once, by its owner */
    CHECK(b.data == NULL && b.len == 0 && b.id == 0);
    for (size_t i = 0; i < n_others; i++) EXPECT(hexvault_buffer_free(&others[i]), HEXVAULT_STATUS_OK);
}

static void test_envelope(void) {
    static uint8_t data[65536];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i % 7);
    HexvaultEnvelopeOptions options = hexvault_envelope_options_default();
    options.compress = 1;
    options.content_type = (const uint8_t *)"application/octet-stream";
    options.content_type_len = strlen("application/octet-stream");
    HexvaultBuffer env = {0}, back = {0};
    EXPECT(hexvault_envelope_store(data, sizeof data, &options, &env), HEXVAULT_STATUS_OK);
    CHECK(env.len > 0 && env.len < sizeof data);
    CHECK(memcmp(env.data, "HXEV", 4) == 0);
    EXPECT(hexvault_envelope_retrieve(env.data, env.len, NULL, &back), HEXVAULT_STATUS_OK);
    CHECK(back.len == sizeof data && memcmp(back.data, data, sizeof data) == 0);
    EXPECT(hexvault_buffer_free(&back), HEXVAULT_STATUS_OK);

    HexvaultEnvelopeOptions tight = hexvault_envelope_options_default();
    tight.max_original_len = 1024;
    EXPECT(hexvault_envelope_retrieve(env.data, env.len, &tight, &back), HEXVAULT_STATUS_LIMIT_EXCEEDED);
    CHECK(back.data == NULL);
    tight.max_envelope_len = 1ULL << 40;
    EXPECT(hexvault_envelope_retrieve(env.data, env.len, &tight, &back), HEXVAULT_STATUS_INVALID_ARGUMENT);

    uint8_t *corrupt = malloc(env.len);
    memcpy(corrupt, env.data, env.len);
    corrupt[env.len - 1] ^= 1;
    EXPECT(hexvault_envelope_retrieve(corrupt, env.len, NULL, &back), HEXVAULT_STATUS_CHECKSUM_MISMATCH);
    corrupt[0] = 'Z';
    EXPECT(hexvault_envelope_retrieve(corrupt, env.len, NULL, &back), HEXVAULT_STATUS_MALFORMED_INPUT);
    free(corrupt);
    EXPECT(hexvault_buffer_free(&env), HEXVAULT_STATUS_OK);
}

static void test_messages(void) {
    for (int32_t code = 0; code <= HEXVAULT_STATUS_UNKNOWN; code++) {
        const char *text = hexvault_error_message(code);
        CHECK(text != NULL && strlen(text) > 0);
    }
    CHECK(strcmp(hexvault_error_message(999), "unknown hexvault status code") == 0);
    CHECK(strlen(hexvault_version()) > 0);
    CHECK(hexvault_abi_version() == HEXVAULT_ABI_VERSION);
    HexvaultEncryptor h = make(0);
    CHECK(strcmp(hexvault_last_error(), "") == 0); /* cleared by a success */
    hexvault_encryptor_free(h);
#ifdef HEXVAULT_TEST_SUPPORT
    EXPECT(hexvault_test_trigger_panic(), HEXVAULT_STATUS_PANIC);
    CHECK(strstr(hexvault_last_error(), "panic") != NULL);
#endif
}

/* Two threads: one seals in a loop while the other frees the handle. No use-after-free
 * (AddressSanitizer watches), every call returns OK or INVALID_HANDLE, and once a call has
 * seen INVALID_HANDLE no later call succeeds. */
struct race {
    HexvaultEncryptor handle;
    int ok, invalid, other, ok_after_invalid;
};

static void *race_user(void *arg) {
    struct race *r = arg;
    uint8_t out[64];
    size_t len = 0;
    for (int i = 0; i < 2000; i++) {
        HexvaultStatus s = seal(r->handle, "race", "", out, sizeof out, &len);
        if (s == HEXVAULT_STATUS_OK) {
            r->ok++;
            if (r->invalid) r->ok_after_invalid++;
        } else if (s == HEXVAULT_STATUS_INVALID_HANDLE) {
            r->invalid++;
        } else {
            r->other++;
        }
    }
    return NULL;
}

static void *race_freer(void *arg) {
    struct race *r = arg;
    for (volatile int spin = 0; spin < 20000; spin++) {
    }
    hexvault_encryptor_free(r->handle);
    return NULL;
}

static void test_free_races_use(void) {
    for (int round = 0; round < 20; round++) {
        struct race r = {make(0), 0, 0, 0, 0};
        pthread_t user, freer;
        pthread_create(&user, NULL, race_user, &r);
        pthread_create(&freer, NULL, race_freer, &r);
        pthread_join(user, NULL);
        pthread_join(freer, NULL);
        CHECK(r.other == 0 && r.ok_after_invalid == 0 && r.ok + r.invalid == 2000);
        EXPECT(hexvault_encryptor_free(r.handle), HEXVAULT_STATUS_INVALID_HANDLE);
    }
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int interop_seal(void) {
    HexvaultEncryptor h = make(0);
    uint8_t out[64];
    size_t len = 0;
    if (seal(h, "from C", "interop", out, sizeof out, &len) != HEXVAULT_STATUS_OK) return 1;
    for (size_t i = 0; i < len; i++) printf("%02x", out[i]);
    printf("\n");
    hexvault_encryptor_free(h);
    return 0;
}

static int interop_open(const char *hex) {
    size_t n = strlen(hex) / 2;
    uint8_t *ct = malloc(n + 1), out[256];
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return 2;
        ct[i] = (uint8_t)(hi * 16 + lo);
    }
    HexvaultEncryptor h = make(0);
    size_t len = 0;
    HexvaultStatus s = open_(h, ct, n, "interop", out, sizeof out, &len);
    free(ct);
    hexvault_encryptor_free(h);
    if (s != HEXVAULT_STATUS_OK) {
        fprintf(stderr, "open: %s\n", hexvault_error_message(s));
        return 1;
    }
    fwrite(out, 1, len, stdout);
    printf("\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "seal") == 0) return interop_seal();
    if (argc == 3 && strcmp(argv[1], "open") == 0) return interop_open(argv[2]);
    if (argc == 2 && strcmp(argv[1], "reuse") == 0) {
        test_freed_copy_after_address_reuse(1);
        if (failures) {
            fprintf(stderr, "%d of %d checks FAILED\n", failures, checks);
            return 1;
        }
        printf("ok %d checks\n", checks);
        return 0;
    }
    test_round_trip();
    test_authentication_and_format_errors();
    test_buffer_too_small();
    test_rotation_needed();
    test_rotate_soon_at_half_the_budget();
    test_invalid_arguments_and_null_pointers();
    test_handles_and_buffers();
    test_freed_copy_after_address_reuse(0);
    test_envelope();
    test_messages();
    test_free_races_use();
    if (failures) {
        fprintf(stderr, "%d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("ok %d checks\n", checks);
    return 0;
}
