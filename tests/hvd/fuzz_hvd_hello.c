/* fuzz_hvd_hello.c -- libFuzzer harness for hvd's hello parser (the JSON hv
 * sends at registration), its depth scan and hex parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hvd_vm vm;
    memset(&vm, 0, sizeof vm);
    struct hvk_err err = {{0}};
    uint64_t ring_size;
    if (size > HVK_HELLO_MAX)
        return 0;
    if (hvd_hello_parse((const char *)data, size, &vm, &ring_size, &err) == 0 &&
        (vm.vcpus < 1 || vm.vcpus > RING_MAX_VCPUS || !vm.name[0] || strlen(vm.uuid) != 36))
        abort();   /* accepted something out of range */
    free(vm.kernel);
    hvd_json_depth((const char *)data, size, 1024);
    char s[32];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    uint64_t v;
    hvd_parse_hex(s, &v);
    return 0;
}
