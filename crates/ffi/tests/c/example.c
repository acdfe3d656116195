/* Seal and open a credential, and pack it into an envelope, through libhexvault. */
#include <stdio.h>
#include <string.h>
#include "hexvault.h"

int main(void) {
    /* The library loaded must speak the ABI this header describes. */
    if (hexvault_abi_version() != HEXVAULT_ABI_VERSION) {
        fprintf(stderr, "libhexvault ABI %u, built against %u\n", hexvault_abi_version(),
                (unsigned)HEXVAULT_ABI_VERSION);
        return 1;
    }
    uint8_t master[32] = {1}; /* load your master key from your key store */
    uint8_t key[32];
    size_t key_len = 0;
    HexvaultStatus status = hexvault_derive_domain_key(
        master, sizeof master, (const uint8_t *)"billing", 7, (const uint8_t *)"acme", 4,
        key, sizeof key, &key_len);
    if (status != HEXVAULT_STATUS_OK) return 1;

    HexvaultEncryptor encryptor = 0;
    status = hexvault_encryptor_new(key, sizeof key, 1, 0, &encryptor);
    memset(key, 0, sizeof key); /* the encryptor keeps its own copy */
    if (status != HEXVAULT_STATUS_OK) return 1;

    const char *secret = "db-password";
    const char *aad = "tenant=acme";
    size_t sealed_len = 0;
    /* Size query: NULL output, capacity 0. */
    hexvault_encryptor_seal(encryptor, (const uint8_t *)secret, strlen(secret),
                            (const uint8_t *)aad, strlen(aad), NULL, 0, &sealed_len);
    uint8_t sealed[256];
    status = hexvault_encryptor_seal(encryptor, (const uint8_t *)secret, strlen(secret),
                                     (const uint8_t *)aad, strlen(aad), sealed, sizeof sealed,
                                     &sealed_len);
    if (status != HEXVAULT_STATUS_OK) {
        fprintf(stderr, "seal: %s (%s)\n", hexvault_error_message(status), hexvault_last_error());
        return 1;
    }

    uint8_t opened[256];
    size_t opened_len = 0;
    status = hexvault_encryptor_open(encryptor, sealed, sealed_len, (const uint8_t *)aad,
                                     strlen(aad), opened, sizeof opened, &opened_len);
    if (status != HEXVAULT_STATUS_OK || opened_len != strlen(secret)) return 1;

    HexvaultBuffer envelope = {0};
    status = hexvault_envelope_store(sealed, sealed_len, NULL, &envelope);
    if (status != HEXVAULT_STATUS_OK) return 1;
    printf("hexvault %s: sealed %zu bytes, envelope %zu bytes\n", hexvault_version(),
           sealed_len, envelope.len);
    hexvault_buffer_free(&envelope); /* never free(): the library zeroizes and frees it */
    hexvault_encryptor_free(encryptor);
    return 0;
}
