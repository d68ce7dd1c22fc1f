/* console.c -- line-oriented report output on the 16550 UART, serialized across vCPUs by a spinlock. */
#include "cpu.h"
#include "hvk.h"

#define UART_THR 0
#define UART_FCR 2
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define UART_FIFO_DEPTH 16

/* Holder's vCPU index + 1, or 0 when free. A vCPU that faults while holding
 * it may break it (hvk_console_break_lock) so the fault report still appears. */
static volatile u32 hvk_console_lock;

static void hvk_console_write(const char *s, u32 n);

void hvk_console_init(void)
{
    hvk_outb(HVK_PORT_UART + UART_FCR, 0x07);   /* enable and clear the FIFOs */
    hvk_console_write("\n", 1);                   /* report lines start at column 0 */
}

static void hvk_console_acquire(u32 cpu)
{
    u32 expected;
    for (;;) {
        expected = 0;
        if (__atomic_compare_exchange_n(&hvk_console_lock, &expected, cpu + 1, false,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        hvk_pause();
    }
}

void hvk_console_break_lock(u32 cpu)
{
    if (hvk_console_lock == cpu + 1)
        __atomic_store_n(&hvk_console_lock, 0, __ATOMIC_RELEASE);
}

/* Each port access is a VM exit: check THRE once per FIFO load, not per byte. */
static void hvk_console_write(const char *s, u32 n)
{
    u32 i = 0;
    while (i < n) {
        while (!(hvk_inb(HVK_PORT_UART + UART_LSR) & UART_LSR_THRE))
            hvk_pause();
        for (u32 k = 0; k < UART_FIFO_DEPTH && i < n; k++, i++)
            hvk_outb(HVK_PORT_UART + UART_THR, (u8)s[i]);
    }
}

static void hvk_line_putc(struct hvk_line *l, char c)
{
    if (l->len < sizeof l->buf - 1)
        l->buf[l->len++] = c;
}

static void hvk_line_puts(struct hvk_line *l, const char *s)
{
    while (*s)
        hvk_line_putc(l, *s++);
}

void hvk_line_begin(struct hvk_line *l, const char *kind)
{
    l->len = 0;
    hvk_line_puts(l, "hvk ");
    hvk_line_puts(l, kind);
}

static void hvk_line_key(struct hvk_line *l, const char *key)
{
    hvk_line_putc(l, ' ');
    hvk_line_puts(l, key);
    hvk_line_putc(l, '=');
}

void hvk_line_str(struct hvk_line *l, const char *key, const char *v)
{
    hvk_line_key(l, key);
    hvk_line_puts(l, v);
}

void hvk_line_hex(struct hvk_line *l, const char *key, u64 v)
{
    static const char digits[] = "0123456789abcdef";
    int shift = 60;
    hvk_line_key(l, key);
    hvk_line_puts(l, "0x");
    while (shift > 0 && !(v >> shift))
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        hvk_line_putc(l, digits[(v >> shift) & 0xf]);
}

void hvk_line_dec(struct hvk_line *l, const char *key, u64 v)
{
    char tmp[20];
    int n = 0;
    hvk_line_key(l, key);
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        hvk_line_putc(l, tmp[--n]);
}

void hvk_line_end(struct hvk_line *l)
{
    struct hvk_cpu *c = hvk_cpu_self();
    l->buf[l->len++] = '\n';
    hvk_console_acquire(c ? c->index : 0);
    hvk_console_write(l->buf, l->len);
    __atomic_store_n(&hvk_console_lock, 0, __ATOMIC_RELEASE);
}

bool hvk_streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

void hvk_memcpy(void *d, const void *s, u64 n)
{
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}
