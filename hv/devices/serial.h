/* serial.h -- a 16550 UART at 0x3f8 that carries the guest console. */
#ifndef HV_SERIAL_H
#define HV_SERIAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>

struct hv_vm;

#define HV_SERIAL_BASE 0x3f8
#define HV_SERIAL_LEN  8

struct hv_vcpu;

/* Receives every byte the guest transmits, in order, with the vCPU that
 * wrote it. Called with the UART lock held, on that vCPU's thread. */
typedef void (*hv_console_sink)(void *ctx, struct hv_vcpu *vcpu, const uint8_t *bytes, size_t len);

struct hv_serial {
    pthread_mutex_t lock;
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    int out_fd;                  /* -1: no fd output */
    hv_console_sink sink;        /* optional extra consumer (hvd link, tests) */
    void *sink_ctx;
};

/* out_fd receives the console; the serial does not own it. */
int hv_serial_attach(struct hv_serial *uart, struct hv_vm *vm, int out_fd, struct hvk_err *err);
void hv_serial_set_sink(struct hv_serial *uart, hv_console_sink sink, void *ctx);

#endif
