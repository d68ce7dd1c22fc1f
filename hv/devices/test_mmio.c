/* test_mmio.c -- the test MMIO window: writes store bytes, reads return them. */
#include "test_mmio.h"

#include <string.h>

#include "../core/vm.h"

static void test_mmio_io(void *opaque, struct hv_vcpu *vcpu, uint64_t offset, uint8_t *data,
                         unsigned size, bool is_write)
{
    struct hv_test_mmio *dev = opaque;
    (void)vcpu;
    /* iobus guarantees offset + size <= HV_TEST_MMIO_LEN. */
    pthread_mutex_lock(&dev->lock);
    if (is_write)
        memcpy(dev->regs + offset, data, size);
    else
        memcpy(data, dev->regs + offset, size);
    pthread_mutex_unlock(&dev->lock);
}

int hv_test_mmio_attach(struct hv_test_mmio *dev, struct hv_vm *vm, struct hvk_err *err)
{
    memset(dev, 0, sizeof *dev);
    pthread_mutex_init(&dev->lock, NULL);
    return hv_iobus_register(&vm->mmio, "test-mmio", HV_TEST_MMIO_BASE, HV_TEST_MMIO_LEN, test_mmio_io,
                             dev, err);
}
