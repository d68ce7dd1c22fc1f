/* test_mmio.h -- a 4 KiB MMIO register file at GPA 0xd0000000 for guests
 * that want to make device accesses hv serves (docs/guest-abi.md). */
#ifndef HV_TEST_MMIO_H
#define HV_TEST_MMIO_H

#include <pthread.h>
#include <stdint.h>

#include <hvkit/error.h>

struct hv_vm;

#define HV_TEST_MMIO_BASE 0xd0000000ull
#define HV_TEST_MMIO_LEN  0x1000u

struct hv_test_mmio {
    pthread_mutex_t lock;
    uint8_t regs[HV_TEST_MMIO_LEN];
};

int hv_test_mmio_attach(struct hv_test_mmio *dev, struct hv_vm *vm, struct hvk_err *err);

#endif
