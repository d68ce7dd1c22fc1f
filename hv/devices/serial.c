/* serial.c -- 16550 UART emulation, transmit side: enough for a kernel
 * console (polling on LSR.THRE), no interrupts, no receive data yet. */
#include "serial.h"

#include <errno.h>
#include <unistd.h>

#include "../core/vm.h"

enum {
    UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3,
    UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};
#define UART_LCR_DLAB     0x80
#define UART_LSR_THRE     0x20
#define UART_LSR_TEMT     0x40
#define UART_IIR_NO_INT   0x01
#define UART_IIR_FIFO     0xc0
#define UART_MCR_LOOP     0x10
#define UART_MSR_CTS_DSR_DCD 0xb0

static void serial_emit(struct hv_serial *uart, struct hv_vcpu *vcpu, uint8_t byte)
{
    if (uart->out_fd >= 0) {
        ssize_t n;
        do
            n = write(uart->out_fd, &byte, 1);
        while (n < 0 && errno == EINTR);
        /* A closed or full console must never stop the guest: drop the byte. */
    }
    if (uart->sink)
        uart->sink(uart->sink_ctx, vcpu, &byte, 1);
}

static uint8_t serial_read(struct hv_serial *uart, unsigned reg)
{
    bool dlab = uart->lcr & UART_LCR_DLAB;
    switch (reg) {
    case UART_RBR_THR: return dlab ? uart->dll : 0;
    case UART_IER:     return dlab ? uart->dlm : uart->ier;
    case UART_IIR_FCR: return UART_IIR_NO_INT | ((uart->fcr & 1) ? UART_IIR_FIFO : 0);
    case UART_LCR:     return uart->lcr;
    case UART_MCR:     return uart->mcr;
    case UART_LSR:     return UART_LSR_THRE | UART_LSR_TEMT;
    case UART_MSR:     return (uart->mcr & UART_MCR_LOOP) ? 0 : UART_MSR_CTS_DSR_DCD;
    default:           return uart->scr;
    }
}

static void serial_write(struct hv_serial *uart, struct hv_vcpu *vcpu, unsigned reg, uint8_t v)
{
    bool dlab = uart->lcr & UART_LCR_DLAB;
    switch (reg) {
    case UART_RBR_THR:
        if (dlab)
            uart->dll = v;
        else if (!(uart->mcr & UART_MCR_LOOP))
            serial_emit(uart, vcpu, v);
        break;
    case UART_IER:     if (dlab) uart->dlm = v; else uart->ier = v & 0x0f; break;
    case UART_IIR_FCR: uart->fcr = v; break;
    case UART_LCR:     uart->lcr = v; break;
    case UART_MCR:     uart->mcr = v & 0x1f; break;
    case UART_SCR:     uart->scr = v; break;
    default:           break; /* LSR and MSR are read-only */
    }
}

static void serial_io(void *opaque, struct hv_vcpu *vcpu, uint64_t offset, uint8_t *data,
                      unsigned size, bool is_write)
{
    struct hv_serial *uart = opaque;
    pthread_mutex_lock(&uart->lock);
    /* A wider access touches consecutive registers, as on real hardware. */
    for (unsigned i = 0; i < size && offset + i < HV_SERIAL_LEN; i++) {
        if (is_write)
            serial_write(uart, vcpu, (unsigned)(offset + i), data[i]);
        else
            data[i] = serial_read(uart, (unsigned)(offset + i));
    }
    pthread_mutex_unlock(&uart->lock);
}

int hv_serial_attach(struct hv_serial *uart, struct hv_vm *vm, int out_fd, struct hvk_err *err)
{
    *uart = (struct hv_serial){ .out_fd = out_fd };
    pthread_mutex_init(&uart->lock, NULL);
    return hv_iobus_register(&vm->pio, "serial0", HV_SERIAL_BASE, HV_SERIAL_LEN, serial_io, uart, err);
}

void hv_serial_set_sink(struct hv_serial *uart, hv_console_sink sink, void *ctx)
{
    pthread_mutex_lock(&uart->lock);
    uart->sink = sink;
    uart->sink_ctx = ctx;
    pthread_mutex_unlock(&uart->lock);
}
