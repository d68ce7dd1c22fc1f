/* iobus.c -- device lookup for port I/O and MMIO exits. */
#include "iobus.h"

int hv_iobus_register(struct hv_iobus *bus, const char *name, uint64_t base, uint64_t len,
                      hv_io_handler handler, void *opaque, struct hvk_err *err)
{
    if (len == 0 || base + len < base)
        return hvk_err_set(err, "device %s: empty or wrapping range", name);
    if (bus->nr_devices == HV_IOBUS_MAX_DEVICES)
        return hvk_err_set(err, "device %s: too many devices on one bus", name);
    for (unsigned i = 0; i < bus->nr_devices; i++) {
        const struct hv_io_device *d = &bus->devices[i];
        if (base < d->base + d->len && d->base < base + len)
            return hvk_err_set(err, "device %s overlaps %s", name, d->name);
    }
    bus->devices[bus->nr_devices++] = (struct hv_io_device){
        .name = name, .base = base, .len = len, .handler = handler, .opaque = opaque,
    };
    return 0;
}

const struct hv_io_device *hv_iobus_find(const struct hv_iobus *bus, uint64_t addr, unsigned size)
{
    for (unsigned i = 0; i < bus->nr_devices; i++) {
        const struct hv_io_device *d = &bus->devices[i];
        if (addr >= d->base && addr - d->base < d->len && size <= d->len - (addr - d->base))
            return d;
    }
    return NULL;
}
