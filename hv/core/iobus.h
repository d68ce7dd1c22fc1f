/* iobus.h -- the table of emulated devices on one address space (port I/O or
 * MMIO), looked up by address on every I/O exit. */
#ifndef HV_IOBUS_H
#define HV_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

#include <hvkit/error.h>

#define HV_IOBUS_MAX_DEVICES 16

struct hv_vcpu;

/* An access of `size` bytes (1, 2, 4 or 8) at `offset` from the device base.
 * For reads the handler fills data; for writes it consumes it. Handlers run
 * on vCPU threads concurrently: a device with state takes its own lock. */
typedef void (*hv_io_handler)(void *opaque, struct hv_vcpu *vcpu, uint64_t offset,
                              uint8_t *data, unsigned size, bool is_write);

struct hv_io_device {
    const char *name;
    uint64_t base, len;
    hv_io_handler handler;
    void *opaque;
};

/* Registration happens before any vCPU runs; lookups afterwards need no lock. */
struct hv_iobus {
    struct hv_io_device devices[HV_IOBUS_MAX_DEVICES];
    unsigned nr_devices;
};

int hv_iobus_register(struct hv_iobus *bus, const char *name, uint64_t base, uint64_t len,
                      hv_io_handler handler, void *opaque, struct hvk_err *err);
/* The device that wholly contains [addr, addr+size), or NULL. */
const struct hv_io_device *hv_iobus_find(const struct hv_iobus *bus, uint64_t addr, unsigned size);

#endif
